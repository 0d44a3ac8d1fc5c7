"""Group commit: callers that arrive while a write is under way share the next one."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from sms_status.tracking._group import GroupCommit


def test_callers_waiting_during_a_write_share_the_next_and_each_gets_its_result() -> None:
    writes: list[list[int]] = []
    first_write = threading.Event()
    group: GroupCommit[int, int]

    def write(items: Sequence[int]) -> list[int]:
        writes.append(list(items))
        if len(writes) == 1:
            first_write.set()
            # Hold the first write until the seven others are queued behind it.
            while len(group._waiting) < 7:  # the queue under test
                threading.Event().wait(0.001)
        return [item * 10 for item in items]

    group = GroupCommit(write)
    results: dict[int, int] = {}
    leader = threading.Thread(target=lambda: results.__setitem__(0, group.submit(0)))
    leader.start()
    assert first_write.wait(10)
    others = [
        threading.Thread(target=lambda n=n: results.__setitem__(n, group.submit(n)))
        for n in range(1, 8)
    ]
    for thread in others:
        thread.start()
    for thread in [leader, *others]:
        thread.join(10)
    assert results == {n: n * 10 for n in range(8)}
    assert writes[0] == [0]
    assert sorted(writes[1]) == list(range(1, 8))
    assert len(writes) == 2


def test_a_failed_write_raises_in_every_caller_of_its_group_and_the_next_still_works() -> None:
    calls = 0

    def write(items: Sequence[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        return list(items)

    group: GroupCommit[str, str] = GroupCommit(write)
    with pytest.raises(OSError, match="disk full"):
        group.submit("a")
    assert group.submit("b") == "b"


def test_a_batch_is_written_in_one_group_and_gets_its_results_in_order() -> None:
    writes: list[list[int]] = []
    first_write = threading.Event()
    group: GroupCommit[int, int]

    def write(items: Sequence[int]) -> list[int]:
        writes.append(list(items))
        if len(writes) == 1:
            first_write.set()
            while len(group._waiting) < 2:  # a batch and a single queued behind it
                threading.Event().wait(0.001)
        return [item * 10 for item in items]

    group = GroupCommit(write)
    results: dict[str, Sequence[int]] = {}
    leader = threading.Thread(target=lambda: results.__setitem__("lead", group.submit_many([1])))
    leader.start()
    assert first_write.wait(10)
    batch = threading.Thread(
        target=lambda: results.__setitem__("batch", group.submit_many([5, 3, 4]))
    )
    batch.start()
    while len(group._waiting) < 1:
        threading.Event().wait(0.001)
    single = threading.Thread(target=lambda: results.__setitem__("one", [group.submit(7)]))
    single.start()
    for thread in (leader, batch, single):
        thread.join(10)
    assert results == {"lead": [10], "batch": [50, 30, 40], "one": [70]}
    assert writes[0] == [1]
    assert sorted(writes[1]) == [3, 4, 5, 7]
    assert len(writes) == 2
