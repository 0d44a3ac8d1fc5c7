"""Answering one request: route matching, the handlers' context, auth, rate windows, the log.

``answer`` is the order every request goes through: pre-auth fault, auth (key, then the
provider's request check), rate window, handler, post-handler fault. ``Answering.__call__``
(in ``_answer``) wraps it with locking, the ``stall`` fault and recording.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, unquote

from sms_status.testing._base import MessageView, ProviderDef, Reply, RouteDef
from sms_status.testing._faults import (
    AFTER_HANDLER_FAULTS,
    PRE_AUTH_FAULTS,
    Fault,
    fault_reply,
    give_back,
    shape_reply,
    with_header,
)
from sms_status.testing._store import DEFAULT_TENANT, MessageStore

if TYPE_CHECKING:
    from sms_status.testing._clock import Clock

__all__ = [
    "SECRET_HEADERS",
    "RateWindows",
    "RecordedRequest",
    "RequestContext",
    "Router",
    "answer",
    "masked_headers",
    "recorded",
]

#: Headers whose values never reach the request log.
SECRET_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "app-key", "cookie", "x-signature"}
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sandbox received it."""

    method: str
    raw_path: str
    """The path exactly as on the wire (percent-encoding preserved, no query)."""
    path: str
    """The decoded path."""
    query: str
    """The raw query string (no ``?``)."""
    query_params: dict[str, list[str]]
    headers: dict[str, str]
    """Lower-case names; secret values (keys, Authorization, signatures) are ``***``."""
    status: int
    """The HTTP status answered (for ``reset`` faults: the one in the sent headers)."""
    route: str | None = None
    """The matched route's name (``status``, ``by_phone``, ...), None for unknown paths."""
    fault: str | None = None
    """The kind of the injected fault that shaped the answer, if any."""
    at: float = 0.0
    """Sandbox clock time of arrival."""


def masked_headers(headers: Mapping[str, str], secret: frozenset[str]) -> dict[str, str]:
    """Headers for the log: secret values (``SECRET_HEADERS`` and ``secret``) are ``***``."""
    masked: dict[str, str] = {}
    for name, value in headers.items():
        shown = "***" if name in SECRET_HEADERS or name in secret else value
        masked[name] = f"{masked[name]}, {shown}" if name in masked else shown
    return masked


def recorded(
    method: str,
    raw_path: str,
    path: str,
    query: str,
    headers: dict[str, str],
    status: int,
    route: str | None,
    fault: Fault | None,
    at: float,
) -> RecordedRequest:
    """A request log entry (``headers`` already masked)."""
    return RecordedRequest(
        method=method,
        raw_path=raw_path,
        path=path,
        query=query,
        query_params=parse_qs(query, keep_blank_values=True),
        headers=headers,
        status=status,
        route=route,
        fault=fault.kind if fault else None,
        at=at,
    )


class RequestContext:
    """The ``Ctx`` a route handler gets: the request, and the caller's tenant's messages."""

    def __init__(
        self,
        params: Mapping[str, str],
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        request_id: str,
        raw_path: str,
        raw_query: str,
        method: str,
        *,
        clock: Clock,
        options: Mapping[str, Any],
        messages: MessageStore,
        state: dict[str, Any],
    ) -> None:
        self._clock = clock
        self._options = options
        self._messages = messages
        self._state = state
        self._method = method
        self._raw_path = raw_path
        self._raw_query = raw_query
        self._params = params
        self._query = query
        self._headers = headers
        self._request_id = request_id
        self.tenant: str | None = None
        self.status_override: tuple[str | None, str] | None = None
        """``(message id or None for all, value)`` set by the ``unknown_status`` fault."""

    @property
    def params(self) -> Mapping[str, str]:
        return self._params

    @property
    def query(self) -> Mapping[str, list[str]]:
        return self._query

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    @property
    def request_id(self) -> str:
        return self._request_id

    @property
    def raw_path(self) -> str:
        return self._raw_path

    @property
    def raw_query(self) -> str:
        return self._raw_query

    @property
    def method(self) -> str:
        return self._method

    @property
    def state(self) -> dict[str, Any]:
        return self._state

    def now(self) -> float:
        return self._clock.now()

    def option(self, name: str) -> Any:
        return self._options.get(name)

    def _override_for(self, message_id: str) -> str | None:
        if self.status_override is None:
            return None
        target, value = self.status_override
        return value if target is None or target == message_id else None

    def lookup(self, message_id: str, *, advance: bool = True) -> MessageView | None:
        return self._messages.look_up(
            self.tenant or DEFAULT_TENANT,
            message_id,
            self.now(),
            advance=advance,
            status_override=self._override_for(message_id),
        )

    def messages(self) -> list[MessageView]:
        tenant, now = self.tenant or DEFAULT_TENANT, self.now()
        return [
            m.view(now, advance=False, status_override=self._override_for(m.id))
            for m in self._messages.of_tenant(tenant)
        ]


_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


def _compile(template: str) -> re.Pattern[str]:
    pattern, pos = "", 0
    for m in _PARAM.finditer(template):
        pattern += re.escape(template[pos : m.start()]) + f"(?P<{m.group(1)}>[^/]+)"
        pos = m.end()
    return re.compile(pattern + re.escape(template[pos:]))


class Router:
    """A provider's routes, matched on the raw path (``{name}`` is one raw segment)."""

    def __init__(self, routes: tuple[RouteDef, ...] | list[RouteDef]) -> None:
        self._routes = [(route, _compile(route.template)) for route in routes]
        self.names: frozenset[str] = frozenset(route.name for route in routes)

    def match(self, raw_path: str) -> tuple[RouteDef, dict[str, str]] | None:
        """The route and its percent-decoded path parameters, or None for an unknown path."""
        for route, pattern in self._routes:
            m = pattern.fullmatch(raw_path)
            if m:
                return route, {k: unquote(v) for k, v in m.groupdict().items()}
        return None


class RateWindows:
    """A sliding window per key on the sandbox clock."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}

    def check(self, key: str, limit: tuple[int, float], now: float) -> int | None:
        """The seconds to wait, or None if allowed (and then counted)."""
        count, window = limit
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= count:
            return max(1, math.ceil(hits[0] + window - now))
        hits.append(now)
        return None

    def clear(self) -> None:
        self._hits.clear()


def answer(
    provider: ProviderDef,
    ctx: RequestContext,
    route: RouteDef,
    fault: Fault | None,
    *,
    tenants: Mapping[str, str],
    rate_limit: tuple[int, float] | None,
    windows: RateWindows,
) -> tuple[Reply, Fault | None]:
    """The answer to a matched request, shaped by ``fault`` (``stall``/``reset``: _server),
    and the fault that shaped it: one that acts on the handler's answer is given back when
    the request is refused before it (the next request it matches takes it)."""
    if fault is not None and fault.kind in PRE_AUTH_FAULTS:
        return _observed(ctx, route, fault_reply(provider, ctx, fault), fault), fault
    refused = _refusal(
        provider, ctx, route, tenants=tenants, rate_limit=rate_limit, windows=windows
    )
    if refused is not None:
        if fault is not None and fault.kind in AFTER_HANDLER_FAULTS:
            give_back(fault)
            fault = None
        return _observed(ctx, route, refused, None), fault
    if fault is not None and fault.kind == "unknown_status":
        ctx.status_override = (fault.message_id, str(fault.params.get("value", "SANDBOX_NEW")))
    reply = route.handler(ctx)
    shaped = reply if fault is None else shape_reply(reply, fault)
    return _observed(ctx, route, shaped, fault), fault


def _refusal(
    provider: ProviderDef,
    ctx: RequestContext,
    route: RouteDef,
    *,
    tenants: Mapping[str, str],
    rate_limit: tuple[int, float] | None,
    windows: RateWindows,
) -> Reply | None:
    """The answer of a request refused before its handler (its key, its provider's request
    check, the rate window), or None (then ``ctx.tenant`` is set)."""
    if not route.auth:
        return None
    presented = provider.present_key(ctx.headers)
    tenant = tenants.get(presented) if presented is not None else None
    if tenant is None:
        return provider.auth_error(ctx, presented)
    if provider.verify_request is not None:
        refused = provider.verify_request(ctx)
        if refused is not None:
            return refused
    ctx.tenant = tenant
    if route.rate_limited and rate_limit is not None:
        counted = tenant if provider.rate_limit_per_account else presented or ""
        retry = windows.check(counted, rate_limit, ctx.now())
        if retry is not None:
            reply = provider.rate_limited(ctx, str(retry))
            if provider.limiter_sends_retry_after:
                reply = with_header(reply, "Retry-After", str(retry))
            return reply
    return None


def _observed(ctx: RequestContext, route: RouteDef, reply: Reply, fault: Fault | None) -> Reply:
    """Hand the answer to the ``reply_observer`` option, if set: a test suite's strict
    conformance check of every body the sandbox serves (``tests/strict_conformance.py``)."""
    observer: Callable[[RouteDef, Reply, Fault | None], None] | None = ctx.option("reply_observer")
    if observer is not None:
        observer(route, reply, fault)
    return reply
