from http import HTTPStatus
from typing import Any, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...models.journal_entry import JournalEntry
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    id: int | Unset = UNSET,
    date_from: str | Unset = UNSET,
    date_to: str | Unset = UNSET,
    to: str | Unset = UNSET,
    state: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    offset: int | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["id"] = id

    params["date_from"] = date_from

    params["date_to"] = date_to

    params["to"] = to

    params["state"] = state

    params["limit"] = limit

    params["offset"] = offset

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/journal/outbound",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> int | int | list[JournalEntry]:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> int | list[JournalEntry]:
            try:
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_journal_result_type_0 = []
                _componentsschemas_journal_result_type_0 = data
                for componentsschemas_journal_entry_list_item_data in _componentsschemas_journal_result_type_0:
                    componentsschemas_journal_entry_list_item = JournalEntry.from_dict(
                        componentsschemas_journal_entry_list_item_data
                    )

                    componentsschemas_journal_result_type_0.append(componentsschemas_journal_entry_list_item)

                return componentsschemas_journal_result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(int | list[JournalEntry], data)

        response_200 = _parse_response_200(response.json())

        return response_200

    response_default = cast(int, response.json())
    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[int | int | list[JournalEntry]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    id: int | Unset = UNSET,
    date_from: str | Unset = UNSET,
    date_to: str | Unset = UNSET,
    to: str | Unset = UNSET,
    state: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    offset: int | Unset = UNSET,
) -> Response[int | int | list[JournalEntry]]:
    """Query the logbook of outbound messages

     The logbook of sent messages for the API key, newest first, each with its delivery
    report (`dlr`, same values as `DeliveryStatus`) — seven's replacement for the
    deprecated status query: ask with `id` for one message. Parameters and fields from
    docs.seven.io/en/rest-api/endpoints/logbook and seven-io/api-schemes
    (`yml/openapi.yml`, `/journal/outbound`), which types every field as a string and
    marks none required.

    Args:
        id (int | Unset):
        date_from (str | Unset):
        date_to (str | Unset):
        to (str | Unset):
        state (str | Unset):
        limit (int | Unset):
        offset (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[int | int | list[JournalEntry]]
    """

    kwargs = _get_kwargs(
        id=id,
        date_from=date_from,
        date_to=date_to,
        to=to,
        state=state,
        limit=limit,
        offset=offset,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    id: int | Unset = UNSET,
    date_from: str | Unset = UNSET,
    date_to: str | Unset = UNSET,
    to: str | Unset = UNSET,
    state: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    offset: int | Unset = UNSET,
) -> int | int | list[JournalEntry] | None:
    """Query the logbook of outbound messages

     The logbook of sent messages for the API key, newest first, each with its delivery
    report (`dlr`, same values as `DeliveryStatus`) — seven's replacement for the
    deprecated status query: ask with `id` for one message. Parameters and fields from
    docs.seven.io/en/rest-api/endpoints/logbook and seven-io/api-schemes
    (`yml/openapi.yml`, `/journal/outbound`), which types every field as a string and
    marks none required.

    Args:
        id (int | Unset):
        date_from (str | Unset):
        date_to (str | Unset):
        to (str | Unset):
        state (str | Unset):
        limit (int | Unset):
        offset (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        int | int | list[JournalEntry]
    """

    return sync_detailed(
        client=client,
        id=id,
        date_from=date_from,
        date_to=date_to,
        to=to,
        state=state,
        limit=limit,
        offset=offset,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    id: int | Unset = UNSET,
    date_from: str | Unset = UNSET,
    date_to: str | Unset = UNSET,
    to: str | Unset = UNSET,
    state: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    offset: int | Unset = UNSET,
) -> Response[int | int | list[JournalEntry]]:
    """Query the logbook of outbound messages

     The logbook of sent messages for the API key, newest first, each with its delivery
    report (`dlr`, same values as `DeliveryStatus`) — seven's replacement for the
    deprecated status query: ask with `id` for one message. Parameters and fields from
    docs.seven.io/en/rest-api/endpoints/logbook and seven-io/api-schemes
    (`yml/openapi.yml`, `/journal/outbound`), which types every field as a string and
    marks none required.

    Args:
        id (int | Unset):
        date_from (str | Unset):
        date_to (str | Unset):
        to (str | Unset):
        state (str | Unset):
        limit (int | Unset):
        offset (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[int | int | list[JournalEntry]]
    """

    kwargs = _get_kwargs(
        id=id,
        date_from=date_from,
        date_to=date_to,
        to=to,
        state=state,
        limit=limit,
        offset=offset,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    id: int | Unset = UNSET,
    date_from: str | Unset = UNSET,
    date_to: str | Unset = UNSET,
    to: str | Unset = UNSET,
    state: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    offset: int | Unset = UNSET,
) -> int | int | list[JournalEntry] | None:
    """Query the logbook of outbound messages

     The logbook of sent messages for the API key, newest first, each with its delivery
    report (`dlr`, same values as `DeliveryStatus`) — seven's replacement for the
    deprecated status query: ask with `id` for one message. Parameters and fields from
    docs.seven.io/en/rest-api/endpoints/logbook and seven-io/api-schemes
    (`yml/openapi.yml`, `/journal/outbound`), which types every field as a string and
    marks none required.

    Args:
        id (int | Unset):
        date_from (str | Unset):
        date_to (str | Unset):
        to (str | Unset):
        state (str | Unset):
        limit (int | Unset):
        offset (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        int | int | list[JournalEntry]
    """

    return (
        await asyncio_detailed(
            client=client,
            id=id,
            date_from=date_from,
            date_to=date_to,
            to=to,
            state=state,
            limit=limit,
            offset=offset,
        )
    ).parsed
