"""Every message you sent, to its final outcome, once: push first, polls as the safety net.

    from sms_status import tracking

    with tracking.Tracker("deliveries.db", on_final=save) as tracker:
        tracker.add("telecom23", message_id, tag="order-1234")
        tracker.run()                # until every id is settled and handed to save()

Register ids as you send them; the tracker settles each one — by a pushed report
(`ingest`; a receiver's batches: `webhooks.app(..., on_reports=tracker.ingest_many)`), a
poll on the provider's cadence, or its deadline — and calls `on_final` with its `Outcome`.
All state lives in the store (SQLite by default; `RedisStore` for many workers), so a
restart, or a `kill -9`, loses nothing, and a million ids in flight cost a database, not
memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sms_status.tracking._async_tracker import AsyncTracker
from sms_status.tracking._fork import StoreForkedError
from sms_status.tracking._model import Counts, Outcome, Reason, Source, Tracked
from sms_status.tracking._rules import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_INTERVAL,
    EARLY_PUSH_TTL,
    NOT_FOUND_AFTER,
)
from sms_status.tracking._sqlite import SqliteStore, StoreBusyError, StoreVersionError
from sms_status.tracking._store import Store
from sms_status.tracking._tracker import Tracker

if TYPE_CHECKING:
    from sms_status.tracking._redis import RedisStore, StoreLostError, StoreUnavailableError


_REDIS_NAMES = ("RedisStore", "StoreLostError", "StoreUnavailableError")

if not TYPE_CHECKING:  # checkers see the imports above: a misspelt name is an error there

    def __getattr__(name: str) -> object:
        # RedisStore on first use: `import sms_status.tracking` never imports redis (an extra).
        if name in _REDIS_NAMES:
            from sms_status.tracking import _redis

            return getattr(_redis, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_REDIS_NAMES})


__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_INTERVAL",
    "EARLY_PUSH_TTL",
    "NOT_FOUND_AFTER",
    "AsyncTracker",
    "Counts",
    "Outcome",
    "Reason",
    "RedisStore",
    "Source",
    "SqliteStore",
    "Store",
    "StoreBusyError",
    "StoreForkedError",
    "StoreLostError",
    "StoreUnavailableError",
    "StoreVersionError",
    "Tracked",
    "Tracker",
]
