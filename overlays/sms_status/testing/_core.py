"""The sandbox core: clock, message store, faults, rate windows, request log, ASGI app, server.

Written once for all providers; each provider module (``testing/<key>.py``) declares a
:class:`~sms_status.testing._base.ProviderDef` that this core serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol, Self, cast
from urllib.parse import parse_qs, unquote

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.routing import Route

from sms_status.testing._base import (
    Example,
    MessageView,
    ProviderDef,
    Reply,
    RouteDef,
    dump_json,
)
from sms_status.testing._keys import DEMO_KEYS, PROVIDER_KEYS

if TYPE_CHECKING:
    from typing import Unpack

    import uvicorn
    from starlette.types import Receive, Scope, Send

    from sms_status.client import (
        AsyncClientOptions,
        AsyncStatusClient,
        ClientOptions,
        StatusClient,
    )
    from sms_status.testing._webhooks import WebhookDelivery, WebhookDispatcher

__all__ = [
    "DEFAULT_TENANT",
    "FAULT_KINDS",
    "Clock",
    "FakeClock",
    "Fault",
    "MessageHandle",
    "RealClock",
    "RecordedRequest",
    "Sandbox",
]

DEFAULT_TENANT: Final = "default"

#: Headers whose values never reach the request log.
SECRET_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "app-key", "cookie", "x-signature"}
)


# -- clocks ----------------------------------------------------------------------------------


class Clock(Protocol):
    """What a sandbox reads time from: ``FakeClock`` in tests, ``RealClock`` otherwise."""

    def now(self) -> float: ...
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """Wall-clock time (``time.time``); the default when no clock is given."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "RealClock()"


class FakeClock:
    """A controllable clock, thread-safe. ``sleep`` advances instantly.

    ``now()`` is epoch seconds starting at 2026-02-13T10:30:00Z unless ``start`` is given;
    ``monotonic()`` reads the same timeline.
    """

    DEFAULT_START: Final = datetime(2026, 2, 13, 10, 30, tzinfo=UTC).timestamp()

    def __init__(self, start: float | datetime | None = None) -> None:
        if start is None:
            start = self.DEFAULT_START
        elif isinstance(start, datetime):
            start = (start if start.tzinfo else start.replace(tzinfo=UTC)).timestamp()
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        return self.now()

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (>= 0); returns the new time."""
        if seconds < 0:
            raise ValueError("a FakeClock never goes backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"FakeClock({self.datetime().isoformat()})"


# -- records ---------------------------------------------------------------------------------


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


FAULT_KINDS: Final = frozenset(
    {
        "rate_limit",
        "server_error",
        "error",
        "proxy_502_html",
        "truncated_json",
        "wrong_types",
        "unknown_status",
        "status_code",
        "stall",
        "reset",
        "not_json",
    }
)
"""Every fault ``inject_fault(kind, ...)`` accepts."""
# answered before auth, instead of the real answer
_PRE_FAULTS: Final = frozenset(
    {"rate_limit", "server_error", "error", "proxy_502_html", "not_json"}
)

_PROXY_502_HTML: Final = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_RATE_LIMIT_HTML: Final = (
    "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n"
    "<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_NOT_JSON_HTML: Final = (
    "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>"
    "<body><h1>We'll be back soon</h1></body></html>\n"
)


class _Default:
    def __repr__(self) -> str:
        return "<provider default>"


_DEFAULT: Final = _Default()


@dataclass(eq=False)
class Fault:
    """An injected fault. Matches requests by message id, by route name, or all of them.

    ``times`` is how many more requests it applies to (None: forever); ``hits`` how many it
    has shaped so far.
    """

    kind: str
    message_id: str | None
    route: str | None
    times: int | None
    params: dict[str, Any]
    hits: int = 0
    cancelled: bool = False

    @property
    def active(self) -> bool:
        return not self.cancelled and (self.times is None or self.times > 0)

    def cancel(self) -> None:
        self.cancelled = True

    def matches(self, route: str, ids: Sequence[str]) -> bool:
        if self.route is not None and self.route != route:
            return False
        return self.message_id is None or self.message_id in ids


# -- store -----------------------------------------------------------------------------------


def _steps(statuses: Sequence[str | Mapping[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(statuses, str | bytes):
        raise TypeError("statuses must be a sequence of statuses, not a string")
    steps: list[tuple[str, dict[str, Any]]] = []
    for item in statuses:
        if isinstance(item, str):
            steps.append((item, {}))
        elif isinstance(item, Mapping) and isinstance(item.get("status"), str):  # pyright: ignore[reportUnnecessaryIsInstance]
            extra = {k: v for k, v in item.items() if k != "status"}
            steps.append((item["status"], extra))
        else:
            raise TypeError(
                f"a lifecycle step is a status string or a mapping with 'status': {item!r}"
            )
    if not steps:
        raise ValueError("a lifecycle needs at least one status")
    return steps


@dataclass(eq=False)
class _Message:
    id: str
    tenant: str
    steps: list[tuple[str, dict[str, Any]]]
    advance: float | None  # None: one step per status poll
    fields: dict[str, Any]
    created: float
    seq: int
    verbatim: Any = None
    polls: int = 0
    step_times: list[float] = field(default_factory=list[float])

    def step_at(self, now: float) -> int:
        last = len(self.steps) - 1
        if self.advance is None:
            return min(self.polls, last)
        if self.advance <= 0:
            return last
        return max(0, min(int((now - self.created) / self.advance), last))

    def view(self, now: float, *, advance: bool, status_override: str | None) -> MessageView:
        index = self.step_at(now)
        if self.advance is None:
            while len(self.step_times) <= index:
                self.step_times.append(now if self.step_times else self.created)
            began = self.step_times[: index + 1]
        else:
            step = self.advance if self.advance > 0 else 0.0
            began = [self.created + i * step for i in range(index + 1)]
        if advance:
            self.polls += 1
        status = self.steps[index][0]
        fields = {**self.fields, **self.steps[index][1]}
        timeline = tuple((self.steps[i][0], began[i]) for i in range(index + 1))
        return MessageView(
            id=self.id,
            status=status if status_override is None else status_override,
            step=index,
            final_step=index == len(self.steps) - 1,
            created_at=self.created,
            changed_at=began[index],
            timeline=timeline,
            fields=fields,
            verbatim=None if status_override is not None else self.verbatim,
            polls=self.polls,
            seq=self.seq,
        )


class MessageHandle:
    """What ``Sandbox.add_message`` returns: a live view of one stored message."""

    def __init__(self, sandbox: Sandbox, message: _Message, lock: threading.RLock) -> None:
        self._sandbox = sandbox
        self._message = message
        self._lock = lock

    @property
    def id(self) -> str:
        return self._message.id

    @property
    def tenant(self) -> str:
        return self._message.tenant

    @property
    def polls(self) -> int:
        """Status GETs of this message so far."""
        with self._lock:
            return self._message.polls

    @property
    def status(self) -> str:
        """The status the next GET would see (without counting a poll)."""
        with self._lock:
            return self._message.steps[self._message.step_at(self._sandbox.clock.now())][0]

    def __repr__(self) -> str:
        return f"MessageHandle({self.id!r}, tenant={self.tenant!r}, polls={self.polls})"


# -- per-request context ---------------------------------------------------------------------


class _Ctx:
    def __init__(
        self,
        sandbox: Sandbox,
        params: Mapping[str, str],
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        request_id: str,
        raw_path: str = "",
        raw_query: str = "",
        method: str = "GET",
        *,
        messages: dict[tuple[str, str], _Message],
        state: dict[str, Any],
    ) -> None:
        self._sandbox = sandbox
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
        return self._sandbox.clock.now()

    def option(self, name: str) -> Any:
        return self._sandbox.options.get(name)

    def _override_for(self, message_id: str) -> str | None:
        if self.status_override is None:
            return None
        target, value = self.status_override
        return value if target is None or target == message_id else None

    def lookup(self, message_id: str, *, advance: bool = True) -> MessageView | None:
        message = self._messages.get((self.tenant or DEFAULT_TENANT, message_id))
        if message is None:
            return None
        return message.view(
            self.now(), advance=advance, status_override=self._override_for(message_id)
        )

    def messages(self) -> list[MessageView]:
        tenant, now = self.tenant or DEFAULT_TENANT, self.now()
        return [
            m.view(now, advance=False, status_override=self._override_for(m.id))
            for (t, _), m in self._messages.items()
            if t == tenant
        ]


# -- routing ---------------------------------------------------------------------------------

_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


def _compile(template: str) -> re.Pattern[str]:
    pattern, pos = "", 0
    for m in _PARAM.finditer(template):
        pattern += re.escape(template[pos : m.start()]) + f"(?P<{m.group(1)}>[^/]+)"
        pos = m.end()
    return re.compile(pattern + re.escape(template[pos:]))


class _Logging:
    """Silence uvicorn's one expected complaint: the ``reset`` fault's unfinished body."""

    installed = False

    @classmethod
    def install(cls) -> None:
        if cls.installed:
            return
        cls.installed = True

        def drop(record: logging.LogRecord) -> bool:
            return "without completing response" not in record.getMessage()

        logging.getLogger("uvicorn.error").addFilter(drop)


# -- the sandbox -----------------------------------------------------------------------------


def load_provider(key: str) -> ProviderDef:
    if key not in PROVIDER_KEYS:
        raise ValueError(f"unknown provider {key!r}; expected one of {', '.join(PROVIDER_KEYS)}")
    module = importlib.import_module(f"sms_status.testing.{key}")
    provider: ProviderDef = module.PROVIDER
    return provider


class Sandbox:
    """A local, spec-faithful server for one provider's status API.

    ``Sandbox(key, api_key=None, clock=None, *, rate_limit=<provider default>,
    history_before="strict", invalid_query="lenient", signing_secret=None, seed=True)``

    - ``api_key``: the key the default tenant authenticates with (``DEMO_KEYS[key]``).
    - ``clock``: anything with ``now()``/``monotonic()``/``sleep()``; ``FakeClock()`` in tests,
      wall-clock time when None. Settable later (``sb.clock = FakeClock()``).
    - ``rate_limit``: ``(requests, window_seconds)`` per key on the rate-limited routes, or None
      for no limit. Default: the provider's documented limit (lisoloo ``(120, 60.0)``, others
      off).
    - ``history_before``: namirial ``sendDate`` filter, ``"strict"`` (sent < sendDate, as
      documented: "sent before") or ``"inclusive"`` (<=).
    - ``invalid_query``: namirial ``count``/``sendDate`` outside the spec: ``"lenient"``
      (clamped/ignored: no 400 is documented) or ``"reject"`` (400, no body).
    - ``signing_secret``: telecom23 HMAC request signing: when set, every request must carry
      a valid ``X-Timestamp``/``X-Signature`` pair (401 ``SIGNATURE_REQUIRED`` /
      ``INVALID_SIGNATURE`` otherwise).
    - ``seed``: serve the spec's example messages for their own ids (``seed_examples``).

    Tenants: the primary key belongs to tenant ``"default"``. ``add_tenant_key(key, tenant)``
    adds another key (its own tenant unless told), ``add_message(..., tenant=...)`` stores a
    message for a tenant; a tenant never sees another's messages (404, as for unknown ids).
    """

    def __init__(
        self,
        key: str,
        api_key: str | None = None,
        clock: Clock | None = None,
        *,
        rate_limit: tuple[int, float] | _Default | None = _DEFAULT,
        history_before: str = "strict",
        invalid_query: str = "lenient",
        signing_secret: str | None = None,
        seed: bool = True,
    ) -> None:
        if history_before not in ("strict", "inclusive"):
            raise ValueError("history_before must be 'strict' or 'inclusive'")
        if invalid_query not in ("lenient", "reject"):
            raise ValueError("invalid_query must be 'lenient' or 'reject'")
        self.provider: ProviderDef = load_provider(key)
        self.key = key
        self._api_key = api_key if api_key is not None else DEMO_KEYS[key]
        self.clock: Clock = clock if clock is not None else RealClock()
        if isinstance(rate_limit, _Default):
            rate_limit = self.provider.default_rate_limit
        if rate_limit is not None and (rate_limit[0] < 1 or rate_limit[1] <= 0):
            raise ValueError("rate_limit is (requests >= 1, window_seconds > 0) or None")
        self.rate_limit: tuple[int, float] | None = rate_limit
        self.options: dict[str, Any] = {
            "history_before": history_before,
            "invalid_query": invalid_query,
            "signing_secret": signing_secret,
        }
        self._seed = seed
        self._defaults = (self.api_key, rate_limit, dict(self.options))
        self._lock = threading.RLock()
        self._routes = [(r, _compile(r.template)) for r in self.provider.routes]
        self._route_names = {r.name for r in self.provider.routes}
        self._tenants: dict[str, str] = {self._api_key: DEFAULT_TENANT}
        self._state: dict[str, Any] = {}
        self._messages: dict[tuple[str, str], _Message] = {}
        self._faults: list[Fault] = []
        self._requests: list[RecordedRequest] = []
        self._windows: dict[str, deque[float]] = {}
        self._seq = 0
        self._request_counter = 0
        self._generation = 0
        self._stopping = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None
        self.app: Starlette = Starlette(
            routes=[Route("/{path:path}", endpoint=_Endpoint(self._handle))]
        )
        self._webhooks: WebhookDispatcher | None = None
        if seed:
            self.seed_examples()

    def __repr__(self) -> str:
        where = self._base_url or "not serving"
        return f"Sandbox({self.key!r}, {where})"

    @property
    def api_key(self) -> str:
        """The default tenant's key (settable: the old one stops working)."""
        return self._api_key

    @api_key.setter
    def api_key(self, value: str) -> None:
        with self._lock:
            if self._tenants.get(self._api_key) == DEFAULT_TENANT:
                del self._tenants[self._api_key]
            self._api_key = value
            self._tenants[value] = DEFAULT_TENANT

    # -- tenants and messages ----------------------------------------------------------------

    def add_tenant_key(self, api_key: str, tenant: str | None = None) -> str:
        """Accept ``api_key`` too, as tenant ``tenant`` (default: a tenant of its own)."""
        name = tenant if tenant is not None else api_key
        with self._lock:
            self._tenants[api_key] = name
        return name

    def add_message(
        self,
        message_id: str,
        *,
        statuses: Sequence[str | Mapping[str, Any]] | None = None,
        advance: str | float = "poll",
        tenant: str | None = None,
        **fields: Any,
    ) -> MessageHandle:
        """Store a message with a scripted lifecycle (replacing one with the same id).

        ``statuses``: the steps (default: the provider's ``pending -> sent -> delivered``); a
        step is a status string or a mapping ``{"status": ..., <field>: value}`` whose fields
        apply to that step only (over the message's own ``fields``). Any string is allowed
        (unknown values included).
        ``advance="poll"``: each status GET of the id moves one step, the first GET sees step
        0; ``advance=N`` seconds: step ``min(int(elapsed / N), last)`` on the sandbox clock.
        ``fields`` override the rendered fields (see the provider module for the extra ones
        it understands, e.g. namirial ``phone``/``reference_key``/``sent_at``).
        """
        steps = _steps(statuses if statuses is not None else self.provider.default_statuses)
        if advance == "poll":
            step_seconds: float | None = None
        elif isinstance(advance, int | float) and not isinstance(advance, bool):
            if advance < 0:
                raise ValueError("advance seconds must be >= 0")
            step_seconds = float(advance)
        else:
            raise ValueError("advance is 'poll' or a number of seconds")
        return self._store(message_id, steps, step_seconds, tenant, fields, None)

    def _store(
        self,
        message_id: str,
        steps: list[tuple[str, dict[str, Any]]],
        step_seconds: float | None,
        tenant: str | None,
        fields: dict[str, Any],
        verbatim: Any,
    ) -> MessageHandle:
        with self._lock:
            self._seq += 1
            message = _Message(
                id=message_id,
                tenant=tenant if tenant is not None else DEFAULT_TENANT,
                steps=steps,
                advance=step_seconds,
                fields=dict(fields),
                created=self.clock.now(),
                seq=self._seq,
                verbatim=verbatim,
            )
            self._messages[(message.tenant, message_id)] = message
        return MessageHandle(self, message, self._lock)

    def remove_message(self, message_id: str, tenant: str | None = None) -> None:
        with self._lock:
            self._messages.pop((tenant if tenant is not None else DEFAULT_TENANT, message_id), None)

    def seed_examples(self) -> list[MessageHandle]:
        """Store the spec's example messages; each is served byte-for-byte for its own id."""
        return [self._seed_one(example) for example in self.provider.examples]

    @property
    def example_ids(self) -> tuple[str, ...]:
        """The ids of the spec's example messages (served when ``seed`` is on): ids to try,
        e.g. ``sms-status status --provider KEY <id>`` against ``sms-status sandbox``."""
        return tuple(example.id for example in self.provider.examples)

    def _seed_one(self, example: Example) -> MessageHandle:
        return self._store(
            example.id, [(example.status, {})], None, None, dict(example.fields), example.body
        )

    # -- faults ------------------------------------------------------------------------------

    def inject_fault(
        self,
        kind: str,
        *,
        message_id: str | None = None,
        route: str | None = None,
        times: int | None = 1,
        **params: Any,
    ) -> Fault:
        """Make the next ``times`` matching requests fail as ``kind`` (None: forever).

        Kinds and params: ``rate_limit`` (retry_after: str | None, body: json|html|empty),
        ``server_error`` (status=500), ``error`` (status, code: a documented error; both take
        ``fields={...}`` to override keys of a JSON object body),
        ``proxy_502_html`` (status=502), ``truncated_json`` (length), ``wrong_types``
        (fields: names to corrupt, default all), ``unknown_status`` (value),
        ``status_code`` (status, body, content_type), ``stall`` (seconds=30.0),
        ``reset`` (length: bytes sent before the drop), ``not_json`` (status=200, body,
        content_type). Faults are tried in injection order; one fault shapes a request.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if route is not None and route not in self._route_names:
            raise ValueError(f"unknown route {route!r}; {self.key} has {sorted(self._route_names)}")
        if times is not None and times < 1:
            raise ValueError("times is None (forever) or >= 1")
        if kind == "rate_limit":
            params.setdefault("body", self.provider.fault_rate_limit_body)
            if params["body"] not in ("json", "html", "empty"):
                raise ValueError("rate_limit body is 'json', 'html' or 'empty'")
            params.setdefault("retry_after", self.provider.fault_retry_after)
        elif kind == "status_code" and not isinstance(params.get("status"), int):
            raise ValueError("status_code needs status=<int>")
        elif kind == "error" and not isinstance(params.get("status"), int):
            raise ValueError("error needs status=<int> (and optionally code=...)")
        fault = Fault(kind, message_id, route, times, params)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if f.active]

    def _take_fault(self, route: str, ids: Sequence[str]) -> Fault | None:
        for fault in self._faults:
            if fault.active and fault.matches(route, ids):
                fault.hits += 1
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    # -- request log and reset ---------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def reset(self) -> None:
        """Forget messages, faults, requests, rate windows and webhooks (examples are re-seeded).

        Requests still in flight (e.g. stalled) are dropped without an answer.
        """
        self._close_webhooks()  # outside the lock: its thread takes the lock to read the store
        with self._lock:
            self._generation += 1
            self._messages.clear()
            self._faults.clear()
            self._requests.clear()
            self._windows.clear()
            self._tenants = {self._api_key: DEFAULT_TENANT}
            self._state.clear()
        if self._seed:
            self.seed_examples()

    def restore_defaults(self) -> None:
        """Put ``api_key``, ``rate_limit`` and ``options`` back as constructed, then ``reset()``."""
        api_key, rate_limit, options = self._defaults
        with self._lock:
            self._api_key, self.rate_limit, self.options = api_key, rate_limit, dict(options)
        self.reset()

    # -- webhooks (sms_status.testing._webhooks) --------------------------------------------

    def add_webhook(self, url: str, *, secret: str | None = None) -> None:
        """POST each status change of this sandbox's messages to ``url``, as the provider does.

        Driven by the sandbox clock (nobody needs to poll): shaped, signed (telecom23, seven:
        signing secret; lisoloo: ``"user:password"`` for Basic auth; namirial, roycetalk:
        unsigned, ``secret=None``) and retried on non-2xx as the provider documents. Every
        attempt lands in ``webhook_deliveries``; ``wait_for_webhooks`` blocks until they do.
        """
        from sms_status.testing._webhooks import WebhookDispatcher

        if self._webhooks is None:
            self._webhooks = WebhookDispatcher(self)
        self._webhooks.add(url, secret)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook POST attempt so far, oldest first (``Authorization`` masked)."""
        return [] if self._webhooks is None else self._webhooks.deliveries

    def wait_for_webhooks(
        self,
        count: int = 1,
        *,
        timeout: float = 10.0,
        where: Callable[[WebhookDelivery], bool] | None = None,
    ) -> list[WebhookDelivery]:
        """Block until ``count`` attempts (matching ``where``) are logged; TimeoutError if not."""
        if self._webhooks is None:
            raise RuntimeError("no webhook was added: use sandbox.add_webhook(url)")
        return self._webhooks.wait(count, timeout, where)

    def _close_webhooks(self) -> None:
        dispatcher, self._webhooks = self._webhooks, None
        if dispatcher is not None:
            dispatcher.close()

    # -- serving -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (an origin) while serving."""
        if self._base_url is None:
            raise RuntimeError("the sandbox is not serving: use sb.serve() or sb.start()")
        return self._base_url

    @property
    def serving(self) -> bool:
        return self._base_url is not None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Serve on a real socket from a background thread; returns once it accepts."""
        import uvicorn

        if self._server is not None:
            raise RuntimeError("already serving")
        _Logging.install()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on connections whose socket
        # says so, and without it Nagle + delayed ACK cost ~40 ms per keep-alive request.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((host, port))
            sock.listen(1024)
        except OSError:
            sock.close()
            raise
        bound_port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._stopping.clear()
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"sms-sandbox-{self.key}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the {self.key} sandbox failed to start")
            time.sleep(0.001)
        self._server, self._thread = server, thread
        self._sock = sock
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        self._base_url = f"http://{shown}:{bound_port}"
        return self

    def stop(self) -> None:
        """Stop serving and sending webhooks (idempotent); stalled requests are cut short."""
        self._close_webhooks()
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.should_exit = True
        thread.join(5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5)
        self._sock.close()
        self._server = self._thread = None
        self._base_url = None

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Generator[Self, None, None]:
        self.start(host, port)
        try:
            yield self
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- clients -----------------------------------------------------------------------------

    def connect(self, **options: Unpack[ClientOptions]) -> StatusClient:
        """A blocking client for this sandbox: its origin and key, and its clock, so the
        client's polling and retry waits advance a ``FakeClock`` instead of sleeping.
        ``options`` are `sms_status.connect`'s. Close it (``with sb.connect() as client:``)."""
        import sms_status

        options.setdefault("clock", self.clock.monotonic)
        options.setdefault("sleep", self.clock.sleep)
        return sms_status.connect(
            sms_status.provider_key(self.key),
            api_key=self.api_key,
            base_url=self.base_url,
            **options,
        )

    def connect_async(self, **options: Unpack[AsyncClientOptions]) -> AsyncStatusClient:
        """The asyncio twin of :meth:`connect` (a ``FakeClock``'s sleeps yield to the loop)."""
        import sms_status

        options.setdefault("clock", self.clock.monotonic)
        async_sleep = getattr(self.clock, "async_sleep", None)
        if async_sleep is not None:
            options.setdefault("sleep", async_sleep)
        return sms_status.connect_async(
            sms_status.provider_key(self.key),
            api_key=self.api_key,
            base_url=self.base_url,
            **options,
        )

    # -- answering ---------------------------------------------------------------------------

    def _match(self, raw_path: str) -> tuple[RouteDef, dict[str, str]] | None:
        for route, pattern in self._routes:
            m = pattern.fullmatch(raw_path)
            if m:
                return route, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    def _answer(  # noqa: PLR0911, PLR0912
        self, ctx: _Ctx, route: RouteDef, fault: Fault | None
    ) -> Reply:
        """The real answer, shaped by ``fault`` (not by ``stall``/``reset``: see _Endpoint)."""
        provider = self.provider
        kind = fault.kind if fault else None
        if fault is not None and kind in _PRE_FAULTS:
            return self._fault_reply(ctx, fault)
        if route.auth:
            presented = provider.present_key(ctx.headers)
            tenant = self._tenants.get(presented) if presented is not None else None
            if tenant is None:
                return provider.auth_error(ctx, presented)
            if provider.verify_request is not None:
                refused = provider.verify_request(ctx)
                if refused is not None:
                    return refused
            ctx.tenant = tenant
            if route.rate_limited and self.rate_limit is not None:
                retry = self._rate_check(presented or "")
                if retry is not None:
                    reply = provider.rate_limited(ctx, str(retry))
                    if not provider.limiter_sends_retry_after:
                        return reply
                    return _with_header(reply, "Retry-After", str(retry))
        if fault is not None and kind == "unknown_status":
            ctx.status_override = (fault.message_id, str(fault.params.get("value", "SANDBOX_NEW")))
        reply = route.handler(ctx)
        if fault is None:
            return reply
        if kind == "truncated_json":
            body = reply.body or dump_json({"status": "sandbox"})
            cut = int(fault.params.get("length", max(1, len(body) // 2)))
            return Reply(reply.status, body[:cut], "application/json", reply.headers)
        if kind == "wrong_types":
            only = fault.params.get("fields")
            try:
                data = json.loads(reply.body)
            except ValueError:
                return reply
            names = set(only) if only is not None else None
            return Reply.json(_corrupt(data, names), reply.status, reply.headers)
        if kind == "status_code":
            status = int(fault.params["status"])
            if "body" in fault.params:
                raw = fault.params["body"]
                body = raw.encode() if isinstance(raw, str) else bytes(raw)
                ctype = fault.params.get("content_type", reply.content_type)
                return Reply(status, body, ctype, reply.headers)
            return Reply(status, reply.body, reply.content_type, reply.headers)
        return reply

    def _fault_reply(self, ctx: _Ctx, fault: Fault) -> Reply:
        p = fault.params
        if fault.kind == "rate_limit":
            retry_after: str | None = None if p["retry_after"] is None else str(p["retry_after"])
            headers = () if retry_after is None else (("Retry-After", retry_after),)
            if p["body"] == "html":
                return Reply(429, _RATE_LIMIT_HTML.encode(), "text/html", headers)
            if p["body"] == "empty":
                return Reply.empty(429, headers)
            reply = self.provider.rate_limited(ctx, retry_after)
            return _with_header(reply, "Retry-After", retry_after) if retry_after else reply
        if fault.kind in ("server_error", "error"):
            status = int(p.get("status", 500))
            return _merge_fields(self.provider.error(ctx, status, p.get("code")), p.get("fields"))
        if fault.kind == "proxy_502_html":
            return Reply(int(p.get("status", 502)), _PROXY_502_HTML.encode(), "text/html")
        # not_json
        raw = p.get("body", _NOT_JSON_HTML)
        body = raw.encode() if isinstance(raw, str) else bytes(raw)
        return Reply(int(p.get("status", 200)), body, p.get("content_type", "text/html"))

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request (the whole of ``Sandbox.app``): routes on the raw path."""
        generation = self._generation
        raw_bytes: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        raw_path = raw_bytes.split(b"?", 1)[0].decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        headers = Headers(scope=scope)
        query_params = parse_qs(query, keep_blank_values=True)
        with self._lock:
            self._request_counter += 1
            request_id = f"req_{self._request_counter:016x}"
            matched = self._match(raw_path)
            params = matched[1] if matched else {}
            ctx = _Ctx(
                self,
                params,
                query_params,
                headers,
                request_id,
                raw_path,
                query,
                scope["method"],
                messages=self._messages,
                state=self._state,
            )
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
                    fault = self._take_fault(route.name, route.ids(ctx))
        if fault is not None and fault.kind == "stall":
            deadline = time.monotonic() + float(fault.params.get("seconds", 30.0))
            while time.monotonic() < deadline:
                if self._stopping.is_set() or self._generation != generation:
                    break
                await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        with self._lock:
            if self._generation != generation:
                reply = Reply.empty(503)  # the sandbox was reset under this request
            elif reply is None:
                assert route is not None
                reply = self._answer(ctx, route, fault)
            if self._generation == generation:
                self._record(
                    scope,
                    raw_path,
                    query,
                    headers,
                    reply.status,
                    route.name if route else None,
                    fault,
                )
        await _send(
            send,
            reply,
            reset=fault is not None and fault.kind == "reset",
            reset_length=fault.params.get("length") if fault else None,
        )

    def _rate_check(self, key: str) -> int | None:
        """Sliding window on the sandbox clock; the seconds to wait, or None if allowed."""
        assert self.rate_limit is not None
        limit, window = self.rate_limit
        now = self.clock.now()
        hits = self._windows.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return max(1, math.ceil(hits[0] + window - now))
        hits.append(now)
        return None

    def _record(
        self,
        scope: Scope,
        raw_path: str,
        query: str,
        headers: Headers,
        status: int,
        route: str | None,
        fault: Fault | None,
    ) -> None:
        masked: dict[str, str] = {}
        for name, value in headers.items():
            secret = name in SECRET_HEADERS or name in self.provider.secret_headers
            shown = "***" if secret else value
            masked[name] = f"{masked[name]}, {shown}" if name in masked else shown
        self._requests.append(
            RecordedRequest(
                method=scope["method"],
                raw_path=raw_path,
                path=scope["path"],
                query=query,
                query_params=parse_qs(query, keep_blank_values=True),
                headers=masked,
                status=status,
                route=route,
                fault=fault.kind if fault else None,
                at=self.clock.now(),
            )
        )


def _merge_fields(reply: Reply, fields: Mapping[str, Any] | None) -> Reply:
    """Override top-level keys of a JSON object body (e.g. an error's ``message``)."""
    if not fields or not reply.body:
        return reply
    body: Any = json.loads(reply.body)
    if not isinstance(body, dict):
        return reply
    return Reply.json({**cast(dict[str, Any], body), **fields}, reply.status, reply.headers)


def _with_header(reply: Reply, name: str, value: str | None) -> Reply:
    if value is None:
        return reply
    kept = tuple(h for h in reply.headers if h[0].lower() != name.lower())
    return Reply(reply.status, reply.body, reply.content_type, (*kept, (name, value)))


def _corrupt(value: Any, names: set[str] | None, inside: bool = False) -> Any:  # noqa: PLR0911
    """Every (or every named) leaf gets a plausible value of the wrong JSON type."""
    if isinstance(value, dict):
        items = cast(dict[str, Any], value)
        return {
            k: _corrupt(v, names, inside or names is None or k in names) for k, v in items.items()
        }
    if isinstance(value, list):
        elements: list[Any] = value  # pyright: ignore[reportUnknownVariableType]
        return [_corrupt(v, names, inside) for v in elements]
    if not inside:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 12345
    return False  # null -> a bool


class _Endpoint:
    """An ASGI callable (not a function, so Starlette hands it the raw scope)."""

    def __init__(self, handler: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(scope, receive, send)


async def _send(send: Send, reply: Reply, *, reset: bool, reset_length: Any) -> None:
    body = reply.body
    declared = len(body)
    cut = declared
    if reset:
        if declared < 2:
            declared = len(body) + 64
            cut = len(body)
        else:
            cut = int(reset_length) if reset_length is not None else declared // 2
            cut = max(0, min(cut, declared - 1))
    headers: list[tuple[bytes, bytes]] = []
    if reply.content_type is not None:
        headers.append((b"content-type", reply.content_type.encode("latin-1")))
    headers.append((b"content-length", str(declared).encode()))
    headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers)
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    if reset:
        # Part of the declared body, then return without finishing: uvicorn closes the
        # connection, the client sees a short body (a protocol/read error).
        await send({"type": "http.response.body", "body": body[:cut], "more_body": True})
        return
    await send({"type": "http.response.body", "body": body, "more_body": False})
