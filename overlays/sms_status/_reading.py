"""The bounded body reader (`_attempt.BoundedBody`) fed by the fast backends' responses."""

from __future__ import annotations

import zlib

import httpx

from sms_status._attempt import BoundedBody
from sms_status._exchange import BodyRejected


def bounded_body(status: int, headers: httpx.Headers, cap: int) -> BoundedBody:
    try:
        return BoundedBody(headers.get("content-encoding"), cap)
    except ValueError as exc:
        raise BodyRejected(str(exc), status_code=status, headers=headers) from None


def feed(
    body: BoundedBody, chunk: bytes | None, status: int, headers: httpx.Headers
) -> bytes | None:
    """Feed one chunk (None: the end); the whole body at the end; BodyRejected on a bad one."""
    try:
        if chunk is None:
            return body.finish()
        body.feed(chunk)
    except OverflowError as exc:
        reason = f"{exc} (max_response_bytes)"
    except zlib.error:
        reason = "the body is not valid for its Content-Encoding"
    else:
        return None
    raise BodyRejected(reason, status_code=status, headers=headers)
