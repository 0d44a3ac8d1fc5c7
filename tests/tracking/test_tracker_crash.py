"""`kill -9` at random points, many times: every id settles, and no outcome is handed over
twice with the same `delivery`. Real processes, a real SQLite file, real loopback sandboxes."""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sms_status import tracking
from sms_status.testing import Sandbox

WORKER = Path(__file__).with_name("crash_worker.py")
IDS = 800
"""Enough work that the worker is killed at least 8 times before it can finish: with 400,
a run of high kill points now and then let it finish after 7, and the test failed for want
of kills."""
KILLS = 25


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _read_until(worker: subprocess.Popen[bytes], kind: bytes, count: int) -> None:
    """Read the worker's progress lines until `count` of `kind` ("poll", "final") went by, or
    it exited: a blocking read of what it reports, no polling and no timer."""
    assert worker.stdout is not None
    seen = 0
    while seen < count:
        line = worker.stdout.readline()
        if not line:
            return  # it exited first
        seen += line.strip() == kind


@pytest.mark.slow  # ~20 worker processes
def test_kill_9_at_random_points_loses_nothing_and_repeats_no_delivery(
    tmp_path: Path,
) -> None:
    rng = random.Random(os.environ.get("PYTEST_XDIST_WORKER", "0") + str(time.time()))
    store = tmp_path / "deliveries.db"
    log = tmp_path / "handed-over.log"
    with Sandbox("telecom23").serve() as t23, Sandbox("seven").serve() as seven:
        for i in range(IDS):
            t23.add_message(f"t-{i}", statuses=("pending", "pending", "sent", "sent", "DELIVRD"))
            seven.add_message(str(77232000000 + i), statuses=("sent", "DELIVERED"))
        command = [
            sys.executable,
            str(WORKER),
            str(store),
            str(log),
            t23.base_url,
            t23.api_key,
            seven.base_url,
            seven.api_key,
            str(IDS),
            str(time.time()),
        ]

        kills = 0
        errors = tmp_path / "worker-stderr.txt"
        while kills < KILLS:
            with errors.open("wb") as stderr:
                worker = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr)
            # A random point: after some polls, or some hand-overs, or at start-up.
            if rng.random() < 0.5:
                _read_until(worker, b"poll", rng.randint(0, 20))
            else:
                _read_until(worker, b"final", rng.randint(0, 12))
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                kills += 1
            worker.communicate(timeout=60)
            assert worker.returncode in (0, -signal.SIGKILL), errors.read_text()
            if worker.returncode == 0:
                break  # it finished everything before its kill point
        final = subprocess.run(command, capture_output=True, timeout=300, check=False)
        assert final.returncode == 0, final.stderr.decode()
    assert kills >= 8, f"only {kills} runs were cut short"

    handed = [line.split() for line in _lines(log)]
    pairs = collections.Counter((key, int(delivery)) for key, delivery, _ in handed)
    repeated = {pair: n for pair, n in pairs.items() if n > 1}
    assert repeated == {}, f"handed over twice with the same delivery: {repeated}"
    keys = {key for key, _, _ in handed}
    expected = {f"telecom23:t-{i}" for i in range(IDS)} | {
        f"seven:{77232000000 + i}" for i in range(IDS)
    }
    assert keys == expected
    assert {state for _, _, state in handed} == {"delivered"}

    with tracking.Tracker(store, on_final=print) as tracker:
        counts = tracker.counts()
        assert (counts.in_flight, counts.settled, counts.awaiting_handover) == (0, 2 * IDS, 0)
        last = {key: max(d for (k, d) in pairs if k == key) for key in keys}
        for key, delivery in last.items():
            provider, message_id = key.split(":", 1)
            tracked = tracker.get(provider, message_id)
            assert tracked is not None
            assert tracked.outcome is not None
            assert tracked.outcome.delivery == delivery  # the last hand-over is the logged one
        pushed = tracker.get("telecom23", "t-0")
        assert pushed is not None
        assert pushed.outcome is not None
        assert pushed.outcome.source == "push"
