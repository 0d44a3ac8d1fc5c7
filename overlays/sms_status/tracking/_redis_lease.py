"""A `RedisStore` worker's lease, renewed while it runs.

A claim is the worker's for as long as its lease lasts, and the lease is renewed by each
script the worker sends — which a long `on_final` (a slow database) or a long poll sends
none of. So while a `run()` goes on, a heartbeat renews it every third of a lease, as a
durable queue's consumer extends its message's visibility timeout: a live worker keeps
what it claimed however long it works on it, and only a dead (or frozen, or cut-off)
worker's claims run out, `lease` seconds after its last renewal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("sms_status.tracking")


class Heartbeat:
    """Calls `renew` every `every` seconds, on a daemon thread, from `start()` to `stop()`."""

    def __init__(self, renew: Callable[[], object], every: float) -> None:
        self._renew = renew
        self._every = every
        self._lock = threading.Lock()
        self._stopped: threading.Event | None = None

    def anew(self) -> Heartbeat:
        """The same heartbeat, not started (a forked child's: the parent's thread is not in it)."""
        return Heartbeat(self._renew, self._every)

    def start(self) -> None:
        with self._lock:
            if self._stopped is not None:
                return
            self._stopped = threading.Event()
            threading.Thread(
                target=self._beat, args=(self._stopped,), name="sms-status-lease", daemon=True
            ).start()

    def stop(self) -> None:
        """Ends the beats; not waiting for one under way (a renewal after the lease was
        given back renews nothing: it only extends a lease that exists)."""
        with self._lock:
            if self._stopped is not None:
                self._stopped.set()
                self._stopped = None

    def _beat(self, stopped: threading.Event) -> None:
        while not stopped.wait(self._every):
            try:
                self._renew()
            except Exception as exc:  # Redis away: the lease runs out, as for a dead worker
                log.warning("could not renew the lease on claimed ids: %s", exc)
