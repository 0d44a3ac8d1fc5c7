"""Reading a delivery's body from its ASGI messages: capped, and within a deadline of the
request head."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

from sms_status._pushed import AsgiHeaders

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]

BODY_SECONDS = 10.0
"""How long a body may take to arrive whole, from the request head (then 408)."""


class ClientGone(Exception):
    """The client disconnected before its body was read."""


async def read_body(headers: AsgiHeaders, receive: Receive, cap: int) -> bytes | None:
    """The body, or None once it passed `cap` bytes; ClientGone if the client went away,
    TimeoutError if it was not whole within `BODY_SECONDS` of the request head."""
    declared = headers.get("content-length")
    if (
        declared is not None
        and declared.isascii()  # str.isdigit alone takes "²", which int() refuses
        and declared.isdigit()
        and (len(declared) > 18 or int(declared) > cap)  # no int() of 5,000 digits
    ):
        return None
    # From the first receive on: a client that sends a head and then no body, or trickles
    # one, holds no request open for ever (uvicorn sets no such limit). asyncio's own
    # timeout costs a delivery about half of what anyio's cancel scope does (~4 vs ~8 µs).
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # trio, through anyio
        with anyio.fail_after(BODY_SECONDS):
            return await _read(receive, cap)
    async with asyncio.timeout(BODY_SECONDS):
        return await _read(receive, cap)


async def _read(receive: Receive, cap: int) -> bytes | None:
    message = await receive()
    if message["type"] != "http.request":  # http.disconnect: nobody to answer
        raise ClientGone
    if not message.get("more_body", False):  # every provider's body: one message
        whole: bytes = message.get("body", b"")
        return None if len(whole) > cap else whole
    body = bytearray()  # += on bytes copies it all each time: quadratic in the chunks
    while True:
        chunk = message.get("body", b"")
        if chunk:
            body += chunk
            if len(body) > cap:  # a chunked or lying body: stop reading at the cap
                return None
        if not message.get("more_body", False):
            return bytes(body)
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGone
