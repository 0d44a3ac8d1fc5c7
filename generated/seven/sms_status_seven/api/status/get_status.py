from http import HTTPStatus
from typing import Any, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...models.status_report import StatusReport
from ...types import UNSET, Response


def _get_kwargs(
    *,
    msg_id: str,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["msg_id"] = msg_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/status",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> int | int | list[StatusReport] | StatusReport:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> int | list[StatusReport] | StatusReport:
            try:
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_status_result_type_0 = []
                _componentsschemas_status_result_type_0 = data
                for componentsschemas_status_report_list_item_data in _componentsschemas_status_result_type_0:
                    componentsschemas_status_report_list_item = StatusReport.from_dict(
                        componentsschemas_status_report_list_item_data
                    )

                    componentsschemas_status_result_type_0.append(componentsschemas_status_report_list_item)

                return componentsschemas_status_result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_status_result_type_1 = StatusReport.from_dict(data)

                return componentsschemas_status_result_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(int | list[StatusReport] | StatusReport, data)

        response_200 = _parse_response_200(response.json())

        return response_200

    response_default = cast(int, response.json())
    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[int | int | list[StatusReport] | StatusReport]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    msg_id: str,
) -> Response[int | int | list[StatusReport] | StatusReport]:
    """Query status reports

     Query the status of an SMS. This query is possible for a maximum of 30 days after
    sending an SMS. Please note that this API is deprecated and may soon be switched off.
    Instead, use the Query logbook with the ID of the message as a parameter. If there is
    no status yet, you may have to request it again later. Official clients always send
    `Accept: application/json`.

    Args:
        msg_id (str): One SMS id, or several separated by commas (e.g. 77232007287,77232007195).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[int | int | list[StatusReport] | StatusReport]
    """

    kwargs = _get_kwargs(
        msg_id=msg_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    msg_id: str,
) -> int | int | list[StatusReport] | StatusReport | None:
    """Query status reports

     Query the status of an SMS. This query is possible for a maximum of 30 days after
    sending an SMS. Please note that this API is deprecated and may soon be switched off.
    Instead, use the Query logbook with the ID of the message as a parameter. If there is
    no status yet, you may have to request it again later. Official clients always send
    `Accept: application/json`.

    Args:
        msg_id (str): One SMS id, or several separated by commas (e.g. 77232007287,77232007195).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        int | int | list[StatusReport] | StatusReport
    """

    return sync_detailed(
        client=client,
        msg_id=msg_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    msg_id: str,
) -> Response[int | int | list[StatusReport] | StatusReport]:
    """Query status reports

     Query the status of an SMS. This query is possible for a maximum of 30 days after
    sending an SMS. Please note that this API is deprecated and may soon be switched off.
    Instead, use the Query logbook with the ID of the message as a parameter. If there is
    no status yet, you may have to request it again later. Official clients always send
    `Accept: application/json`.

    Args:
        msg_id (str): One SMS id, or several separated by commas (e.g. 77232007287,77232007195).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[int | int | list[StatusReport] | StatusReport]
    """

    kwargs = _get_kwargs(
        msg_id=msg_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    msg_id: str,
) -> int | int | list[StatusReport] | StatusReport | None:
    """Query status reports

     Query the status of an SMS. This query is possible for a maximum of 30 days after
    sending an SMS. Please note that this API is deprecated and may soon be switched off.
    Instead, use the Query logbook with the ID of the message as a parameter. If there is
    no status yet, you may have to request it again later. Official clients always send
    `Accept: application/json`.

    Args:
        msg_id (str): One SMS id, or several separated by commas (e.g. 77232007287,77232007195).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        int | int | list[StatusReport] | StatusReport
    """

    return (
        await asyncio_detailed(
            client=client,
            msg_id=msg_id,
        )
    ).parsed
