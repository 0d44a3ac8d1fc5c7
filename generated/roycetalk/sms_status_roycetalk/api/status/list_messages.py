from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.message_list_response import MessageListResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    batch_id: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["batch_id"] = batch_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/sms-api/messages/",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | MessageListResponse | None:
    if response.status_code == 200:
        response_200 = MessageListResponse.from_dict(response.json())

        return response_200

    if response.status_code == 403:
        response_403 = ErrorResponse.from_dict(response.json())

        return response_403

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | MessageListResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    batch_id: str | Unset = UNSET,
) -> Response[ErrorResponse | MessageListResponse]:
    """List messages (e.g. all messages in a batch)

     List all messages in a batch with `?batch_id=…`.
    INFERRED: the status page names this endpoint (`GET /messages/?batch_id=...`) but no
    request or response schema is published (pagination, other filters and the shape of
    `data` are unknown). The response is assumed to use the same envelope; every model
    here is permissive with nothing required.

    Args:
        batch_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | MessageListResponse]
    """

    kwargs = _get_kwargs(
        batch_id=batch_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    batch_id: str | Unset = UNSET,
) -> ErrorResponse | MessageListResponse | None:
    """List messages (e.g. all messages in a batch)

     List all messages in a batch with `?batch_id=…`.
    INFERRED: the status page names this endpoint (`GET /messages/?batch_id=...`) but no
    request or response schema is published (pagination, other filters and the shape of
    `data` are unknown). The response is assumed to use the same envelope; every model
    here is permissive with nothing required.

    Args:
        batch_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | MessageListResponse
    """

    return sync_detailed(
        client=client,
        batch_id=batch_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    batch_id: str | Unset = UNSET,
) -> Response[ErrorResponse | MessageListResponse]:
    """List messages (e.g. all messages in a batch)

     List all messages in a batch with `?batch_id=…`.
    INFERRED: the status page names this endpoint (`GET /messages/?batch_id=...`) but no
    request or response schema is published (pagination, other filters and the shape of
    `data` are unknown). The response is assumed to use the same envelope; every model
    here is permissive with nothing required.

    Args:
        batch_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | MessageListResponse]
    """

    kwargs = _get_kwargs(
        batch_id=batch_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    batch_id: str | Unset = UNSET,
) -> ErrorResponse | MessageListResponse | None:
    """List messages (e.g. all messages in a batch)

     List all messages in a batch with `?batch_id=…`.
    INFERRED: the status page names this endpoint (`GET /messages/?batch_id=...`) but no
    request or response schema is published (pagination, other filters and the shape of
    `data` are unknown). The response is assumed to use the same envelope; every model
    here is permissive with nothing required.

    Args:
        batch_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | MessageListResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            batch_id=batch_id,
        )
    ).parsed
