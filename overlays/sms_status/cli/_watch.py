"""`sms-status watch`: poll many messages on the provider's cadence until all are final.

A live table with a progress bar on a terminal; one plain line per change otherwise. Each id
is watched on its own: an unknown id or a failing lookup is reported on its line while the
others go on, as `status` does.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs
import click

from sms_status.cli import _exit, _render

if TYPE_CHECKING:
    from sms_status.report import StatusReport

EXIT_DELIVERED, EXIT_FAILED, EXIT_TIMEOUT = _exit.OK, _exit.FAILED, _exit.TIMEOUT

LAST_ANSWER_GRACE = 1.0
"""Real seconds the poll made at the deadline may take to answer: past `--timeout` plus this,
the watch ends whatever is still in flight."""


@runtime_checkable
class WatchClock(Protocol):
    """The time a watch runs on: `FastClock`, or a test's `sms_status.testing.FakeClock`."""

    def monotonic(self) -> float: ...

    async def async_sleep(self, seconds: float) -> None: ...


@attrs.frozen
class FastClock:
    """Time that runs `speed` times faster: polling cadences shrink, deadlines keep meaning."""

    speed: float

    def monotonic(self) -> float:
        return time.monotonic() * self.speed

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self.speed)

    async def async_sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)

    def real_seconds(self, seconds: float) -> float:
        return seconds / self.speed


def exit_code(reports: list[StatusReport]) -> int:
    """0 when all delivered, 1 when any final failure, 2 when some are still in flight."""
    return _exit.for_watch(reports)


def run(
    provider: str,
    api_key: str,
    base_url: str | None,
    message_ids: list[str],
    *,
    timeout: float | None,
    clock: WatchClock,
    interactive: bool | None = None,
) -> list[StatusReport]:
    """Watch every id until final or `timeout`; the last report of each id, in input order
    (duplicates once), an id that could not be looked up with its `error` set."""
    tty = sys.stdout.isatty() if interactive is None else interactive
    ids = list(dict.fromkeys(message_ids))
    return asyncio.run(_watch(provider, api_key, base_url, ids, timeout, clock, tty))


async def _watch(
    provider: str,
    api_key: str,
    base_url: str | None,
    message_ids: list[str],
    timeout: float | None,
    clock: WatchClock,
    tty: bool,
) -> list[StatusReport]:
    import sms_status
    from sms_status import errors

    latest: dict[str, StatusReport] = {}
    started = clock.monotonic()
    live = _Live(message_ids, started, clock.monotonic) if tty else None

    def on_update(report: StatusReport) -> None:
        latest[report.message_id] = report
        if live is not None:
            live.update(latest)
        else:
            elapsed = clock.monotonic() - started
            click.echo(f"[{elapsed:7.1f}s] {_render.line(report)}")

    # On real time, a request in flight at the deadline is cut (the SDK's own timeout is per
    # request); on a test's fake clock, sleeping is instant and nothing needs cutting.
    budget = (
        clock.real_seconds(timeout) + LAST_ANSWER_GRACE
        if timeout is not None and isinstance(clock, FastClock)
        else None
    )

    async def watch_one(message_id: str) -> StatusReport:
        try:
            async with asyncio.timeout(budget):
                return await client.wait_for_final(message_id, timeout=timeout, on_update=on_update)
        except TimeoutError:
            if message_id in latest:
                return latest[message_id]
            error: errors.SmsStatusError = errors.TransportError(
                f"no answer within --timeout {timeout:g} s", provider=provider
            )
        except errors.SmsStatusError as exc:
            error = exc
        report = _render.failed(provider, message_id, error)
        on_update(report)
        return report

    client = sms_status.connect_async(
        provider, api_key=api_key, base_url=base_url, clock=clock.monotonic, sleep=clock.async_sleep
    )
    async with client:
        if live is not None:
            live.start()
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(watch_one(i)) for i in message_ids]
        except BaseExceptionGroup as failures:  # an invalid id (ValueError) or a bug
            raise failures.exceptions[0] from None
        finally:
            if live is not None:
                live.stop()
    reports = [task.result() for task in tasks]
    done = sum(r.is_final for r in reports)
    click.echo(f"{done}/{len(reports)} final after {clock.monotonic() - started:.1f}s")
    return reports


class _Live:
    """The terminal view: a progress bar (final / total, elapsed) over a status table."""

    def __init__(self, message_ids: list[str], started: float, clock: Callable[[], float]):
        from rich.console import Group
        from rich.live import Live
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._group = Group
        self._ids = list(dict.fromkeys(message_ids))
        self._started, self._clock = started, clock
        self._progress = Progress(
            TextColumn("final"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[t]}")
        )
        self._task = self._progress.add_task("watch", total=len(self._ids), t="0.0s")
        self._live = Live(self._progress, refresh_per_second=8, transient=False)

    def start(self) -> None:
        self._live.start()

    def stop(self) -> None:
        self._live.refresh()
        self._live.stop()

    def update(self, latest: dict[str, StatusReport]) -> None:
        reports = [latest[i] for i in self._ids if i in latest]
        elapsed = self._clock() - self._started
        self._progress.update(
            self._task, completed=sum(r.is_final for r in reports), t=f"{elapsed:.1f}s"
        )
        self._live.update(self._group(self._progress, _render.table(reports)))
