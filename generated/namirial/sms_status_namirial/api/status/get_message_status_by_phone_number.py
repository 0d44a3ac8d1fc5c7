import datetime
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.message_list_response import MessageListResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    phonenumber: str,
    *,
    count: int | Unset = 50,
    send_date: datetime.datetime | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["count"] = count

    json_send_date: str | Unset = UNSET
    if not isinstance(send_date, Unset):
        json_send_date = send_date.isoformat()
    params["sendDate"] = json_send_date

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/messagestatus/phonenumber/{phonenumber}".format(
            phonenumber=quote(str(phonenumber), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | MessageListResponse | None:
    if response.status_code == 200:
        response_200 = MessageListResponse.from_dict(response.json())

        return response_200

    if response.status_code == 403:
        response_403 = cast(Any, None)
        return response_403

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | MessageListResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    phonenumber: str,
    *,
    client: AuthenticatedClient | Client,
    count: int | Unset = 50,
    send_date: datetime.datetime | Unset = UNSET,
) -> Response[Any | MessageListResponse]:
    """Get the latest messages status by phone number

     Retrieves the delivery status of the latest messages sent to a given phone number.
    If no messages are found, the endpoint returns HTTP 200 with an empty array:
    `{"messages": []}`. The docs list a `Content-Type: application/json` request header
    for this GET (it has no body).

    Args:
        phonenumber (str):
        count (int | Unset): Maximum number of messages to return (1-100); larger values are
            silently capped to 100. Default: 50.
        send_date (datetime.datetime | Unset): Only messages sent before this timestamp (ISO
            8601); default current time.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | MessageListResponse]
    """

    kwargs = _get_kwargs(
        phonenumber=phonenumber,
        count=count,
        send_date=send_date,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    phonenumber: str,
    *,
    client: AuthenticatedClient | Client,
    count: int | Unset = 50,
    send_date: datetime.datetime | Unset = UNSET,
) -> Any | MessageListResponse | None:
    """Get the latest messages status by phone number

     Retrieves the delivery status of the latest messages sent to a given phone number.
    If no messages are found, the endpoint returns HTTP 200 with an empty array:
    `{"messages": []}`. The docs list a `Content-Type: application/json` request header
    for this GET (it has no body).

    Args:
        phonenumber (str):
        count (int | Unset): Maximum number of messages to return (1-100); larger values are
            silently capped to 100. Default: 50.
        send_date (datetime.datetime | Unset): Only messages sent before this timestamp (ISO
            8601); default current time.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | MessageListResponse
    """

    return sync_detailed(
        phonenumber=phonenumber,
        client=client,
        count=count,
        send_date=send_date,
    ).parsed


async def asyncio_detailed(
    phonenumber: str,
    *,
    client: AuthenticatedClient | Client,
    count: int | Unset = 50,
    send_date: datetime.datetime | Unset = UNSET,
) -> Response[Any | MessageListResponse]:
    """Get the latest messages status by phone number

     Retrieves the delivery status of the latest messages sent to a given phone number.
    If no messages are found, the endpoint returns HTTP 200 with an empty array:
    `{"messages": []}`. The docs list a `Content-Type: application/json` request header
    for this GET (it has no body).

    Args:
        phonenumber (str):
        count (int | Unset): Maximum number of messages to return (1-100); larger values are
            silently capped to 100. Default: 50.
        send_date (datetime.datetime | Unset): Only messages sent before this timestamp (ISO
            8601); default current time.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | MessageListResponse]
    """

    kwargs = _get_kwargs(
        phonenumber=phonenumber,
        count=count,
        send_date=send_date,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    phonenumber: str,
    *,
    client: AuthenticatedClient | Client,
    count: int | Unset = 50,
    send_date: datetime.datetime | Unset = UNSET,
) -> Any | MessageListResponse | None:
    """Get the latest messages status by phone number

     Retrieves the delivery status of the latest messages sent to a given phone number.
    If no messages are found, the endpoint returns HTTP 200 with an empty array:
    `{"messages": []}`. The docs list a `Content-Type: application/json` request header
    for this GET (it has no body).

    Args:
        phonenumber (str):
        count (int | Unset): Maximum number of messages to return (1-100); larger values are
            silently capped to 100. Default: 50.
        send_date (datetime.datetime | Unset): Only messages sent before this timestamp (ISO
            8601); default current time.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | MessageListResponse
    """

    return (
        await asyncio_detailed(
            phonenumber=phonenumber,
            client=client,
            count=count,
            send_date=send_date,
        )
    ).parsed
