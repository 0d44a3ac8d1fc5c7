"""Answering the sandbox's HTTP requests: the state that serving needs, in its own object.

``Answering`` is the whole of ``Sandbox.app``: it routes each request on its raw path, takes
the first matching injected fault, runs ``_dispatch.answer`` (auth, rate window, handler)
and logs the request. It owns the router, the faults, the request log, the rate windows
and the handlers' scratch state; it is handed the provider's fake, the ``MessageStore``
(whose lock it takes) and the sandbox's ``Settings``, read afresh for every request.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.datastructures import Headers

from sms_status.testing._base import ProviderDef, Reply, RouteDef
from sms_status.testing._clock import Clock
from sms_status.testing._dispatch import (
    RateWindows,
    RecordedRequest,
    RequestContext,
    Router,
    answer,
    masked_headers,
    recorded,
)
from sms_status.testing._faults import Fault, take_fault
from sms_status.testing._server import send_reply
from sms_status.testing._store import MessageStore

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send


@dataclass
class Settings:
    """What a sandbox is set to, changeable while it serves (``sb.clock = ...``,
    ``sb.rate_limit = ...``, ``sb.options[...] = ...``, ``add_tenant_key``)."""

    clock: Clock
    options: dict[str, Any]
    rate_limit: tuple[int, float] | None
    tenants: dict[str, str]
    """API key -> tenant."""


class Answering:
    """Answers one sandbox's requests, and keeps what that takes (see the module doc)."""

    def __init__(self, provider: ProviderDef, store: MessageStore, settings: Settings) -> None:
        self.provider = provider
        self._store = store
        self._lock = store.lock
        self._settings = settings
        self._router = Router(provider.routes)
        self.state: dict[str, Any] = {}
        """Scratch state of the provider's handlers (cleared by ``reset``)."""
        self._faults: list[Fault] = []
        self._requests: list[RecordedRequest] = []
        self._windows = RateWindows()
        self._counter = 0
        self._generation = 0
        self.stopping = threading.Event()
        """Set while the server stops: stalled requests end at once."""

    @property
    def route_names(self) -> frozenset[str]:
        return self._router.names

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def active_faults(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if f.active]

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def reset(self) -> None:
        """Forget faults, requests, rate windows and scratch state; requests in flight (a
        stalled one, say) are answered 503 and not logged."""
        with self._lock:
            self._generation += 1
            self._faults.clear()
            self._requests.clear()
            self._windows.clear()
            self.state.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request: routes on the raw path."""
        generation = self._generation
        raw_bytes: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        raw_path = raw_bytes.split(b"?", 1)[0].decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        headers = Headers(scope=scope)
        query_params = parse_qs(query, keep_blank_values=True)
        settings = self._settings
        self._lock.acquire()  # held from taking a fault to answering (only a stall lets go)
        try:
            self._counter += 1
            request_id = f"req_{self._counter:016x}"
            matched = self._router.match(raw_path)
            params = matched[1] if matched else {}
            ctx = RequestContext(
                params,
                query_params,
                headers,
                request_id,
                raw_path,
                query,
                scope["method"],
                clock=settings.clock,
                options=settings.options,
                messages=self._store,
                state=self.state,
            )
            arrived = settings.clock.now()  # `RecordedRequest.at`: before a stall, say
            fault: Fault | None = None
            reply: Reply | None = None
            route: RouteDef | None = None
            if matched is None:
                reply = self.provider.unknown_path(ctx)
            else:
                route = matched[0]
                if scope["method"] not in route.methods:
                    reply = Reply.empty(405, [("Allow", ", ".join(route.methods))])
                else:
                    fault = take_fault(self._faults, route.name, route.ids(ctx))
            if fault is not None and fault.kind == "stall":
                self._lock.release()
                try:
                    deadline = time.monotonic() + float(fault.params.get("seconds", 30.0))
                    while time.monotonic() < deadline:
                        if self.stopping.is_set() or self._generation != generation:
                            break
                        await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
                finally:
                    self._lock.acquire()
            if self._generation != generation:
                reply = Reply.empty(503)  # the sandbox was reset under this request
            elif reply is None:
                assert route is not None
                reply, fault = answer(
                    self.provider,
                    ctx,
                    route,
                    fault,
                    tenants=settings.tenants,
                    rate_limit=settings.rate_limit,
                    windows=self._windows,
                )
            if self._generation == generation:
                self._record(
                    scope,
                    raw_path,
                    query,
                    headers,
                    reply.status,
                    route.name if route else None,
                    fault,
                    arrived,
                )
        finally:
            self._lock.release()
        await send_reply(
            send,
            reply,
            reset=fault is not None and fault.kind == "reset",
            reset_length=fault.params.get("length") if fault else None,
        )

    def _record(
        self,
        scope: Scope,
        raw_path: str,
        query: str,
        headers: Headers,
        status: int,
        route: str | None,
        fault: Fault | None,
        arrived: float,
    ) -> None:
        self._requests.append(
            recorded(
                scope["method"],
                raw_path,
                scope["path"],
                query,
                masked_headers(headers, self.provider.secret_headers),
                status,
                route,
                fault,
                arrived,
            )
        )
