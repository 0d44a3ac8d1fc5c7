"""Early pushes in a SQLite store: a push for an id not added yet is kept an hour, and applied
when the id is added (`SqliteStore.insert`), in the same transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sms_status.tracking._model import Row
from sms_status.tracking._rules import EARLY_PUSH_TTL
from sms_status.tracking._sqlite_layout import SELECT, UPSERT
from sms_status.tracking._store import ApplyEarly, KeepEarly


def keep_early_push(
    db: sqlite3.Connection, provider: str, message_id: str, keep_early: KeepEarly, now: float
) -> bool:
    """A push for an id not stored (yet): kept, for an hour from its arrival, if
    `keep_early` says so (a push that replaces the kept one starts the hour again)."""
    early = db.execute(
        "SELECT report, received_at FROM early_pushes WHERE provider = ? AND message_id = ?",
        (provider, message_id),
    ).fetchone()
    if early is not None and early[1] + EARLY_PUSH_TTL < now:  # its hour is over: none
        early = None
    kept = keep_early(None if early is None else early[0])
    if kept is None:
        return False
    db.execute(
        "INSERT OR REPLACE INTO early_pushes VALUES (?, ?, ?, ?)",
        (provider, message_id, kept, now),
    )
    return True


def apply_early_pushes(
    db: sqlite3.Connection,
    keys: Sequence[tuple[str, str]] | None,
    now: float,
    apply_early: ApplyEarly,
) -> None:
    """In the transaction that added ids: the early pushes of `keys` (provider, message id),
    or, for None (a large add), of every id stored (one join), applied and forgotten."""
    if keys is not None:
        early = [
            found
            for key in keys
            for found in db.execute(
                "SELECT provider, message_id, report, received_at FROM early_pushes "
                "WHERE provider = ? AND message_id = ?",
                key,
            )
        ]
    else:
        early = db.execute(
            "SELECT e.provider, e.message_id, e.report, e.received_at "
            "FROM early_pushes e JOIN messages m "
            "ON m.provider = e.provider AND m.message_id = e.message_id"
        ).fetchall()
    for provider, message_id, report, received_at in early:
        db.execute(
            "DELETE FROM early_pushes WHERE provider = ? AND message_id = ?",
            (provider, message_id),
        )
        if received_at + EARLY_PUSH_TTL < now:
            continue
        found = db.execute(
            f"{SELECT} WHERE provider = ? AND message_id = ?", (provider, message_id)
        ).fetchone()
        changed = apply_early(Row._make(found), report)
        if changed is not None:
            db.execute(UPSERT, tuple(changed))
