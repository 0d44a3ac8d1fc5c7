"""The receiver: an ASGI app (Starlette requests and responses) that verifies each POST,
answers at once, then reports it. It answers on any path, so it mounts under any prefix."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sms_status.errors import MalformedWebhookError, WebhookSignatureError
from sms_status.webhooks._guards import MemoryReplayGuard, ReplayGuard

if TYPE_CHECKING:
    from sms_status.webhooks._parse import WebhookEvent

OnReport = Callable[["WebhookEvent"], "Awaitable[object] | object"]
"""`on_report(event)`: a plain function (run in a worker thread) or an async one."""

logger = logging.getLogger("sms_status.webhooks")


def build_app(
    provider: str,
    *,
    secret: str | None,
    on_report: OnReport,
    max_body_bytes: int,
    url: str | None,
    tolerance: float,
    replay_guard: ReplayGuard | None,
    clock: Callable[[], float] | None,
) -> ASGIApp:
    from sms_status.webhooks._parse import verify_and_read

    is_async = inspect.iscoroutinefunction(on_report) or inspect.iscoroutinefunction(
        getattr(on_report, "__call__", None)  # noqa: B004 - an object with an async __call__
    )

    async def hand_over(event: WebhookEvent) -> None:
        try:
            if is_async:
                await on_report(event)  # type: ignore[misc]
            else:
                result = await run_in_threadpool(on_report, event)
                if asyncio.iscoroutine(result):
                    await result
        except Exception:
            # The provider already has its 2xx: all that is left is to say so.
            logger.exception("on_report failed for %s event %s", provider, event.event_id)

    async def remember(key: str) -> bool:
        if replay_guard is None:
            return True
        if isinstance(replay_guard, MemoryReplayGuard):
            return replay_guard.add(key, ttl=2 * tolerance)
        return await run_in_threadpool(replay_guard.add, key, ttl=2 * tolerance)

    async def receive(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            return Response(status_code=413)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:  # a chunked or lying body: stop reading at the cap
                return Response(status_code=413)
            chunks.append(chunk)
        try:
            event, replay_key = verify_and_read(
                provider,
                body=b"".join(chunks),
                headers=request.headers,
                secret=secret,
                url=url if url is not None else str(request.url),
                method=request.method,
                tolerance=tolerance,
                now=clock() if clock is not None else None,
            )
        except WebhookSignatureError:
            return Response(status_code=401)  # empty, as 23 Telecom advises
        except MalformedWebhookError:
            return Response(status_code=400)
        if not await remember(replay_key):
            return Response(status_code=200)  # seen before: acknowledged, not reported again
        return Response(status_code=200, background=BackgroundTask(hand_over, event))

    return _Receiver(receive)


class _Receiver:
    """The ASGI callable (an object, not a function, so Starlette's `Route(path, receiver)`
    hands it the raw request, and `Mount(prefix, app=receiver)` works as well). Answers on
    any path."""

    def __init__(self, handle: Callable[[Request], Awaitable[Response]]) -> None:
        self._handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if request.method == "POST":
            response = await self._handle(request)
        else:
            response = Response(status_code=405, headers={"Allow": "POST"})
        await response(scope, receive, send)
