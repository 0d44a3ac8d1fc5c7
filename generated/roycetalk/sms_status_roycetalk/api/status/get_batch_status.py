from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.batch_status_response import BatchStatusResponse
from ...models.error_response import ErrorResponse
from ...types import Response


def _get_kwargs(
    batch_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/sms-api/batches/{batch_id}/".format(
            batch_id=quote(str(batch_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BatchStatusResponse | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = BatchStatusResponse.from_dict(response.json())

        return response_200

    if response.status_code == 403:
        response_403 = ErrorResponse.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorResponse.from_dict(response.json())

        return response_404

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[BatchStatusResponse | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    batch_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[BatchStatusResponse | ErrorResponse]:
    """Get batch status summary

     Status summary for an entire batch (from a bulk send, which returns `batch_id`).
    INFERRED: the status page names this endpoint (`GET /batches/{batch_id}/`) but no
    request or response schema is published. The path is taken relative to the
    `/api/v1/sms-api/` prefix of the documented endpoint; the response is assumed to use
    the same envelope, and every model here is permissive with nothing required.

    Args:
        batch_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BatchStatusResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        batch_id=batch_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    batch_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> BatchStatusResponse | ErrorResponse | None:
    """Get batch status summary

     Status summary for an entire batch (from a bulk send, which returns `batch_id`).
    INFERRED: the status page names this endpoint (`GET /batches/{batch_id}/`) but no
    request or response schema is published. The path is taken relative to the
    `/api/v1/sms-api/` prefix of the documented endpoint; the response is assumed to use
    the same envelope, and every model here is permissive with nothing required.

    Args:
        batch_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BatchStatusResponse | ErrorResponse
    """

    return sync_detailed(
        batch_id=batch_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    batch_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[BatchStatusResponse | ErrorResponse]:
    """Get batch status summary

     Status summary for an entire batch (from a bulk send, which returns `batch_id`).
    INFERRED: the status page names this endpoint (`GET /batches/{batch_id}/`) but no
    request or response schema is published. The path is taken relative to the
    `/api/v1/sms-api/` prefix of the documented endpoint; the response is assumed to use
    the same envelope, and every model here is permissive with nothing required.

    Args:
        batch_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BatchStatusResponse | ErrorResponse]
    """

    kwargs = _get_kwargs(
        batch_id=batch_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    batch_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> BatchStatusResponse | ErrorResponse | None:
    """Get batch status summary

     Status summary for an entire batch (from a bulk send, which returns `batch_id`).
    INFERRED: the status page names this endpoint (`GET /batches/{batch_id}/`) but no
    request or response schema is published. The path is taken relative to the
    `/api/v1/sms-api/` prefix of the documented endpoint; the response is assumed to use
    the same envelope, and every model here is permissive with nothing required.

    Args:
        batch_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BatchStatusResponse | ErrorResponse
    """

    return (
        await asyncio_detailed(
            batch_id=batch_id,
            client=client,
        )
    ).parsed
