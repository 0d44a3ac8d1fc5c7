"""The sandbox: one provider's fake status API, with its state and its public controls.

Written once for all providers; each provider module (``testing/<key>.py``) declares a
:class:`~sms_status.testing._base.ProviderDef` that a ``Sandbox`` serves. The parts live beside
this module: ``_clock`` (clocks), ``_store`` (the ``MessageStore``: messages, lifecycles and
the lock), ``_answer`` (answering requests: the router, faults, the request log),
``_faults`` (injected faults), ``_dispatch`` (routing, auth, rate windows), ``_webhooks``
(the webhook sender) and ``_server`` (the uvicorn thread and the ASGI edge). Each is handed
what it needs (the store, the settings, the provider's fake), never the ``Sandbox``. The
names they export are re-exported here too.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, Self, cast

from starlette.applications import Starlette
from starlette.routing import Route

from sms_status.testing._answer import Answering, Settings
from sms_status.testing._base import Example, ProviderDef
from sms_status.testing._clock import Clock, FakeClock, RealClock
from sms_status.testing._dispatch import SECRET_HEADERS, RecordedRequest
from sms_status.testing._faults import FAULT_KINDS, Fault, make_fault
from sms_status.testing._keys import DEMO_KEYS, PROVIDER_KEYS
from sms_status.testing._server import AsgiEndpoint, ServerThread
from sms_status.testing._store import (
    DEFAULT_TENANT,
    Lifecycle,
    MessageHandle,
    MessageStore,
    parse_lifecycle,
)

if TYPE_CHECKING:
    from typing import Unpack

    from sms_status._options import AsyncSandboxClientOptions, SandboxClientOptions
    from sms_status.client import AsyncStatusClient, StatusClient
    from sms_status.testing._webhooks import WebhookDelivery, WebhookDispatcher


def _check_rate_limit(value: object) -> None:
    """`(requests >= 1, window_seconds > 0)`, both finite, or None: a nan or an inf made every
    request of a limited route a bare 500 (or never limited)."""
    if value is None:
        return
    requests, window = cast("tuple[float, float]", value)
    if not (1 <= requests < math.inf and 0 < window < math.inf):
        raise ValueError("rate_limit is (requests >= 1, window_seconds > 0), finite, or None")


__all__ = [
    "DEFAULT_TENANT",
    "FAULT_KINDS",
    "SECRET_HEADERS",
    "Clock",
    "FakeClock",
    "Fault",
    "MessageHandle",
    "RealClock",
    "RecordedRequest",
    "Sandbox",
    "load_provider",
]


class _Default:
    def __repr__(self) -> str:
        return "<provider default>"


_DEFAULT: Final = _Default()


def load_provider(key: str) -> ProviderDef:
    """The fake of provider ``key`` (``testing/<key>.py``'s ``PROVIDER``)."""
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
    - ``rate_limit``: ``(requests, window_seconds)`` per key (per account for telecom23, as
      its docs count) on the rate-limited routes, or None
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
        history_before: Literal["strict", "inclusive"] = "strict",
        invalid_query: Literal["lenient", "reject"] = "lenient",
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
        if isinstance(rate_limit, _Default):
            rate_limit = self.provider.default_rate_limit
        _check_rate_limit(rate_limit)
        options = {
            "history_before": history_before,
            "invalid_query": invalid_query,
            "signing_secret": signing_secret,
        }
        self._settings = Settings(
            clock=clock if clock is not None else RealClock(),
            options=options,
            rate_limit=rate_limit,
            tenants={self._api_key: DEFAULT_TENANT},
        )
        self._seed = seed
        self._defaults = (self.api_key, rate_limit, dict(options))
        self._store = MessageStore(self._now)
        self._lock = self._store.lock  # the sandbox's other state shares the store's lock
        self._answering = Answering(self.provider, self._store, self._settings)
        self._server = ServerThread(key)
        self._base_url: str | None = None
        self.app: Starlette = Starlette(
            routes=[Route("/{path:path}", endpoint=AsgiEndpoint(self._answering))]
        )
        self._webhooks: WebhookDispatcher | None = None
        # The dispatchers stopped since `reset()`: their logs stay readable, and grow by a
        # delivery that was under way at the stop.
        self._stopped_webhooks: list[WebhookDispatcher] = []
        if seed:
            self.seed_examples()

    def __repr__(self) -> str:
        where = self._base_url or "not serving"
        return f"Sandbox({self.key!r}, {where})"

    @property
    def clock(self) -> Clock:
        """The sandbox clock (settable, e.g. ``sb.clock = FakeClock()``)."""
        return self._settings.clock

    @clock.setter
    def clock(self, value: Clock) -> None:
        self._settings.clock = value

    @property
    def rate_limit(self) -> tuple[int, float] | None:
        """``(requests, window_seconds)`` per key (telecom23: per account) on the
        rate-limited routes, or None."""
        return self._settings.rate_limit

    @rate_limit.setter
    def rate_limit(self, value: tuple[int, float] | None) -> None:
        _check_rate_limit(value)
        self._settings.rate_limit = value

    @property
    def options(self) -> dict[str, Any]:
        """The sandbox's options (``history_before``, ``signing_secret``, ...), changeable."""
        return self._settings.options

    @options.setter
    def options(self, value: dict[str, Any]) -> None:
        self._settings.options = value

    @property
    def api_key(self) -> str:
        """The default tenant's key (settable: the old one stops working)."""
        return self._api_key

    @api_key.setter
    def api_key(self, value: str) -> None:
        with self._lock:
            tenants = self._settings.tenants
            if tenants.get(self._api_key) == DEFAULT_TENANT:
                del tenants[self._api_key]
            self._api_key = value
            tenants[value] = DEFAULT_TENANT

    # -- tenants and messages ----------------------------------------------------------------

    def add_tenant_key(self, api_key: str, tenant: str | None = None) -> str:
        """Accept ``api_key`` too, as tenant ``tenant`` (default: a tenant of its own)."""
        name = tenant if tenant is not None else api_key
        with self._lock:
            self._settings.tenants[api_key] = name
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
        steps = parse_lifecycle(
            statuses if statuses is not None else self.provider.default_statuses
        )
        if advance == "poll":
            step_seconds: float | None = None
        elif isinstance(advance, int | float) and not isinstance(advance, bool):
            if not 0 <= advance < math.inf:  # nan: every request for it a bare 500
                raise ValueError("advance seconds must be finite and >= 0")
            step_seconds = float(advance)
        else:
            raise ValueError("advance is 'poll' or a number of seconds")
        return self._add(message_id, steps, step_seconds, tenant, fields, None)

    def _add(
        self,
        message_id: str,
        steps: Lifecycle,
        step_seconds: float | None,
        tenant: str | None,
        fields: dict[str, Any],
        verbatim: Any,
    ) -> MessageHandle:
        return self._store.add(message_id, steps, step_seconds, tenant, fields, verbatim)

    def _now(self) -> float:
        # Read through ``self.clock`` each time: the clock is settable after construction.
        return self.clock.now()

    def remove_message(self, message_id: str, tenant: str | None = None) -> None:
        self._store.remove(message_id, tenant)

    def seed_examples(self) -> list[MessageHandle]:
        """Store the spec's example messages; each is served byte-for-byte for its own id."""
        return [self._seed_one(example) for example in self.provider.examples]

    @property
    def example_ids(self) -> tuple[str, ...]:
        """The ids of the spec's example messages (served when ``seed`` is on): ids to try,
        e.g. ``sms-status status --provider KEY <id>`` against ``sms-status sandbox``."""
        return tuple(example.id for example in self.provider.examples)

    def _seed_one(self, example: Example) -> MessageHandle:
        return self._add(
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
        ``fields={...}`` to override keys of a JSON object body, and ``retry_after``),
        ``proxy_502_html`` (status=502), ``truncated_json`` (length), ``wrong_types``
        (fields: names to corrupt, default all), ``unknown_status`` (value),
        ``status_code`` (status, body, content_type), ``stall`` (seconds=30.0),
        ``reset`` (length: bytes sent before the drop), ``not_json`` (status=200, body,
        content_type). Faults are tried in injection order; one fault shapes a request.
        """
        fault = make_fault(
            self.provider, self._answering.route_names, kind, message_id, route, times, params
        )
        self._answering.add_fault(fault)
        return fault

    def clear_faults(self) -> None:
        self._answering.clear_faults()

    @property
    def faults(self) -> list[Fault]:
        return self._answering.active_faults()

    # -- request log and reset ---------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._answering.requests()

    def clear_requests(self) -> None:
        self._answering.clear_requests()

    def reset(self) -> None:
        """Forget messages, faults, requests, rate windows and webhooks (examples are re-seeded).

        Requests still in flight (e.g. stalled) are answered 503 at once, and not logged.
        """
        self._close_webhooks()  # outside the lock: its thread takes the lock to read the store
        with self._lock:
            self._answering.reset()
            self._store.clear()
            self._settings.tenants.clear()
            self._settings.tenants[self._api_key] = DEFAULT_TENANT
        if self._seed:
            self.seed_examples()

    def restore_defaults(self) -> None:
        """Put ``api_key``, ``rate_limit`` and ``options`` back as constructed, then ``reset()``."""
        api_key, rate_limit, options = self._defaults
        with self._lock:
            self._api_key, self.rate_limit, self.options = api_key, rate_limit, dict(options)
        self.reset()

    # -- webhooks (sent by sms_status.testing._webhooks) ----------------------------------------

    def add_webhook(self, url: str, *, secret: str | None = None) -> None:
        """POST each status change of this sandbox's messages to ``url``, as the provider does.

        Driven by the sandbox clock (nobody needs to poll): shaped, signed (telecom23, seven:
        signing secret; lisoloo: ``"user:password"`` for Basic auth; namirial, roycetalk:
        unsigned, ``secret=None``) and retried on non-2xx as the provider documents. Every
        attempt lands in ``webhook_deliveries``; ``wait_for_webhooks`` blocks until they do.
        Signed timestamps are the sandbox clock's: a receiver checks them on that clock
        (``webhooks.app(..., clock=sandbox.clock.now)``, ``webhooks.parse(..., now=...)``),
        or a `FakeClock`'s date is refused as outside the tolerance.
        """
        from sms_status.testing._webhooks import WebhookDispatcher

        if self.provider.webhook is None:
            raise ValueError(f"{self.key} documents no webhooks")
        if self._webhooks is None:
            self._webhooks = WebhookDispatcher(self.key, self.provider.webhook, self._store)
        self._webhooks.add(url, secret)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook POST attempt since `reset()`, oldest first (``Authorization``
        masked), those made before a `stop()` included."""
        dispatchers = [*self._stopped_webhooks, *([self._webhooks] if self._webhooks else [])]
        return [delivery for dispatcher in dispatchers for delivery in dispatcher.deliveries]

    def wait_for_webhooks(
        self,
        count: int = 1,
        *,
        timeout: float = 10.0,
        where: Callable[[WebhookDelivery], bool] | None = None,
    ) -> list[WebhookDelivery]:
        """Block until ``count`` attempts (matching ``where``) are logged; TimeoutError if not.
        Counted from the current subscriptions' first attempt (after a `stop()`, the last
        stopped ones': one under way at the stop is logged when it ends)."""
        dispatcher = self._webhooks
        if dispatcher is None and self._stopped_webhooks:
            dispatcher = self._stopped_webhooks[-1]
        if dispatcher is None:
            raise RuntimeError("no webhook was added: use sandbox.add_webhook(url)")
        return dispatcher.wait(count, timeout, where)

    def _close_webhooks(self, *, keep_log: bool = False) -> None:
        dispatcher, self._webhooks = self._webhooks, None
        if dispatcher is not None:
            dispatcher.close()
            if keep_log:  # read after a `with sb.serve():` block, as `requests` is
                self._stopped_webhooks.append(dispatcher)
        if not keep_log:
            self._stopped_webhooks = []

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
        self._answering.stopping.clear()
        self._base_url = self._server.start(self.app, host, port)
        return self

    def stop(self) -> None:
        """Stop serving and sending webhooks (idempotent); stalled requests are cut short.
        The logs stay readable (`requests`, `webhook_deliveries`) until `reset()`."""
        self._close_webhooks(keep_log=True)
        if not self._server.running:
            return
        self._answering.stopping.set()
        self._server.stop()
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

    def connect(self, **options: Unpack[SandboxClientOptions]) -> StatusClient:
        """A blocking client for this sandbox: its origin and key, and its clock, so the
        client's polling and retry waits advance a ``FakeClock`` instead of sleeping.
        ``options`` are `sms_status.connect`'s; a signing sandbox's ``signing_secret`` is the
        client's too. Close it (``with sb.connect() as client:``). Typed ``StatusClient`` for
        every provider (a sandbox is not generic in its key: a ``list[Sandbox]`` holds any);
        ``isinstance(client, sms_status.HistoryClient)`` narrows a namirial one."""
        import sms_status

        options.setdefault("clock", self.clock.monotonic)
        options.setdefault("sleep", self.clock.sleep)
        self._sign_as_the_sandbox(options)
        return sms_status.connect(
            sms_status.provider_key(self.key),
            api_key=self.api_key,
            base_url=self.base_url,
            **options,
        )

    def connect_async(self, **options: Unpack[AsyncSandboxClientOptions]) -> AsyncStatusClient:
        """The asyncio twin of :meth:`connect` (a ``FakeClock``'s sleeps yield to the loop)."""
        import sms_status

        options.setdefault("clock", self.clock.monotonic)
        async_sleep = getattr(self.clock, "async_sleep", None)
        if async_sleep is not None:
            options.setdefault("sleep", async_sleep)
        self._sign_as_the_sandbox(options)
        return sms_status.connect_async(
            sms_status.provider_key(self.key),
            api_key=self.api_key,
            base_url=self.base_url,
            **options,
        )

    def _sign_as_the_sandbox(self, options: Any) -> None:
        """A sandbox that refuses unsigned requests hands its clients its signing secret
        (telecom23's: another provider's client takes none, and its sandbox checks none)."""
        from sms_status._registry import load_provider

        secret = self.options.get("signing_secret")
        if secret is not None and load_provider(self.key).sign is not None:
            options.setdefault("signing_secret", secret)
