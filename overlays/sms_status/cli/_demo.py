"""`sms-status demo`: the whole product in a minute, on the embedded sandbox.

Starts a sandbox per provider on loopback, seeds realistic messages (delivered, failing,
slow, rate-limited), then runs a status lookup per provider, a batched seven lookup, a
namirial history walk, a watch, a webhook receiver and a tracker killed halfway and
restarted — real HTTP throughout, with a clock running `speed` times faster than real time
so the providers' polling cadences pass quickly.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Generator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import attrs
import click

from sms_status._registry import PROVIDERS
from sms_status.cli import _demo_tracking, _exit, _listen, _render, _watch

if TYPE_CHECKING:
    from sms_status._flows import RetryEvent
    from sms_status.testing import Sandbox


@attrs.define
class Step:
    title: str
    provider: str
    outcome: str
    requests: int
    ok: bool


def _heading(text: str) -> None:
    click.echo("")
    click.secho(f"== {text}", bold=True)


@contextmanager
def _sandboxes() -> Generator[dict[str, Sandbox]]:
    from sms_status.testing import Sandbox

    with ExitStack() as stack:
        running: dict[str, Sandbox] = {}
        for key in PROVIDERS:
            sandbox = Sandbox(key)
            stack.enter_context(sandbox.serve())
            running[key] = sandbox
        yield running


class MissingPiecesError(ValueError):
    """The demo needs every provider and the sandbox; said before anything starts."""


def _check_installed() -> None:
    from sms_status._registry import load_provider
    from sms_status.errors import MissingProviderError

    missing: list[str] = []
    for key in PROVIDERS:
        try:
            load_provider(key)
        except MissingProviderError:
            missing.append(key)
    try:
        for module in ("starlette", "uvicorn"):  # the sandbox servers
            importlib.import_module(module)
    except ImportError:
        missing.append("testing")
    if missing:
        raise MissingPiecesError(
            f"the demo runs every provider's sandbox; missing: {', '.join(missing)}: "
            'pip install "sms-status[cli]"'
        )


def run(*, speed: float = 50.0, interactive: bool | None = None) -> int:
    import sms_status

    _check_installed()
    clock = _watch.FastClock(speed)
    steps: list[Step] = []
    started = time.monotonic()

    def record(title: str, provider: str, outcome: str, sandbox: Sandbox, ok: bool) -> None:
        steps.append(Step(title, provider, outcome, len(sandbox.requests), ok))
        sandbox.clear_requests()

    def connect(
        sandbox: Sandbox, on_retry: Callable[[RetryEvent], None] | None = None
    ) -> sms_status.StatusClient:
        return sms_status.connect(
            sms_status.provider_key(sandbox.key),
            api_key=sandbox.api_key,
            base_url=sandbox.base_url,
            clock=clock.monotonic,
            sleep=clock.sleep,
            on_retry=on_retry or (lambda _event: None),
        )

    with _sandboxes() as boxes:
        for key, box in boxes.items():
            click.echo(f"sandbox {key:10} {box.base_url}")
        _seed(boxes)

        _heading("1. One status per provider (the docs' own example messages)")
        for key, message_id in EXAMPLE_IDS.items():
            with connect(boxes[key]) as client:
                report = client.get_status(message_id)
            click.echo(f"{key:10} {_render.line(report)}")
            record(
                "status",
                key,
                f"{report.state.value} ({report.provider_status})",
                boxes[key],
                report.state.value == "delivered",
            )

        _heading("2. A rate-limited lookup: retried after the provider's 429, then answered")
        retries: list[str] = []
        with connect(boxes["telecom23"], on_retry=lambda e: retries.append(str(e.error))) as client:
            report = client.get_status("demo-otp-ratelimited")
        for line in retries:
            click.echo(f"retry after: {line}")
        click.echo(_render.line(report))
        record(
            "429 then retry",
            "telecom23",
            f"{len(retries)} retry, {report.state.value}",
            boxes["telecom23"],
            bool(retries) and report.state.value == "delivered",
        )

        _heading(f"3. seven: {len(SEVEN_BATCH)} ids in batches of up to 100")
        with connect(boxes["seven"]) as client:
            reports = client.get_statuses(SEVEN_BATCH)
        requests = len(boxes["seven"].requests)
        delivered = sum(r.is_delivered for r in reports)
        click.echo(f"{len(reports)} reports from {requests} requests; {delivered} delivered")
        record(
            "batched lookup",
            "seven",
            f"{len(reports)} ids / {requests} requests",
            boxes["seven"],
            requests <= 3 and len(reports) == len(SEVEN_BATCH),
        )

        _heading("4. namirial: a phone number's whole history, 7 per page, newest first")
        with sms_status.connect(
            "namirial", api_key=boxes["namirial"].api_key, base_url=boxes["namirial"].base_url
        ) as history_client:
            walked = list(history_client.iter_history_by_phone(DEMO_PHONE, page_size=7))
        for report in walked[:3]:
            click.echo(_render.line(report))
        click.echo(f"... {len(walked)} messages in all, each once")
        ids = [r.message_id for r in walked]
        record(
            "history walk",
            "namirial",
            f"{len(walked)} messages",
            boxes["namirial"],
            len(ids) == len(set(ids)) == HISTORY_SIZE,
        )

        _heading("5. watch: three OTPs until final (provider cadence, fast clock)")
        box = boxes["telecom23"]
        watched = _watch.run(
            "telecom23",
            box.api_key,
            box.base_url,
            WATCHED,
            # Every watched message turns final within seconds of sandbox time; a deadline far
            # beyond telecom23's 180 s default keeps a loaded machine from making it a timeout.
            timeout=3600,
            clock=clock,
            interactive=interactive,
        )
        code = _exit.for_watch(watched)
        record(
            "watch",
            "telecom23",
            f"exit {code}: 2 delivered, 1 undelivered",
            box,
            code == _exit.FAILED,
        )

        _heading("6. webhooks: seven's sandbox pushes signed DLRs to `listen`; merged = polled")
        outcome, ok = _listen.demo(boxes["seven"])
        record("webhooks", "seven", outcome, boxes["seven"], ok)

        _heading(
            f"7. track: {TRACKED} messages to their outcomes (telecom23 by signed webhook, seven "
            "by polling); the tracker is killed (SIGKILL) halfway and restarted"
        )
        tracked = _demo_tracking.demo(boxes["telecom23"], boxes["seven"], messages=TRACKED)
        steps.append(
            Step("track, kill -9", "t23+seven", tracked.summary, tracked.requests, tracked.ok)
        )

    _summary(steps, time.monotonic() - started)
    return 0 if all(step.ok for step in steps) else 1


EXAMPLE_IDS = {
    "telecom23": "api_42_1743667200123456789_a3f8b2c1d9e45f67",
    "namirial": "011d9d6e-b5b9-4cb9-be13-2bc336a923ce",
    "roycetalk": "f2672215-c20b-452a-9b6b-1ba51884c55e",
    "lisoloo": "507f1f77bcf86cd799439011",
    "seven": "77232007287",
}
SEVEN_BATCH = [str(77232100000 + i) for i in range(250)]
DEMO_PHONE = "+14155550100"
HISTORY_SIZE = 30
WATCHED = ["demo-otp-fast", "demo-otp-slow", "demo-otp-undelivered"]
TRACKED = 400


def _seed(boxes: dict[str, Sandbox]) -> None:
    telecom23, namirial, seven = boxes["telecom23"], boxes["namirial"], boxes["seven"]
    telecom23.add_message("demo-otp-ratelimited", statuses=("DELIVRD",))
    telecom23.inject_fault("rate_limit", message_id="demo-otp-ratelimited", times=1)
    telecom23.add_message("demo-otp-fast", statuses=("pending", "sent", "DELIVRD"))
    telecom23.add_message(
        "demo-otp-slow", statuses=("pending", "sent", "sent", "sent", "sent", "DELIVRD")
    )
    telecom23.add_message("demo-otp-undelivered", statuses=("pending", "sent", "UNDELIV"))
    for i, message_id in enumerate(SEVEN_BATCH):
        seven.add_message(message_id, statuses=("DELIVERED" if i % 10 else "NOTDELIVERED",))
    base = datetime(2026, 2, 4, 6, 0, tzinfo=UTC)
    for i in range(HISTORY_SIZE):
        # Pairs share a second, so page edges fall inside a timestamp.
        namirial.add_message(
            f"demo-history-{i:02d}",
            statuses=("DELIVERED",),
            phone=DEMO_PHONE,
            sent_at=base + timedelta(seconds=i // 2),
        )


def _summary(steps: list[Step], elapsed: float) -> None:
    _heading(f"Summary ({elapsed:.1f} s)")
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich comes with the cli extra
        for step in steps:
            click.echo(f"{step.title:16} {step.provider:10} {step.outcome}")
        return
    table = Table()
    for column in ("step", "provider", "outcome", "HTTP requests", "ok"):
        table.add_column(column)
    for step in steps:
        table.add_row(
            step.title,
            step.provider,
            step.outcome,
            str(step.requests),
            "[green]yes[/green]" if step.ok else "[red]no[/red]",
        )
    Console().print(table)
