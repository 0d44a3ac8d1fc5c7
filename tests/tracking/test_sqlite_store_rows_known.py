"""`SqliteStore` keeps the rows it last read or wrote so a hand-over's transaction reads
nothing back; these check it never acts on a row that changed since: by another connection
(another process's `ingest`), by its own connection outside `apply`, or by a rolled-back
transaction."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from sms_status.tracking import _rules
from sms_status.tracking._model import Row
from sms_status.tracking._sqlite import SqliteStore
from sms_status.tracking._store import Change

NOW = 1_770_000_000.0


def settled(message_id: str) -> Row:
    """A settled outcome whose hand-over is due at NOW."""
    return Row(
        "telecom23", message_id, None, NOW, NOW + 3600, None, 3.0, 1, 1, None,
        "poll", "delivered", True, NOW, NOW, "final", 0, NOW,
    )  # fmt: skip


def stored(tmp_path: Path, *ids: str) -> SqliteStore:
    store = SqliteStore(tmp_path / "store.db")
    store.insert([settled(i) for i in ids], now=NOW, apply_early=lambda row, report: None)
    return store


def begin(store: SqliteStore, message_id: str, claimed: int = 0) -> int | None:
    """The delivery a hand-over of `message_id` begins (None: none was pending, or one began
    since the `claimed` delivery was read: the store began from a row it kept, not the
    stored one)."""
    started = store.apply([("telecom23", message_id, _begin(claimed))])[0]
    return None if started is None else started.delivery


def _begin(claimed: int) -> Change:
    return functools.partial(_rules.begin_handover, claimed=claimed)


def test_a_row_another_connection_changed_is_read_again(tmp_path: Path) -> None:
    ours = stored(tmp_path, "a")
    assert [r.delivery for r in ours.handovers_due(NOW, 10)] == [0]  # read, and kept
    other = SqliteStore(tmp_path / "store.db")  # another process's connection, say
    assert begin(other, "a") == 1  # committed there
    assert begin(ours, "a", claimed=1) == 2  # not 1 again, from the row it read
    other.close()
    ours.close()


def test_a_row_its_own_connection_changed_outside_apply_is_read_again(tmp_path: Path) -> None:
    store = stored(tmp_path, "a")
    store.handovers_due(NOW, 10)
    # The same connection rewrites the row (as a migration or an early push might): its own
    # commits leave `data_version` as it was, so only forgetting what it held shows this.
    with store._transaction() as db:
        db.execute("UPDATE messages SET delivery = 5 WHERE message_id = 'a'")
    assert begin(store, "a", claimed=5) == 6
    store.close()


def test_a_rolled_back_change_is_not_taken_for_the_stored_row(tmp_path: Path) -> None:
    store = stored(tmp_path, "a", "b")
    store.handovers_due(NOW, 10)

    def fails(row: Row) -> Row | None:
        raise RuntimeError("a rule that fails mid-transaction")

    with pytest.raises(RuntimeError):
        store.apply([("telecom23", "a", _begin(0)), ("telecom23", "b", fails)])
    assert begin(store, "a") == 1  # the first begin was rolled back
    store.close()


def test_hand_overs_after_a_due_read_read_no_row_back(tmp_path: Path) -> None:
    store = stored(tmp_path, *"abc")
    statements: list[str] = []
    store.handovers_due(NOW, 10)
    store._db.set_trace_callback(statements.append)
    for message_id in "abc":
        assert begin(store, message_id) == 1
    assert not [s for s in statements if s.startswith("SELECT")]
    assert [r.delivery for r in (store.get("telecom23", i) for i in "abc") if r] == [1, 1, 1]
    store.close()
