"""`sms-status watch`: poll many messages on the provider's cadence until all are final.

A live table with a progress bar on a terminal; one plain line per change otherwise.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import attrs
import click

from sms_status.cli import _render

if TYPE_CHECKING:
    from sms_status.report import StatusReport

EXIT_DELIVERED, EXIT_FAILED, EXIT_TIMEOUT = 0, 1, 2


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


def exit_code(reports: list[StatusReport]) -> int:
    """0 when all delivered, 1 when any final failure, 2 when some are still in flight."""
    if any(r.is_final and not r.is_delivered for r in reports):
        return EXIT_FAILED
    if any(not r.is_final for r in reports):
        return EXIT_TIMEOUT
    return EXIT_DELIVERED


def run(
    provider: str,
    api_key: str,
    base_url: str | None,
    message_ids: list[str],
    *,
    timeout: float | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    interactive: bool | None = None,
) -> int:
    tty = sys.stdout.isatty() if interactive is None else interactive
    return asyncio.run(_watch(provider, api_key, base_url, message_ids, timeout, clock, sleep, tty))


async def _watch(
    provider: str,
    api_key: str,
    base_url: str | None,
    message_ids: list[str],
    timeout: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    tty: bool,
) -> int:
    import sms_status

    latest: dict[str, StatusReport] = {}
    started = clock()
    live = _Live(message_ids, started, clock) if tty else None

    def on_update(report: StatusReport) -> None:
        latest[report.message_id] = report
        if live is not None:
            live.update(latest)
        else:
            elapsed = clock() - started
            click.echo(f"[{elapsed:7.1f}s] {_render.line(report)}")

    client = sms_status.connect_async(
        sms_status.provider_key(provider),
        api_key=api_key,
        base_url=base_url,
        clock=clock,
        sleep=sleep,
    )
    async with client:
        if live is not None:
            live.start()
        try:
            finals = await asyncio.gather(
                *(
                    client.wait_for_final(i, timeout=timeout, on_update=on_update)
                    for i in dict.fromkeys(message_ids)
                )
            )
        finally:
            if live is not None:
                live.stop()
    reports = list(finals)
    done = sum(r.is_final for r in reports)
    click.echo(f"{done}/{len(reports)} final after {clock() - started:.1f}s")
    return exit_code(reports)


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
