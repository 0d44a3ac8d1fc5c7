"""Reading a delivery's body from its ASGI messages: capped, and within a deadline when it
comes in pieces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

from sms_status._pushed import AsgiHeaders

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]

BODY_SECONDS = 10.0
"""How long a body sent in pieces may take to arrive whole, from its first piece (then 408)."""


class ClientGone(Exception):
    """The client disconnected before its body was read."""


async def read_body(headers: AsgiHeaders, receive: Receive, cap: int) -> bytes | None:
    """The body, or None once it passed `cap` bytes; ClientGone if the client went away,
    TimeoutError if a body in pieces was not whole within `BODY_SECONDS`."""
    declared = headers.get("content-length")
    if (
        declared is not None
        and declared.isascii()  # str.isdigit alone takes "²", which int() refuses
        and declared.isdigit()
        and (len(declared) > 18 or int(declared) > cap)  # no int() of 5,000 digits
    ):
        return None
    message = await receive()
    if message["type"] != "http.request":  # http.disconnect: nobody to answer
        raise ClientGone
    if not message.get("more_body", False):  # every provider's body: one message
        whole: bytes = message.get("body", b"")
        return None if len(whole) > cap else whole
    # In pieces: within BODY_SECONDS, so a client that trickles one holds no request open
    # for ever (uvicorn sets no such limit).
    with anyio.fail_after(BODY_SECONDS):
        return await _read_rest(message, receive, cap)


async def _read_rest(message: Message, receive: Receive, cap: int) -> bytes | None:
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
