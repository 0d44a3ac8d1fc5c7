"""`sms-status track`: settle every id of a file, through a tracker store, to its outcome.

`sms-status track --provider KEY [--store PATH] [--deadline 72h] [--json] IDS_FILE|-` adds the
ids to the store (`tracking.Tracker.add_many`: every id is checked before any is stored) and
runs the tracker until every message in the store is settled and handed over. A live view on
a terminal, plain progress lines otherwise, one JSON line per outcome with `--json`.
`--webhook-port N` also receives the provider's webhooks in the same process
(`webhooks.app(..., on_reports=tracker.ingest_many)` under uvicorn, in a thread). All state
is in the store: Ctrl-C (or a kill) loses nothing, and the same command run again resumes.
`--summary` prints a store's counts.

The exit code speaks for the whole store, as `--summary` shows it: 0 when every message was
delivered, 1 when one ended undelivered or unknown to the provider, 2 when one hit its
deadline (`_exit.for_track`).

Here: the command and the run. What a run shows is in `_track_view`, the webhook receiver in
`_track_webhooks`, the time it runs on in `_track_clock`; the demo's step that kills and
restarts it is `_demo_tracking`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import click

from sms_status._registry import PROVIDERS
from sms_status.cli import _exit
from sms_status.cli._invocation import api_key_option, base_url_option, read_api_key
from sms_status.cli._terminal import masked, safe
from sms_status.cli._track_clock import SpedClock, TrackClock
from sms_status.cli._track_input import Duration, read_ids
from sms_status.cli._track_view import Progress, counted, summary_json, summary_lines
from sms_status.cli._track_webhooks import WebhookOptions, bind, serve, webhook_options

if TYPE_CHECKING:
    import httpx

    from sms_status.client import StatusClient
    from sms_status.tracking import Outcome, SqliteStore

DEFAULT_STORE = "sms-status-track.db"
IDLE_LOOK = 1.0
"""Real seconds the tracker waits at most before it looks at the store (and the view) again."""


class StoreError(ValueError):
    """The store cannot be used (not a tracker store, newer layout, another tracker runs on
    it, none at that path): a usage problem, shown as one line, exit 3."""


# -- the run -----------------------------------------------------------------------------------


def _open_store(
    path: str, *, create: bool, synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
) -> SqliteStore:
    from sms_status import tracking

    if not create and not Path(path).exists():
        raise StoreError(f"no tracker store at {path}")
    if not create and Path(path).is_file() and Path(path).stat().st_size == 0:
        # SQLite would take it for a new store and write one into it (`--summary` reads only)
        raise StoreError(f"{path} is empty: not a tracker store")
    try:
        return tracking.SqliteStore(path, synchronous=synchronous)
    except tracking.StoreVersionError as error:
        raise StoreError(str(error)) from None
    except sqlite3.OperationalError as error:  # no such directory, no permission
        raise StoreError(f"cannot open the store {path}: {error}") from None
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path} is not a tracker store: {error}") from None


def print_summary(path: str, *, as_json: bool) -> None:
    """`track --summary`."""
    store = _open_store(path, create=False)
    try:
        counts = store.counts()
    finally:
        store.close()
    if as_json:
        click.echo(summary_json(path, counts))
    else:
        for line in summary_lines(path, counts):
            click.echo(line)


def _clients(
    stack: contextlib.ExitStack,
    provider: str,
    api_key: str,
    base_url: str | None,
    clock: TrackClock,
    count: Callable[[httpx.Request], None],
) -> dict[str, StatusClient[Any]]:
    """A client for `provider`, and for every other provider whose key is in the environment:
    a store may hold their ids too. Connected here (not by the tracker on first need) so
    they run on this clock and their requests are counted (`count`, an httpx event hook),
    with the environment's proxy read as the SDK reads it (httpx's own reading failed on a
    SOCKS one of no use). Another provider whose client cannot be made here is skipped."""
    import httpx

    import sms_status
    from sms_status import _environment
    from sms_status._base_client import own_transport
    from sms_status._registry import load_provider
    from sms_status._transport.tls import default_ssl_context
    from sms_status.errors import MissingProviderError, TransportError
    from sms_status.tracking._tracker import OWN_CLIENT_RETRIES

    clients: dict[str, StatusClient[Any]] = {}
    for key in PROVIDERS:
        if key != provider and not os.environ.get(f"SMS_STATUS_{key.upper()}_API_KEY"):
            continue
        given = _environment.base_url(key, base_url if key == provider else None)
        try:
            proxy = own_transport(load_provider(key), given)
            http = stack.enter_context(
                httpx.Client(
                    event_hooks={"request": [count]},
                    verify=default_ssl_context(),  # SSL_CERT_FILE too, as httpx's reading had it
                    **proxy,
                )
            )
            made = sms_status.connect(
                sms_status.provider_key(key),
                api_key=api_key if key == provider else None,
                base_url=given,
                clock=clock.monotonic,
                sleep=clock.sleep,
                max_retries=OWN_CLIENT_RETRIES,  # as the tracker's own: its rules retry
                http_client=http,
            )
        except (MissingProviderError, TransportError, ValueError) as error:
            if key == provider:
                raise
            if not isinstance(error, MissingProviderError):  # its ids wait for another run
                why = f"{safe(str(error))} (SMS_STATUS_{key.upper()}_*)"  # a bad base URL, say
                click.echo(f"warning: not polling {key} here: {why}", err=True)
            continue
        clients[key] = stack.enter_context(made)
    return clients


class _Run:
    """One `track` run: the tracker, its waits, its hand-overs, its webhooks and its view."""

    def __init__(
        self,
        store: SqliteStore,
        path: str,
        clock: TrackClock,
        *,
        as_json: bool,
        tty: bool,
        secret: str,
    ) -> None:
        self.store, self.path, self.clock = store, path, clock
        self.as_json, self.tty, self.secret = as_json, tty, secret
        self.requests = 0
        self._lock = threading.Lock()
        self.wake = threading.Event()
        """Set when a push changed the store: the tracker looks again at once."""
        self.progress: Progress | None = None
        self.stop: Callable[[], None] = lambda: None
        """Ends the tracker's run (set once it exists)."""
        self.output_failure: OSError | None = None
        """A write of an outcome that failed (`| head` left, a full disk): the run ends."""

    def count_request(self, _request: httpx.Request) -> None:
        with self._lock:
            self.requests += 1

    def on_final(self, outcome: Outcome) -> None:
        if self.as_json:
            try:
                click.echo(json.dumps(masked(outcome.to_dict(), self.secret)))
            except OSError as error:
                # The reader left (`| head`), or the output cannot be written (a full disk):
                # this outcome was not handed over (the store keeps it for the next run);
                # end the run instead of retrying into the void for ever.
                self.output_failure = error
                self.stop()
                raise
        assert self.progress is not None
        self.progress.handed_over += 1
        if not self.tty:
            self.progress.maybe_print()

    def pause(self, seconds: float) -> None:
        """The tracker's sleep: on real (or sped) time, cut short by a push."""
        if not self.tty and self.progress is not None:
            self.progress.maybe_print()
        clock = self.clock
        if isinstance(clock, SpedClock):
            if self.wake.wait(min(clock.real_seconds(seconds), IDLE_LOOK)):
                self.wake.clear()
        elif self.wake.is_set():  # a test's clock: a push came in, look before time moves
            self.wake.clear()
        else:
            clock.sleep(seconds)

    def interrupted(self) -> int:
        counts = self.store.counts()
        click.echo("", err=True)
        click.echo(
            f"interrupted: {counts.in_flight} in flight and {counts.awaiting_handover} awaiting "
            f"hand-over stay in {safe(self.path)}; run the same command again to resume",
            err=True,
        )
        return _exit.INTERRUPTED

    def finished(self) -> int:
        assert self.progress is not None
        counts = self.store.counts()
        pushed = f", {self.progress.received} webhooks received" if self.progress.receiving else ""
        click.echo(
            f"done after {self.progress.elapsed():.1f}s: "
            f"{counted(self.progress.handed_over, 'outcome')} handed over, "
            f"{counted(self.requests, 'request')}{pushed}",
            err=self.as_json,
        )
        for line in summary_lines(self.path, counts):
            click.echo(line, err=self.as_json)
        return _exit.for_track(counts)


def _refuse_if_running(store: SqliteStore, store_path: str) -> None:
    """Another tracker runs on the store: a usage error, nothing added (its ids would have
    kept that run going, past its own --deadline)."""
    from sms_status import tracking

    try:
        with store.running():
            pass
    except tracking.StoreBusyError as error:
        holder = re.search(r"\(pid [^)]*\)", str(error))
        raise StoreError(
            f"another tracker is running on this store{'' if holder is None else ' ' + holder[0]}"
            f": ids not added; let it finish, or use another --store than {safe(store_path)}"
        ) from None


def run(
    provider: str,
    api_key: str,
    base_url: str | None,
    ids: list[str],
    *,
    store_path: str,
    deadline: float,
    as_json: bool,
    clock: TrackClock,
    webhook: WebhookOptions | None = None,
    interactive: bool | None = None,
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
) -> int:
    """Add `ids` and run until the store is settled; the exit code (`_exit.for_track`)."""
    from sms_status import tracking
    from sms_status.errors import AuthenticationError

    tty = (sys.stdout.isatty() if interactive is None else interactive) and not as_json
    with contextlib.ExitStack() as stack:
        listener = None if webhook is None else stack.enter_context(bind(webhook))
        store = _open_store(store_path, create=True, synchronous=synchronous)
        stack.callback(store.close)
        state = _Run(store, store_path, clock, as_json=as_json, tty=tty, secret=api_key)
        clients = _clients(stack, provider, api_key, base_url, clock, state.count_request)
        progress = Progress(store, store_path, provider, clock, lambda: state.requests, err=as_json)
        state.progress = progress
        tracker = tracking.Tracker(
            store,
            on_final=state.on_final,
            clients=clients,
            deadline=deadline,
            clock=clock.now,
            sleep=state.pause,
            # Receiving its webhooks here: polling is only the safety net from the start.
            webhooks=() if webhook is None else (provider,),
        )
        stack.callback(tracker.close)
        state.stop = tracker.stop
        _refuse_if_running(store, store_path)  # before any id is added
        try:  # from here a Ctrl-C leaves a store worth resuming: say so
            new = tracker.add_many(provider, ids)
            click.echo(
                f"{len(ids)} ids: {new} new, {len(ids) - new} already tracked in "
                f"{safe(store_path)}",
                err=as_json,
            )
            if webhook is not None and listener is not None:
                receiving = serve(
                    provider, webhook, listener, tracker, progress, state.wake, clock.now
                )
                origin = stack.enter_context(receiving)
                click.echo(f"receiving {provider} webhooks on {origin}/", err=True)
            if tty:
                from rich.live import Live

                with Live(progress, refresh_per_second=4, transient=False):
                    tracker.run()
            else:
                tracker.run()
        except KeyboardInterrupt:
            return state.interrupted()
        except tracking.StoreBusyError as error:  # it started after the check: ids added
            raise StoreError(
                f"{str(error).partition(';')[0]}; it started as this one added its ids, "
                "which stay in the store for it to settle"
            ) from None
        except AuthenticationError:
            in_flight = store.counts().in_flight
            click.echo(
                f"{in_flight} ids stay tracked in {safe(store_path)}: fix the key and run again",
                err=True,
            )
            raise
        except sqlite3.OperationalError as error:
            click.echo(f"error: the store {safe(store_path)} failed: {error}", err=True)
            return _exit.UNAVAILABLE
        if state.output_failure is not None:
            raise state.output_failure  # the command group: 141 for a closed pipe, else 74
        return state.finished()
    raise AssertionError("unreachable")  # pragma: no cover - the with block returns


# -- the command -------------------------------------------------------------------------------


@click.command(epilog=_exit.help_text())
@click.option(
    "--provider",
    "-p",
    type=click.Choice(PROVIDERS),
    help="Provider of the ids in IDS_FILE (not needed with --summary).",
)
@click.argument("ids_file", type=click.File("rb"), required=False)
@click.option(
    "--store",
    type=click.Path(dir_okay=False),
    default=DEFAULT_STORE,
    show_default=True,
    help="The tracker's SQLite file: all state lives there, so a rerun resumes.",
)
@click.option(
    "--deadline",
    type=Duration(),
    default="72h",
    show_default=True,
    help="Give up on a final this long after an id is added: 90s, 30m, 72h, 3d.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per outcome on stdout, as each is handed over (progress on stderr).",
)
@click.option("--summary", is_flag=True, help="Print the store's counts and exit.")
@click.option(
    "--webhook-port",
    type=click.IntRange(0, 65535),
    help=(
        "Also receive the provider's webhooks on this port (0: any free one); ids are then "
        "first polled 15 minutes after they are added, as a safety net."
    ),
)
@click.option("--webhook-host", default="127.0.0.1", show_default=True, help="Address for it.")
@click.option(
    "--secret",
    help=(
        "Webhook signing secret (lisoloo: user:password); "
        "default $SMS_STATUS_<PROVIDER>_WEBHOOK_SECRET."
    ),
)
@click.option("--webhook-url", help="seven: the public URL seven calls (it is signed).")
@click.option(
    "--durable",
    is_flag=True,
    help=(
        "Each commit waits for the disk (SQLite synchronous=FULL): a power cut or an OS "
        "crash then loses no webhook answered 2xx. Without it a killed process loses none."
    ),
)
@api_key_option
@base_url_option
@click.option(
    "--clock-speed",
    type=click.FloatRange(min=1),
    default=1.0,
    hidden=True,
    help="Run tracker time this many times faster (sandbox demos and tests).",
)
@click.pass_context
def track(
    ctx: click.Context,
    provider: str | None,
    ids_file: IO[bytes] | None,
    store: str,
    deadline: float,
    as_json: bool,
    summary: bool,
    webhook_port: int | None,
    webhook_host: str,
    secret: str | None,
    webhook_url: str | None,
    durable: bool,
    api_key: str | None,
    base_url: str | None,
    clock_speed: float,
) -> None:
    """Track every id of IDS_FILE (one a line; - reads standard input) until each is settled.

    Polls on the provider's cadence, takes pushed reports first with --webhook-port, and
    settles what has no final by --deadline. Everything is kept in --store: Ctrl-C or a kill
    loses nothing, and the same command run again resumes. Other providers' ids in the store
    are settled too, with their keys from SMS_STATUS_<KEY>_API_KEY. The exit code speaks for
    the whole store (one store per batch): 0 when every message was delivered.
    """
    if summary:
        if ids_file is not None:
            raise click.UsageError("--summary reads the store only: drop IDS_FILE")
        print_summary(store, as_json=as_json)
        return
    if provider is None:
        raise click.UsageError("Missing option '--provider' (or --summary to read a store).")
    if ids_file is None:
        raise click.UsageError("Missing argument 'IDS_FILE' (one id a line; - for stdin).")
    webhook = webhook_options(provider, webhook_port, webhook_host, secret, webhook_url)
    key = read_api_key(provider, api_key)
    try:
        ids = read_ids(ids_file, provider)
    except ValueError as error:  # which file: a line number alone names none
        raise ValueError(f"{safe(getattr(ids_file, 'name', '-'))}, {error}") from None
    # Tests hand in the sandbox's clock as the context object (CliRunner.invoke(obj=...)).
    clock = ctx.obj if isinstance(ctx.obj, TrackClock) else SpedClock(clock_speed)
    code = run(
        provider,
        key,
        base_url,
        ids,
        store_path=store,
        deadline=deadline,
        as_json=as_json,
        clock=clock,
        webhook=webhook,
        synchronous="FULL" if durable else "NORMAL",
    )
    sys.exit(code)
