"""What `sms-status track` shows: plain progress lines, the rich live view, the summaries."""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from sms_status.cli import _terminal
from sms_status.cli._terminal import safe

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sms_status.cli._track_clock import TrackClock
    from sms_status.tracking import Counts, SqliteStore

PROGRESS_EVERY = 1.0
"""Real seconds between two plain progress lines."""


def _by_count(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def listing(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in _by_count(counts)) or "-"


def summary_lines(store: str, counts: Counts) -> list[str]:
    """What `--summary` prints (and a run prints at its end)."""
    return [
        f"{safe(store)}: {counts.total} tracked, {counts.settled} settled, "
        f"{counts.in_flight} in flight, {counts.awaiting_handover} awaiting hand-over",
        f"  by state:  {listing(counts.by_state)}",
        f"  by reason: {listing(counts.by_reason)}",
    ]


def summary_json(store: str, counts: Counts) -> str:
    return json.dumps(
        {
            "store": store,
            "total": counts.total,
            "in_flight": counts.in_flight,
            "settled": counts.settled,
            "awaiting_handover": counts.awaiting_handover,
            "by_state": dict(_by_count(counts.by_state)),
            "by_reason": dict(_by_count(counts.by_reason)),
        }
    )


class Progress:
    """What a run shows while it goes: counts from the store, requests, rates, next due."""

    def __init__(
        self,
        store: SqliteStore,
        path: str,
        provider: str,
        clock: TrackClock,
        requests: Callable[[], int],
        err: bool,
    ) -> None:
        self._store, self._path, self._provider = store, path, provider
        self._clock, self._requests, self._err = clock, requests, err
        self._started = clock.now()
        self._settled_before = store.counts().settled
        self._last_line = -math.inf
        self._lock = threading.Lock()
        self.handed_over = 0
        self.received = 0
        self.receiving = False

    def on_report(self, count: int = 1) -> None:
        with self._lock:
            self.received += count

    def elapsed(self) -> float:
        return self._clock.now() - self._started

    def _rates(self, counts: Counts) -> tuple[float, float]:
        elapsed = self.elapsed()
        if elapsed <= 0:
            return 0.0, 0.0
        settled = max(0, counts.settled - self._settled_before)
        return settled / elapsed, self._requests() / elapsed

    def next_due(self) -> str:
        wake = self._store.next_wake()
        if wake is None:
            return "nothing due"
        left = wake - self._clock.now()
        return "now" if left <= 0 else f"in {left:.1f}s"

    def line(self) -> str:
        """One progress line (plain output)."""
        counts = self._store.counts()
        settled_rate, _ = self._rates(counts)
        stream = sys.stderr if self._err else sys.stdout
        dot = _terminal.dot(getattr(stream, "encoding", None))  # LANG=C: no "·"
        pushed = f"{dot}{self.received} webhooks" if self.receiving else ""
        return (
            f"[{self.elapsed():7.1f}s] {counts.settled}/{counts.total} settled "
            f"({listing(counts.by_state)}){dot}{counts.in_flight} in flight{dot}"
            f"{self._requests()} requests{pushed}{dot}{settled_rate:.1f} settled/s{dot}"
            f"next due {self.next_due()}"
        )

    def maybe_print(self) -> None:
        """A plain progress line, at most one a second (real time)."""
        now = time.monotonic()
        if now - self._last_line < PROGRESS_EVERY:
            return
        self._last_line = now
        click.echo(self.line(), err=self._err)

    def __rich__(self) -> RenderableType:
        """The live view: rich calls this on every refresh, so it reads the store afresh."""
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        counts = self._store.counts()
        settled_rate, request_rate = self._rates(counts)
        encoding = sys.stdout.encoding  # where the live view draws: maybe no "·" (LANG=C)
        dot = _terminal.dot(encoding)
        path = _terminal.shown(safe(self._path), encoding)
        head = Text(f"tracking {self._provider}{dot}{path}{dot}{self.elapsed():.1f}s")
        bar = Table.grid(padding=(0, 1))
        bar.add_row(
            ProgressBar(total=max(counts.total, 1), completed=counts.settled, width=40),
            Text(f"{counts.settled}/{counts.total} settled"),
        )
        grid = Table.grid(padding=(0, 4))
        by_state = Table("state", "messages", box=None)
        for name, n in _by_count(counts.by_state):
            style = "green" if name in ("delivered", "read") else "red"
            by_state.add_row(Text(name, style=style), str(n))
        by_state.add_row(Text("in flight", style="cyan"), str(counts.in_flight))
        by_reason = Table("reason", "messages", box=None)
        for name, n in _by_count(counts.by_reason):
            by_reason.add_row(name, str(n))
        grid.add_row(by_state, by_reason)
        pushed = f"{dot}{self.received} webhooks received" if self.receiving else ""
        foot = Text(
            f"{self._requests()} requests ({request_rate:.1f}/s){dot}{settled_rate:.1f} "
            f"settled/s{pushed}{dot}{counts.awaiting_handover} awaiting hand-over{dot}"
            f"next due {self.next_due()}"
        )
        return Group(head, bar, grid, foot)


def counted(n: int, noun: str) -> str:
    """A count and its noun: 1 outcome, 2 outcomes."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
