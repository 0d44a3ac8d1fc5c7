"""`sms-status watch`: poll many messages on the provider's cadence until all are final.

A live table with a progress bar on a terminal; one plain line per change otherwise. Each id
is watched on its own: an unknown id or a failing lookup is reported on its line while the
others go on, as `status` does. A provider that looks up many ids in one request (seven) is
asked for all the ids still in flight at once, on the same cadence: a watch of 500 ids sends
5 requests a look, not 500.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs
import click

from sms_status.cli import _render
from sms_status.cli._terminal import printable

if TYPE_CHECKING:
    from sms_status.client import AsyncStatusClient
    from sms_status.errors import SmsStatusError
    from sms_status.report import StatusReport

LAST_ANSWER_GRACE = 1.0
"""Real seconds past `--timeout` that a look still in flight may take (wait_for_final cuts its
own request at the deadline; this guards the rest): then the watch ends whatever is left."""


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


def run(
    provider: str,
    api_key: str,
    base_url: str | None,
    message_ids: list[str],
    *,
    timeout: float | None,
    clock: WatchClock,
    interactive: bool | None = None,
    quiet: bool = False,
) -> list[StatusReport]:
    """Watch every id until final or `timeout`; the last report of each id, in input order
    (duplicates once), an id that could not be looked up with its `error` set. `quiet`
    prints nothing (the caller prints the result)."""
    import sms_status

    tty = sys.stdout.isatty() if interactive is None else interactive
    ids = list(dict.fromkeys(message_ids))

    async def main() -> list[StatusReport]:
        client = sms_status.connect_async(
            sms_status.provider_key(provider),
            api_key=api_key,
            base_url=base_url,
            clock=clock.monotonic,
            sleep=clock.async_sleep,
        )
        async with client:
            return await _Watch(client, clock, timeout, ids, tty, quiet, api_key).run()

    return asyncio.run(main())


class _Watch:
    """One watch: every id polled on its own, each change shown as it comes."""

    def __init__(
        self,
        client: AsyncStatusClient,
        clock: WatchClock,
        timeout: float | None,
        message_ids: list[str],
        tty: bool,
        quiet: bool,
        secret: str,
    ) -> None:
        self._client, self._clock, self._timeout, self._ids = client, clock, timeout, message_ids
        self._latest: dict[str, StatusReport] = {}
        self._started = clock.monotonic()
        self._deadline = None if timeout is None else self._started + timeout
        # On real time, a request in flight at the deadline is cut (the SDK's own timeout is
        # per request); on a test's fake clock sleeping is instant and nothing needs cutting.
        self._budget = (
            clock.real_seconds(timeout) + LAST_ANSWER_GRACE
            if timeout is not None and isinstance(clock, FastClock)
            else None
        )
        self._quiet, self._secret = quiet, secret
        self._live = (
            _Live(message_ids, self._started, clock.monotonic, secret)
            if tty and not quiet
            else None
        )

    async def run(self) -> list[StatusReport]:
        if self._live is not None:
            self._live.start()
        from sms_status._registry import BATCH_LOOKUP

        try:
            if self._client.provider in BATCH_LOOKUP and len(self._ids) > 1:
                reports = await self._watch_together()
            else:
                async with asyncio.TaskGroup() as group:
                    tasks = [group.create_task(self._watch_one(i)) for i in self._ids]
                reports = [task.result() for task in tasks]
        except BaseExceptionGroup as failures:  # an invalid id (ValueError) or a bug
            raise failures.exceptions[0] from None
        finally:
            if self._live is not None:
                self._live.stop()
        if not self._quiet:
            done = sum(r.is_final for r in reports)
            elapsed = self._clock.monotonic() - self._started
            click.echo(f"{done}/{len(reports)} final after {elapsed:.1f}s")
        return reports

    def _show(self, report: StatusReport) -> None:
        self._latest[report.message_id] = report
        if self._quiet:
            return
        if self._live is not None:
            self._live.update(self._latest)
        else:
            elapsed = self._clock.monotonic() - self._started
            click.echo(printable(f"[{elapsed:7.1f}s] {_render.line(report)}", self._secret))

    async def _watch_one(self, message_id: str) -> StatusReport:
        from sms_status import errors

        try:
            async with asyncio.timeout(self._budget):
                return await self._client.wait_for_final(
                    message_id, timeout=self._timeout, on_update=self._show
                )
        except TimeoutError:
            if message_id in self._latest:
                return self._latest[message_id]
            return self._failed(message_id, self._no_answer())
        except errors.SmsStatusError as exc:
            return self._failed(message_id, exc)

    async def _watch_together(self) -> list[StatusReport]:
        """Every id still in flight in one `get_statuses` a look, on the cadence and deadline
        `wait_for_final` keeps for one id: a report shown when it changes, an id done when
        final or refused for good (unknown, say); a transient failure (429, 5xx, network)
        looked at again, as its Retry-After allows, and so is one the provider no longer
        knows after it was reported. At the end, an id never answered shows its last
        failure. Each look is one attempt cut at the deadline (`--timeout 0`: one look, within
        the client's timeout): its failure waits for the next look, not for retries."""
        from sms_status import errors
        from sms_status._flows import next_wait
        from sms_status._registry import load_provider

        cadence = load_provider(self._client.provider).cadence
        limit = cadence.default_timeout if self._timeout is None else self._timeout
        deadline = self._started + limit
        done: dict[str, StatusReport] = {}
        failures: dict[str, errors.SmsStatusError] = {}  # each id's last transient one
        pending = list(self._ids)
        try:
            async with asyncio.timeout(self._budget):
                for interval in cadence.waits():
                    looked_at = self._clock.monotonic()
                    look = self._client.with_options(
                        max_retries=0, timeout=self._look_timeout(deadline - looked_at, limit)
                    )
                    try:
                        reports = await look.get_statuses(pending)
                    except errors.SmsStatusError as exc:  # the key refused: every id's answer
                        done.update((i, self._failed(i, exc)) for i in pending)
                        break
                    struggled, asked = self._read_look(reports, done, failures)
                    pending = [i for i in pending if i not in done]
                    now = self._clock.monotonic()
                    wait = next_wait(
                        interval,
                        looked_at,
                        now,
                        deadline,
                        rest=interval if struggled else 0.0,
                        asked=asked,
                        shortest=min(cadence.intervals),
                    )
                    if not pending or not limit or wait is None:
                        break
                    await self._clock.async_sleep(wait)
        except TimeoutError:
            pass  # the guard past --timeout: what was seen stands
        for message_id in pending:
            if message_id in self._latest:
                done[message_id] = self._latest[message_id]
            else:
                done[message_id] = self._failed(
                    message_id, failures.get(message_id) or self._no_answer()
                )
        return [done[i] for i in self._ids]

    def _look_timeout(self, left: float, limit: float) -> float:
        """Real seconds one look may take: the client's attempt, cut to the time left."""
        from sms_status._options import DEFAULT_TIMEOUT

        attempt = DEFAULT_TIMEOUT
        if not limit:
            return attempt
        if isinstance(self._clock, FastClock):
            left = self._clock.real_seconds(left)
        return max(0.001, min(attempt, left))

    def _read_look(
        self,
        reports: list[StatusReport],
        done: dict[str, StatusReport],
        failures: dict[str, SmsStatusError],
    ) -> tuple[bool, float]:
        """One look's reports taken in (`_watch_together`): whether the server struggled (a
        transient failure: the next interval runs from this answer), and the longest
        Retry-After it gave, capped."""
        from sms_status._flows import DEFAULT_RETRY_AFTER_CAP, TRANSIENT
        from sms_status.errors import NotFoundError, TransportError

        struggled, asked = False, 0.0
        for report in reports:
            message_id, error = report.message_id, report.error
            if error is None:
                if self._latest.get(message_id) != report:
                    self._show(report)
                if report.is_final:
                    done[message_id] = report
            elif (
                isinstance(error, TRANSIENT)
                and not (isinstance(error, TransportError) and not error.retryable)  # a certificate
            ) or (isinstance(error, NotFoundError) and message_id in self._latest):
                failures[message_id] = error
                struggled = True
                advice = getattr(error, "retry_after", None)
                if advice is not None:
                    asked = max(asked, min(advice, DEFAULT_RETRY_AFTER_CAP))
            else:
                done[message_id] = self._failed(message_id, error)
        return struggled, asked

    def _no_answer(self) -> SmsStatusError:
        from sms_status import errors

        return errors.TransportError(
            f"no answer within --timeout {self._timeout:g} s", provider=self._client.provider
        )

    def _failed(self, message_id: str, error: SmsStatusError) -> StatusReport:
        report = _render.failed(self._client.provider, message_id, error)
        self._show(report)
        return report


class _Live:
    """The terminal view: a progress bar (final / total, elapsed) over a status table."""

    def __init__(
        self, message_ids: list[str], started: float, clock: Callable[[], float], secret: str
    ) -> None:
        from rich.console import Group
        from rich.live import Live
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._group = Group
        self._ids = list(dict.fromkeys(message_ids))
        self._started, self._clock, self._secret = started, clock, secret
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
        self._live.update(self._group(self._progress, _render.table(reports, secret=self._secret)))
