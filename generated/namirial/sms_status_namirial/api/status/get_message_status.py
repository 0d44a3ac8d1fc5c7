from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.message_status_response import MessageStatusResponse
from ...types import Response


def _get_kwargs(
    messageid: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/messagestatus/{messageid}".format(
            messageid=quote(str(messageid), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | MessageStatusResponse | None:
    if response.status_code == 200:
        response_200 = MessageStatusResponse.from_dict(response.json())

        return response_200

    if response.status_code == 403:
        response_403 = cast(Any, None)
        return response_403

    if response.status_code == 404:
        response_404 = cast(Any, None)
        return response_404

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | MessageStatusResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    messageid: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | MessageStatusResponse]:
    """Get message status by message ID

     Retrieves the delivery status for a specific message. If the message ID is not
    found, the endpoint returns HTTP 404.

    Args:
        messageid (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | MessageStatusResponse]
    """

    kwargs = _get_kwargs(
        messageid=messageid,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    messageid: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | MessageStatusResponse | None:
    """Get message status by message ID

     Retrieves the delivery status for a specific message. If the message ID is not
    found, the endpoint returns HTTP 404.

    Args:
        messageid (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | MessageStatusResponse
    """

    return sync_detailed(
        messageid=messageid,
        client=client,
    ).parsed


async def asyncio_detailed(
    messageid: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | MessageStatusResponse]:
    """Get message status by message ID

     Retrieves the delivery status for a specific message. If the message ID is not
    found, the endpoint returns HTTP 404.

    Args:
        messageid (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | MessageStatusResponse]
    """

    kwargs = _get_kwargs(
        messageid=messageid,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    messageid: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | MessageStatusResponse | None:
    """Get message status by message ID

     Retrieves the delivery status for a specific message. If the message ID is not
    found, the endpoint returns HTTP 404.

    Args:
        messageid (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | MessageStatusResponse
    """

    return (
        await asyncio_detailed(
            messageid=messageid,
            client=client,
        )
    ).parsed
