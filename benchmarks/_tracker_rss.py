"""Peak RSS of a tracker with N ids in flight: `python -m benchmarks._tracker_rss URL KEY N`.

Prints one JSON line: the RSS with an empty tracker (after imports, a store opened, a
collection), the peak RSS while adding N seven ids (lazily, from a generator) and polling the
first ones (all due at once; the sandbox knows none of them, so every id stays in flight),
sampled every 5 ms from /proc (the kernel's own peak would still show the imports' transient
peak), the polls made and add_many's seconds.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

POLL_REQUESTS = 200
"""seven requests (100 ids each) before the tracker is stopped."""


def _rss() -> int:
    """This process's resident set now, in bytes (/proc/self/statm: pages)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


class _PeakSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _rss()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.005):
            self.peak = max(self.peak, _rss())


def main() -> None:
    base_url, api_key, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    import sms_status
    from sms_status import tracking
    from sms_status.testing import FakeClock

    clock = FakeClock(time.time())
    client = sms_status.connect("seven", api_key=api_key, base_url=base_url, lookup="status")
    with tempfile.TemporaryDirectory() as scratch:
        tracker = tracking.Tracker(
            Path(scratch) / "rss.db",
            on_final=print,
            clients={"seven": client},
            clock=clock.now,
            sleep=clock.sleep,
        )
        tracker.counts()
        gc.collect()
        empty = _rss()
        sampler = _PeakSampler()
        sampler.start()
        start = time.perf_counter()
        tracker.add_many("seven", (str(77_000_000_000 + i) for i in range(count)))
        add_seconds = time.perf_counter() - start
        requests = 0
        lookup = client.get_statuses

        def counted(ids: Any) -> Any:
            nonlocal requests
            requests += 1
            if requests >= POLL_REQUESTS:
                tracker.stop()
            return lookup(ids)

        client.get_statuses = counted  # type: ignore[method-assign]
        clock.advance(10.0)  # every id is due
        tracker.run()
        counts = tracker.counts()
        sampler.stopped.set()
        sampler.join()
        tracker.close()
    client.close()
    print(
        json.dumps(
            {
                "empty": empty,
                "peak": max(sampler.peak, _rss()),
                "polls": requests * 100,
                "in_flight": counts.in_flight,
                "add_seconds": add_seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
