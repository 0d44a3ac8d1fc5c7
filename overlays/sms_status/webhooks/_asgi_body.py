"""Reading a delivery's body from its ASGI messages: capped, and within a deadline of the
request head."""

from __future__ import annotations

import asyncio
import weakref
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


SWEEP_SECONDS = 1.0
"""How often the reads past their deadline are looked for (a deadline is met within this)."""


class _Reads:
    """One event loop's body reads under way, by task: when each must end (the loop's clock),
    and those the sweep ended."""

    __slots__ = ("deadlines", "expired")

    def __init__(self) -> None:
        self.deadlines: dict[asyncio.Task[Any], float] = {}
        self.expired: set[asyncio.Task[Any]] = set()


class BodyReader:
    """Reads delivery bodies, each whole within `BODY_SECONDS` of its request head: a client
    that sends a head and then no body, or trickles one, holds no request open for ever
    (uvicorn sets no such limit).

    Under asyncio one sweep a second per event loop ends the reads past their deadline,
    rather than a timer per read: `asyncio.timeout` around each read cost a delivery ~8 µs
    in-process, a third of the receiver's own work; this, a dictionary entry. (Under trio,
    anyio's cancel scope.) One app may serve from several loops at once."""

    def __init__(self) -> None:
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Reads] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[asyncio.AbstractEventLoop | None, _Reads | None] = (None, None)
        """The last read's loop and its reads (a weak map lookup costs a delivery ~0.3 µs)."""

    async def read(self, headers: AsgiHeaders, receive: Receive, cap: int) -> bytes | None:
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
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # trio, through anyio
            with anyio.fail_after(BODY_SECONDS):
                return await _read(receive, cap)
        task = asyncio.current_task(loop)
        assert task is not None  # an ASGI server runs each request in a task
        last_loop, reads = self._last  # one load: another thread's loop may store its own
        if last_loop is not loop:
            reads = self._loops.get(loop)
            if reads is None:
                reads = self._loops[loop] = _Reads()
                loop.call_later(SWEEP_SECONDS, self._sweep, loop, reads)
            self._last = (loop, reads)  # most often the next read's too
        assert reads is not None
        reads.deadlines[task] = loop.time() + BODY_SECONDS
        cancels = task.cancelling()  # a cancel swallowed before this read is not ours
        try:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                return _whole(message, cap)  # every provider's body: no coroutine more
            return await _read_rest(message, receive, cap)
        except asyncio.CancelledError:
            # Ours alone (a server's cancel in the same turn of the loop stays a cancel, as
            # with `asyncio.timeout`): a 408.
            if task not in reads.expired or task.uncancel() > cancels:
                raise
            raise TimeoutError(f"no whole body within {BODY_SECONDS:g} s") from None
        finally:
            del reads.deadlines[task]
            if reads.expired:
                reads.expired.discard(task)

    def _sweep(self, loop: asyncio.AbstractEventLoop, reads: _Reads) -> None:
        now = loop.time()
        for task, deadline in list(reads.deadlines.items()):
            if deadline <= now and task not in reads.expired:
                reads.expired.add(task)
                task.cancel()
        if reads.deadlines:
            loop.call_later(SWEEP_SECONDS, self._sweep, loop, reads)
        else:  # nothing to watch: the next read starts a sweep again
            del self._loops[loop]
            if self._last[1] is reads:
                self._last = (None, None)


def _whole(message: Message, cap: int) -> bytes | None:
    """A body sent in one message, or None past `cap`."""
    whole = message.get("body", b"")
    if len(whole) > cap:
        return None
    return whole if type(whole) is bytes else bytes(whole)  # ASGI says bytes: a view, copied


async def _read(receive: Receive, cap: int) -> bytes | None:
    return await _read_rest(await receive(), receive, cap)


async def _read_rest(message: Message, receive: Receive, cap: int) -> bytes | None:
    """The body of which `message` is the first part."""
    if message["type"] != "http.request":  # http.disconnect: nobody to answer
        raise ClientGone
    if not message.get("more_body", False):  # every provider's body: one message
        return _whole(message, cap)
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
