"""A tracker process for the crash test: adds ids, ingests some pushes, runs until idle.

    python crash_worker.py STORE LOG T23_URL T23_KEY SEVEN_URL SEVEN_KEY COUNT EPOCH

Time runs 1,000 times faster from EPOCH on (the providers' cadences shrink to milliseconds,
and every restart reads the same timeline); each outcome
handed over is appended to LOG as one "key delivery" line (one write(2), O_APPEND) before
`on_final` returns, so a SIGKILL between the record and the return shows up there. Each
poll and each hand-over also prints one line ("poll", "final") on stdout, for the test to
kill on. (Its `sleep` is the tracker's own wait on the sped-up clock, not a test's guess.)
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import sms_status
from sms_status import tracking
from sms_status.report import DeliveryState, StatusReport

SPEED = 1000.0


def main() -> None:
    store, log, t23_url, t23_key, seven_url, seven_key, count, epoch = sys.argv[1:9]
    start = float(epoch)
    n = int(count)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def on_final(outcome: tracking.Outcome) -> None:
        os.write(fd, f"{outcome.key} {outcome.delivery} {outcome.state}\n".encode())
        os.write(1, b"final\n")  # progress for the test, which kills on a count of these

    def announced(lookup: Callable[[list[str]], object]) -> Callable[[list[str]], object]:
        def poll(ids: list[str]) -> object:
            os.write(1, b"poll\n")
            return lookup(ids)

        return poll

    t23 = sms_status.connect("telecom23", api_key=t23_key, base_url=t23_url)
    seven = sms_status.connect("seven", api_key=seven_key, base_url=seven_url, lookup="status")
    for client in (t23, seven):
        client.get_statuses = announced(client.get_statuses)  # type: ignore[method-assign]
    with tracking.Tracker(
        store,
        on_final=on_final,
        clients={"telecom23": t23, "seven": seven},
        clock=lambda: start + (time.time() - start) * SPEED,
        max_interval=60.0,  # with live webhooks polls come this far apart: keep the work short
        sleep=lambda seconds: time.sleep(seconds / SPEED),
    ) as tracker:
        # Every start adds the same ids again (idempotent) and the same pushes (a retried
        # webhook): half of telecom23's ids settle by push, before or after their add.
        for i in range(0, n, 2):
            tracker.ingest(
                StatusReport(
                    provider="telecom23",
                    message_id=f"t-{i}",
                    state=DeliveryState.DELIVERED,
                    is_final=True,
                    provider_status="DELIVRD",
                )
            )
        tracker.add_many("telecom23", [f"t-{i}" for i in range(n)], tag="crash")
        tracker.add_many("seven", [str(77232000000 + i) for i in range(n)])
        tracker.run()
    t23.close()
    seven.close()


if __name__ == "__main__":
    main()
