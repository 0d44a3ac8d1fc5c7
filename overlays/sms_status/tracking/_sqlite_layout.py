"""The SQLite store's layout: the tables, the statements built from the columns, and the
migrations from each older schema (`SqliteStore` applies them when it opens a file)."""

from __future__ import annotations

from typing import Final

from sms_status.tracking._model import Row

SCHEMA_VERSION: Final = 3
"""The layout this version writes. A store of a newer layout is refused (never rewritten by
an older tracker); an older one is migrated in place (`MIGRATIONS`)."""

COLUMNS: Final = Row._fields
# Column names are ours, never input: the f-strings build constant statements.
SELECT: Final = f"SELECT {', '.join(COLUMNS)} FROM messages"  # noqa: S608
UPSERT: Final = (
    f"INSERT OR REPLACE INTO messages ({', '.join(COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in COLUMNS)})"
)
INSERT_NEW: Final = UPSERT.replace("OR REPLACE", "OR IGNORE")

SCHEMA_1: Final = """
CREATE TABLE messages (
    provider     TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    tag          TEXT,
    added_at     REAL NOT NULL,
    deadline_at  REAL NOT NULL,
    next_poll_at REAL,              -- NULL once settled
    interval     REAL NOT NULL,
    polls        INTEGER NOT NULL,
    known        INTEGER NOT NULL,
    report       TEXT,              -- the last report, JSON
    source       TEXT,              -- 'push' | 'poll'
    state        TEXT,
    is_final     INTEGER NOT NULL,
    updated_at   REAL,
    settled_at   REAL,
    reason       TEXT,              -- 'final' | 'deadline' | 'not_found', NULL in flight
    delivery     INTEGER NOT NULL,  -- hand-overs to on_final started
    handover_at  REAL,              -- next hand-over due, NULL when none is pending
    PRIMARY KEY (provider, message_id)
) WITHOUT ROWID;
CREATE INDEX messages_due ON messages (next_poll_at) WHERE next_poll_at IS NOT NULL;
CREATE INDEX messages_handover ON messages (handover_at) WHERE handover_at IS NOT NULL;
CREATE INDEX messages_settled ON messages (reason, state) WHERE reason IS NOT NULL;
CREATE TABLE early_pushes (
    provider    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    report      TEXT NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (provider, message_id)
) WITHOUT ROWID;
CREATE INDEX early_pushes_age ON early_pushes (received_at);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


SCHEMA_2: Final = """
CREATE INDEX IF NOT EXISTS messages_forgettable ON messages (settled_at)
    WHERE reason IS NOT NULL AND handover_at IS NULL;
"""
"""The outcomes a retention may forget, by age: without it, each purge read every settled
outcome (0.16 s of CPU a minute per 300k kept), with it, only those due."""

SCHEMA_3: Final = """
ALTER TABLE messages ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN due_since REAL;
"""
"""`Row.failures`: a failed lookup is retried soon, backing off over failures in a row;
`Row.due_since`: ids wait out a provider's rest in the order they came due."""

FORGET: Final = (
    "DELETE FROM messages WHERE (provider, message_id) IN (SELECT provider, message_id "
    "FROM messages WHERE reason IS NOT NULL AND handover_at IS NULL AND settled_at < ? LIMIT ?)"
)
"""Up to (`?` 2) outcomes settled before (`?` 1) and handed over: read by `SCHEMA_2`'s index."""

MIGRATIONS: Final[dict[int, str]] = {0: SCHEMA_1, 1: SCHEMA_2, 2: SCHEMA_3}
"""From schema N to N + 1; 0 is a new file."""
