"""The demo's tracking step: `sms-status track` killed mid-way and run again, nothing lost.

`demo()` runs the command as a child process against two sandboxes (telecom23 pushing
signed webhooks, seven polled), kills it with SIGKILL once half the outcomes are out,
restarts the same command on the same store, and checks that every outcome came out once
(again, with `delivery` 2, only where the kill cut a hand-over).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs
import click

from sms_status.cli import _exit, _terminal
from sms_status.cli._track_clock import SpedClock
from sms_status.cli._track_view import listing

if TYPE_CHECKING:
    from sms_status.testing import Sandbox
    from sms_status.tracking import Counts

DEMO_SPEED = 20.0
"""The demo's tracker and sandboxes run this many times faster than real time."""


@attrs.define
class DemoResult:
    ok: bool
    messages: int
    outcomes: int
    """JSON lines read from both runs (an outcome handed over twice counts twice)."""
    missing: int
    """Messages no run handed over."""
    again: set[str]
    """Keys handed over with `delivery` > 1."""
    interrupted: set[str]
    """Keys whose hand-over had begun and not ended when the tracker was killed."""
    requests: int
    summary: str
    lines: list[str] = attrs.field(factory=list[str])


class _Child:
    """One `sms-status track --json` process: its outcome lines and its stderr, read by
    threads as they come, so nothing it wrote before a kill is lost."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        # Our own interpreter and module (`python -m sms_status track`), our arguments.
        self.process = subprocess.Popen(  # noqa: S603
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="backslashreplace",  # a stray byte is shown, never the reader's end
        )
        self.outcomes: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._open = 2
        self._changed = threading.Condition()
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, True), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[str], outcomes: bool) -> None:
        for line in stream:
            with self._changed:
                if not outcomes:
                    self.errors.append(line.rstrip("\n"))
                else:
                    with contextlib.suppress(ValueError):  # a line cut short by the kill
                        self.outcomes.append(json.loads(line))
                self._changed.notify_all()
        with self._changed:
            self._open -= 1
            self._changed.notify_all()

    def wait_for(self, done: Callable[[], bool], timeout: float) -> bool:
        """Block until `done()` holds (True), or the process has closed its output or
        `timeout` real seconds passed (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: done() or self._open == 0, timeout) and done()

    def origin(self, timeout: float) -> str | None:
        """Where it receives webhooks (its stderr says so once it accepts connections)."""
        found: list[str] = []

        def said() -> bool:
            found[:] = [m[1] for m in map(_RECEIVING.search, self.errors) if m]
            return bool(found)

        return found[0] if self.wait_for(said, timeout) else None

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no handler, no cleanup, no flush
        self.finish(30)

    def finish(self, timeout: float) -> int | None:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = None
        for reader in self._readers:
            reader.join(10)
        return code


_RECEIVING = re.compile(r"receiving \w+ webhooks on (http://[^/\s]+)/")


def _cut_hand_overs(store_path: Path, limit: int) -> set[str]:
    """Keys whose hand-over began (delivery counted) and never ended: a kill's victims."""
    from sms_status import tracking

    store = tracking.SqliteStore(store_path)
    try:
        rows = store.handovers_due(math.inf, limit)
    finally:
        store.close()
    return {row.key for row in rows if row.delivery >= 1}


@attrs.define
class _Runs:
    """What the two tracker processes of the demo's step did."""

    first: _Child
    second: _Child
    interrupted: set[str]
    code: int | None
    counts: Counts


class _DemoFailedError(Exception):
    """A step of the demo did not happen in time."""


def _seed_outcomes(
    telecom23: Sandbox, seven: Sandbox, pushed: list[str], polled: list[str]
) -> None:
    """From now on each message reaches its outcome within seconds (sandbox time); one in
    ten fails."""
    for n, message_id in enumerate(pushed):
        final = "UNDELIV" if n % 10 == 0 else "DELIVRD"
        telecom23.add_message(message_id, statuses=("sent", final), advance=1 + n % 6)
    for n, message_id in enumerate(polled):
        final = "NOTDELIVERED" if n % 10 == 0 else "DELIVERED"
        seven.add_message(message_id, statuses=("TRANSMITTED", final), advance=1 + n % 8)


def _kill_and_restart(
    telecom23: Sandbox,
    seven: Sandbox,
    pushed: list[str],
    polled: list[str],
    *,
    clock: SpedClock,
    say: Callable[[str], None],
    timeout: float,
) -> _Runs:
    import secrets
    import tempfile

    from sms_status import tracking

    secret = "whsec_demo_" + secrets.token_hex(8)
    # The child writes UTF-8 whatever this terminal's encoding (as this process reads it):
    # under a latin-1 locale its "·" came as a byte no UTF-8 reader takes.
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "SMS_STATUS_TELECOM23_WEBHOOK_SECRET": secret}
    for box in (telecom23, seven):
        env[f"SMS_STATUS_{box.key.upper()}_API_KEY"] = box.api_key
        env[f"SMS_STATUS_{box.key.upper()}_BASE_URL"] = box.base_url
    total = len(pushed) + len(polled)
    with tempfile.TemporaryDirectory(prefix="sms-status-demo-") as workdir:
        store = Path(workdir) / "deliveries.db"
        ids = Path(workdir) / "telecom23-ids.txt"
        ids.write_text("".join(f"{i}\n" for i in pushed), encoding="utf-8")
        with tracking.Tracker(store, on_final=lambda _o: None, clock=clock.now) as sender:
            sender.add_many("seven", polled, tag="demo")
        say(f'the sender added {len(polled)} seven ids: tracker.add_many("seven", ids)')
        say(
            "$ sms-status track --provider telecom23 --store deliveries.db --json "
            f"--webhook-port 0 telecom23-ids.txt   ({len(pushed)} ids)"
        )
        speed = f"{clock.speed:g}"
        command = [sys.executable, "-m", "sms_status", "track", "--provider", "telecom23",
                   "--store", str(store), "--json", "--clock-speed", speed]  # fmt: skip
        first = _Child([*command, "--webhook-port", "0", str(ids)], env)
        origin = first.origin(timeout)
        if origin is None:
            first.kill()
            raise _DemoFailedError("the tracker did not start: " + " / ".join(first.errors[-3:]))
        say(f"tracker pid {first.process.pid} receives telecom23 webhooks on {origin}/")
        telecom23.add_webhook(f"{origin}/hooks/telecom23", secret=secret)
        _seed_outcomes(telecom23, seven, pushed, polled)
        halfway = first.wait_for(lambda: len(first.outcomes) >= total // 2, timeout)
        first.kill()
        if not halfway:
            raise _DemoFailedError("half the outcomes did not come in time")
        interrupted = _cut_hand_overs(store, total)
        say(
            f"killed it (SIGKILL) after {len(first.outcomes)} outcomes; "
            f"{len(interrupted)} hand-over(s) cut mid-way"
        )
        port = origin.rsplit(":", 1)[1]
        second = _Child([*command, "--webhook-port", port, str(ids)], env)
        code = second.finish(timeout)
        if code is None:
            raise _DemoFailedError("the restarted tracker did not finish in time")
        say(f"restarted the same command: {len(second.outcomes)} more outcomes, exit {code}")
        with tracking.Tracker(store, on_final=lambda _o: None) as reader:
            counts = reader.counts()
    return _Runs(first, second, interrupted, code, counts)


def demo(
    telecom23: Sandbox,
    seven: Sandbox,
    *,
    messages: int = 400,
    speed: float = DEMO_SPEED,
    timeout: float = 60.0,
) -> DemoResult:
    """`demo`'s tracking step. Half the messages are telecom23's, which pushes signed
    webhooks to the tracker; half are seven's, polled (their ids added to the same store by
    the "sender" through the library). `sms-status track` runs as a child process; once it
    has handed over half the outcomes it is killed with SIGKILL, then the same command runs
    again on the same store. Every message's outcome must come out once, except those whose
    hand-over the kill cut, which come again with `delivery` 2."""
    clock = SpedClock(speed)
    saved = [(box, box.clock) for box in (telecom23, seven)]
    pushed = [f"demo-track-{i:04d}" for i in range(messages // 2)]
    polled = [str(77234000000 + i) for i in range(messages - len(pushed))]
    lines: list[str] = []

    def say(text: str) -> None:
        click.echo(text)
        lines.append(text)

    for box in (telecom23, seven):
        box.reset()  # only this step's messages: the sandbox pushes every change it holds
        box.clock = clock
    # Sent: the providers know every message; none has an outcome yet.
    for message_id in pushed:
        telecom23.add_message(message_id, statuses=("pending",))
    for message_id in polled:
        seven.add_message(message_id, statuses=("TRANSMITTED",))
    try:
        runs = _kill_and_restart(
            telecom23, seven, pushed, polled, clock=clock, say=say, timeout=timeout
        )
        requests = len(telecom23.requests) + len(seven.requests)
    except _DemoFailedError as error:
        say(f"FAILED: {error}")
        return DemoResult(False, messages, 0, messages, set(), set(), 0, str(error), lines)
    finally:
        for box, before in saved:
            box.reset()
            box.clock = before
    keys = {f"telecom23:{i}" for i in pushed} | {f"seven:{i}" for i in polled}
    return _verdict(runs, keys, requests, say, lines)


def _verdict(
    runs: _Runs, keys: set[str], requests: int, say: Callable[[str], None], lines: list[str]
) -> DemoResult:
    """Each key's outcome once, except the ones the kill cut: those again, delivery 2."""
    seen: dict[str, list[int]] = {}
    last: dict[str, dict[str, Any]] = {}
    for outcome in runs.first.outcomes + runs.second.outcomes:
        key = str(outcome["key"])
        seen.setdefault(key, []).append(int(outcome["delivery"]))
        last[key] = outcome
    missing = keys - set(seen)
    again = {key for key, deliveries in seen.items() if max(deliveries) > 1}
    once = all(d == [1] for key, d in seen.items() if key not in again)
    distinct = all(len(d) == len(set(d)) for d in seen.values())
    ok = (
        not missing
        and set(seen) == keys
        and once
        and distinct
        and again == runs.interrupted
        and runs.code == _exit.for_track(runs.counts)
    )
    if again:
        verdict = (
            f"every outcome once, but {len(again)} again with delivery 2: "
            f"{'exactly' if again == runs.interrupted else 'NOT'} the ones the kill cut"
        )
    else:
        verdict = "every outcome exactly once (the kill cut no hand-over)"
    say(f"{len(keys)} messages, {len(keys) - len(missing)} settled: {verdict}")
    sources: dict[str, int] = {}
    for outcome in last.values():
        name = f"{outcome['provider']} by {outcome['source']}"
        sources[name] = sources.get(name, 0) + 1
    dot = _terminal.dot(getattr(sys.stdout, "encoding", None))  # LANG=C: no "·"
    say(f"{listing(sources)}{dot}{listing(runs.counts.by_state)}{dot}{requests} requests")
    summary = f"{len(keys) - len(missing)}/{len(keys)} once, {len(again)} again after kill"
    return DemoResult(
        ok, len(keys), len(seen), len(missing), again, runs.interrupted, requests, summary, lines
    )
