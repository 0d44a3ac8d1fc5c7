from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.message_status_response import MessageStatusResponse
from ...models.not_found_detail import NotFoundDetail
from ...types import Response


def _get_kwargs(
    message_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/lisoloo/sms-api/status/{message_id}".format(
            message_id=quote(str(message_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | ErrorEnvelope | NotFoundDetail | MessageStatusResponse | None:
    if response.status_code == 200:
        response_200 = MessageStatusResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 404:

        def _parse_response_404(data: object) -> ErrorEnvelope | NotFoundDetail:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_not_found_response_type_0 = NotFoundDetail.from_dict(data)

                return componentsschemas_not_found_response_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_not_found_response_type_1 = ErrorEnvelope.from_dict(data)

            return componentsschemas_not_found_response_type_1

        response_404 = _parse_response_404(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = ErrorEnvelope.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorEnvelope.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorEnvelope | ErrorEnvelope | NotFoundDetail | MessageStatusResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    message_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorEnvelope | ErrorEnvelope | NotFoundDetail | MessageStatusResponse]:
    """Check message status

     Returns the current state of a previously-submitted SMS. Rate limit: 120 requests/min
    per key. For interactive flows (OTP, single-recipient confirmations) poll 3 times,
    2 s apart, then give up; for batch flows use webhooks instead.

    Args:
        message_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | ErrorEnvelope | NotFoundDetail | MessageStatusResponse]
    """

    kwargs = _get_kwargs(
        message_id=message_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    message_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorEnvelope | ErrorEnvelope | NotFoundDetail | MessageStatusResponse | None:
    """Check message status

     Returns the current state of a previously-submitted SMS. Rate limit: 120 requests/min
    per key. For interactive flows (OTP, single-recipient confirmations) poll 3 times,
    2 s apart, then give up; for batch flows use webhooks instead.

    Args:
        message_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | ErrorEnvelope | NotFoundDetail | MessageStatusResponse
    """

    return sync_detailed(
        message_id=message_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    message_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorEnvelope | ErrorEnvelope | NotFoundDetail | MessageStatusResponse]:
    """Check message status

     Returns the current state of a previously-submitted SMS. Rate limit: 120 requests/min
    per key. For interactive flows (OTP, single-recipient confirmations) poll 3 times,
    2 s apart, then give up; for batch flows use webhooks instead.

    Args:
        message_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | ErrorEnvelope | NotFoundDetail | MessageStatusResponse]
    """

    kwargs = _get_kwargs(
        message_id=message_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    message_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorEnvelope | ErrorEnvelope | NotFoundDetail | MessageStatusResponse | None:
    """Check message status

     Returns the current state of a previously-submitted SMS. Rate limit: 120 requests/min
    per key. For interactive flows (OTP, single-recipient confirmations) poll 3 times,
    2 s apart, then give up; for batch flows use webhooks instead.

    Args:
        message_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | ErrorEnvelope | NotFoundDetail | MessageStatusResponse
    """

    return (
        await asyncio_detailed(
            message_id=message_id,
            client=client,
        )
    ).parsed
