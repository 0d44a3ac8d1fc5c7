"""`sms-status listen`: receive a provider's webhooks and print each verified report live.

Runs `sms_status.webhooks.app` under uvicorn. Each verified delivery is printed at once: a
coloured line on a terminal, a plain line otherwise, one JSON object per line with `--json`.
Refused deliveries (401/400/413, …) are printed on stderr with their reason (never their
headers; a malformed body's reason may quote a field of it, escaped) and counted at exit.
The merged
view (`webhooks.merge`, one report per message, per recipient for lisoloo) is kept for
`Receiver.latest`, for the last `KEPT_AT_MOST` messages.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, NoReturn

import click

from sms_status._registry import PROVIDERS, REGISTRY
from sms_status.cli import _exit
from sms_status.cli._terminal import safe, shown

if TYPE_CHECKING:
    from sms_status.report import StatusReport
    from sms_status.testing import Sandbox
    from sms_status.webhooks import WebhookEvent


Key = tuple[str, str | None]
"""A message id, and the recipient of a lisoloo per-recipient event (None otherwise): what
one merged report stands for."""

KEPT_AT_MOST = 10_000
"""Messages whose merged report `listen` keeps (about 1.5 kB each), the least recently
reported forgotten first: a long-running listener stays bounded."""


def key_of(report: StatusReport) -> Key:
    """lisoloo reports a message per recipient: each is merged on its own (the others'
    reports share one message id)."""
    return report.message_id, report.recipient if report.provider == "lisoloo" else None


class Receiver:
    """The state behind `listen`: the merged view of the reports received so far, for the
    `KEPT_AT_MOST` messages reported last."""

    def __init__(self, show: Callable[[WebhookEvent, StatusReport], None] | None = None) -> None:
        self._show = show
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.latest: dict[Key, StatusReport] = {}
        """`key_of(report)` -> the report `webhooks.merge` keeps, least recently reported
        first."""
        self.received = 0

    def __call__(self, event: WebhookEvent) -> None:
        from sms_status import webhooks

        key = key_of(event.report)
        with self._arrived:
            current = self.latest.pop(key, None)
            kept = event.report if current is None else webhooks.merge(current, event.report)
            self.latest[key] = kept
            if len(self.latest) > KEPT_AT_MOST:
                del self.latest[next(iter(self.latest))]
            self.received += 1
            self._arrived.notify_all()
        if self._show is not None:
            self._show(event, kept)

    def wait_until(self, done: Callable[[dict[Key, StatusReport]], bool], timeout: float) -> bool:
        """Block until `done(latest)` holds (True) or `timeout` seconds pass (False)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: done(dict(self.latest)), timeout)


def _not_kept(report: StatusReport, kept: StatusReport) -> str:
    """Why `report` is not the one `merge` keeps: "" when it is."""
    if kept is report:
        return ""
    fields = ("provider_status", "state", "is_final", "updated_at")
    if all(getattr(report, f) == getattr(kept, f) for f in fields):
        return "  (a repeat of the report kept)"  # a provider's retry, say
    if kept.is_final and not report.is_final:
        return "  (the final report kept stays)"
    older = report.updated_at and kept.updated_at and report.updated_at < kept.updated_at
    if older:
        return "  (older than the report kept)"
    return "  (not newer than the report kept, which stays)"


def printer(as_json: bool, interactive: bool) -> Callable[[WebhookEvent, StatusReport], None]:
    from sms_status.cli import _render

    if as_json:

        def show_json(event: WebhookEvent, kept: StatusReport) -> None:
            data: dict[str, Any] = {
                "event_id": event.event_id,
                "kind": event.kind,
                "report": event.report.to_dict(),
                "kept": kept is event.report,
            }
            click.echo(json.dumps(data))

        return show_json
    if interactive:
        from rich.console import Console
        from rich.text import Text

        console = Console()

        def show_rich(event: WebhookEvent, kept: StatusReport) -> None:
            state = event.report.state.value
            style = (
                "green" if event.report.is_delivered else "red" if event.report.is_final else "cyan"
            )
            style = "magenta" if state in ("unknown", "unrecognized") else style
            line = Text(f"{event.provider:10} ")
            # An id the terminal cannot encode (LANG=C) was an error in a worker thread:
            # the report answered 200 and never printed.
            line.append(shown(_render.line(event.report), console.encoding), style=style)
            line.append(_not_kept(event.report, kept), style="dim")
            console.print(line)

        return show_rich

    def show_line(event: WebhookEvent, kept: StatusReport) -> None:
        line = f"{event.provider} {_render.line(event.report)}{_not_kept(event.report, kept)}"
        click.echo(shown(line, getattr(sys.stdout, "encoding", None)))

    return show_line


class Refusals(logging.Handler):
    """Each delivery the app refused (its INFO record: status and reason, never the headers),
    counted for the line at exit and printed on stderr by a thread of its own: the server's
    loop never waits on a slow or closed stderr (an unsigned provider's sender is anyone).
    Past `BACKLOG` lines waiting, a line is dropped and counted."""

    BACKLOG = 1000
    CLOSE_SECONDS = 2.0
    """At exit, how long the lines still waiting and the summary may take to print."""

    def __init__(self, *, echo: bool = True) -> None:
        super().__init__(logging.INFO)
        self._echo = echo  # False under --debug: its log prints each record already
        self.by_status: Counter[int] = Counter()
        self.dropped = 0
        self._lines: queue.Queue[str | None] = queue.Queue(self.BACKLOG)
        self._printer = threading.Thread(target=self._print, name="sms-status-refusals")
        self._printer.daemon = True  # a stderr that never drains must not hold the exit
        self._printer.start()
        self._closed = False

    def emit(self, record: logging.LogRecord) -> None:
        status = getattr(record, "status", None)
        if isinstance(status, int):
            self.by_status[status] += 1
            if self._echo:
                self._say(record.getMessage())
        elif record.levelno >= logging.ERROR and self._echo:
            # A report not printed: with this handler there, nothing else says it.
            error = record.exc_info[1] if record.exc_info else None
            self._say(record.getMessage() + (f": {type(error).__name__}: {error}" if error else ""))

    def _say(self, line: str) -> None:
        try:
            self._lines.put_nowait(safe(line))
        except queue.Full:
            self.dropped += 1

    def _print(self) -> None:
        while (line := self._lines.get()) is not None:
            with contextlib.suppress(OSError):  # its reader left: the lines are lost
                click.echo(line, err=True)

    def close(self) -> None:
        """Print what is waiting, then the summary line, `CLOSE_SECONDS` at most in all (by
        the printing thread: a stuck stderr never holds the exit); then stop that thread.
        Once: `logging.shutdown` closes it again."""
        if self._closed:
            return
        self._closed = True
        ends = time.monotonic() + self.CLOSE_SECONDS
        said = self.summary()
        for line in [said, None] if said else [None]:  # the summary, then the thread's end
            with contextlib.suppress(queue.Full):
                self._lines.put(line, timeout=max(0.0, ends - time.monotonic()))
        self._printer.join(max(0.0, ends - time.monotonic()))
        super().close()

    def summary(self) -> str | None:
        if not self.by_status:
            return None
        counted = ", ".join(f"{n} x {s}" for s, n in sorted(self.by_status.items()))
        unsaid = f"; {self.dropped} not printed, stderr was behind" if self.dropped else ""
        total = sum(self.by_status.values())
        noun = "delivery" if total == 1 else "deliveries"
        return f"{total} {noun} refused ({counted}{unsaid})"


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _leave(code: object) -> NoReturn:
    """Exit now, what is printed flushed (2 s at most): a report still being printed to a
    stdout nobody reads (a paused `| less`) held the interpreter's exit for ever, in the
    join of the receiver's worker threads, long after the drain gave up."""
    flushing = threading.Thread(target=_flush_outputs, daemon=True)
    flushing.start()
    flushing.join(2.0)
    os._exit(code if isinstance(code, int) else 1)


def _flush_outputs() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


@contextlib.contextmanager
def reporting_refusals() -> Generator[Refusals]:
    webhooks_log = logging.getLogger("sms_status.webhooks")
    # --debug sets the SDK's logger to DEBUG and prints each record: said once, not twice.
    debugging = logging.getLogger("sms_status").isEnabledFor(logging.DEBUG)
    refusals, level = Refusals(echo=not debugging), webhooks_log.level
    webhooks_log.addHandler(refusals)
    if not webhooks_log.isEnabledFor(logging.INFO):
        webhooks_log.setLevel(logging.INFO)
    try:
        yield refusals
    finally:
        webhooks_log.removeHandler(refusals)
        webhooks_log.setLevel(level)
        refusals.close()  # prints the summary


def build(
    provider: str,
    secret: str | None,
    receiver: Receiver,
    *,
    url: str | None = None,
    clock: Callable[[], float] | None = None,
) -> Any:
    """The ASGI app `listen` serves (also used by `demo`)."""
    from sms_status import webhooks

    return webhooks.app(provider, secret=secret, on_report=receiver, url=url, clock=clock)


@click.command(epilog=_exit.help_text())
@click.option(
    "--provider",
    "-p",
    type=click.Choice([k for k in PROVIDERS if REGISTRY[k].webhooks != "none"]),
    required=True,
)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--secret",
    help="Signing secret (lisoloo: user:password); default $SMS_STATUS_<PROVIDER>_WEBHOOK_SECRET.",
)
@click.option("--url", help="seven: the public URL seven calls (it is signed).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per report.")
def listen(
    provider: str, port: int, host: str, secret: str | None, url: str | None, as_json: bool
) -> None:
    """Receive webhooks and print each verified delivery report live."""
    import uvicorn

    from sms_status.webhooks._app import DRAIN_SECONDS

    variable = f"SMS_STATUS_{provider.upper()}_WEBHOOK_SECRET"
    secret = secret or os.environ.get(variable) or None
    signed = REGISTRY[provider].webhooks == "signed"
    if signed and not secret:
        raise click.UsageError(f"{provider} webhooks are signed: pass --secret or set {variable}")
    if not signed and secret:
        raise click.UsageError(f"{provider} documents no webhook signature: drop --secret")
    servers: list[uvicorn.Server] = []
    output_closed = threading.Event()
    show = printer(as_json, sys.stdout.isatty())

    output_failures: list[OSError] = []

    def show_until_closed(event: WebhookEvent, kept: StatusReport) -> None:
        # Printed in the app's worker threads, where the command group never sees a failed
        # write: the reader left (`| head`: exit 141), or the output cannot be written (a
        # full disk: exit 74). Either way serving stops, rather than answering 200 for
        # reports that go nowhere.
        if output_closed.is_set():
            return
        try:
            show(event, kept)
        except OSError as error:
            output_failures.append(error)
            output_closed.set()
            servers[0].should_exit = True

    app = build(provider, secret, Receiver(show_until_closed), url=url)
    listener = listening_socket(host, port)  # before the banner: connections are accepted
    origin = http_origin(host, listener.getsockname()[1])  # --port 0: the system's choice
    click.echo(f"listening for {provider} webhooks on {origin}/", err=True)
    # Lifespan on: at shutdown the app waits for reports still being printed; requests still
    # waiting for theirs are cut after as long (uvicorn waits for ever by default).
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", timeout_graceful_shutdown=int(DRAIN_SECONDS)
    )
    servers.append(uvicorn.Server(config))
    # uvicorn raises the signal that stopped it again once it has shut down: SIGTERM (kill,
    # docker stop, systemd) then ended the process before the count of refusals was printed.
    # As an exception it unwinds through that instead, and exits 143 all the same.
    main = threading.current_thread() is threading.main_thread()  # where handlers are set
    before = signal.signal(signal.SIGTERM, _terminated) if main else None
    try:
        with reporting_refusals():
            servers[0].run(sockets=[listener])
    except SystemExit as stopped:  # SIGTERM: the count is out (`reporting_refusals`)
        _leave(stopped.code)
    finally:
        if main:
            signal.signal(signal.SIGTERM, before)
    if output_failures:
        raise output_failures[0]  # the command group: 141 for a closed pipe, else 74


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on `host` (an IPv6 address too) and `port`; a usage error if it
    cannot be had (a busy port, an address not of this machine)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family)
    except OSError as exc:
        where = http_origin(host, port).removeprefix("http://")
        raise click.UsageError(f"cannot listen on {where}: {exc.strerror}") from None


def http_origin(host: str, port: int) -> str:
    """`http://host:port`, an IPv6 address in brackets (`http://[::1]:8080`)."""
    return f"http://[{host.strip('[]')}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.contextmanager
def serving(app: Any, host: str = "127.0.0.1") -> Generator[str]:
    """Serve `app` under uvicorn from a background thread; yields its origin."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="sms-status-listen", daemon=True)
    thread.start()
    while not server.started:  # uvicorn's own readiness flag
        if not thread.is_alive():
            raise RuntimeError("the webhook receiver failed to start")
        time.sleep(0.002)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        drain = getattr(app, "drain", None)  # a webhooks.Receiver: its worker threads
        if drain is not None:
            drain()


DEMO_LIFECYCLES = {
    "77990000001": ("ACCEPTED", "TRANSMITTED", "DELIVERED"),
    "77990000002": ("ACCEPTED", "NOTDELIVERED"),
    "77990000003": ("ACCEPTED", "BUFFERED", "TRANSMITTED", "DELIVERED"),
}


def demo(sandbox: Sandbox, *, step_seconds: float = 0.2, timeout: float = 30.0) -> tuple[str, bool]:
    """`demo`'s webhook step: seven's sandbox pushes signed DLRs to `listen`'s app (nobody
    polls); once every message is final there, one poll must agree with the merged view."""
    import secrets

    sandbox.reset()  # only this step's messages: the sandbox pushes every change it holds
    secret = "whsec_demo_" + secrets.token_hex(8)
    receiver = Receiver(printer(as_json=False, interactive=False))
    app = build(sandbox.key, secret, receiver, clock=sandbox.clock.now)
    with serving(app) as origin:
        sandbox.add_webhook(f"{origin}/hooks/{sandbox.key}", secret=secret)
        for message_id, statuses in DEMO_LIFECYCLES.items():
            sandbox.add_message(message_id, statuses=statuses, advance=step_seconds)
        ids = list(DEMO_LIFECYCLES)
        finished = receiver.wait_until(
            lambda latest: all((i, None) in latest and latest[i, None].is_final for i in ids),
            timeout,
        )
    with sandbox.connect() as client:
        polled = client.get_statuses(ids)
    agree = finished and all(
        (receiver.latest[key_of(r)].state, receiver.latest[key_of(r)].is_final)
        == (r.state, r.is_final)
        for r in polled
    )
    verdict = "agrees with" if agree else "DIFFERS from"
    click.echo(f"{receiver.received} webhooks received; the merged view {verdict} polling")
    return f"{receiver.received} pushed, merged = polled", agree
