"""Group commit: callers that arrive while a write is under way share the next one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest
from sms_status.tracking._group import GroupCommit


def until(condition: Callable[[], bool]) -> None:
    """Wait (10 s at most) for another thread to make `condition` true."""
    give_up = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < give_up, "the other thread never got there"
        threading.Event().wait(0.001)


def held_group(queued: int) -> tuple[GroupCommit[int, int], list[list[int]], threading.Event]:
    """A group whose write gives each item times ten and holds its first write until
    `queued` callers wait behind it: (the group, what each write got, set once the first
    write began)."""
    writes: list[list[int]] = []
    first_write = threading.Event()
    group: GroupCommit[int, int]

    def write(items: Sequence[int]) -> list[int]:
        writes.append(list(items))
        if len(writes) == 1:
            first_write.set()
            until(lambda: len(group._waiting) >= queued)  # the queue under test
        return [item * 10 for item in items]

    group = GroupCommit(write)
    return group, writes, first_write


def test_callers_waiting_during_a_write_share_the_next_and_each_gets_its_result() -> None:
    group, writes, first_write = held_group(queued=7)
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
    group, writes, first_write = held_group(queued=2)  # a batch and a single
    results: dict[str, Sequence[int]] = {}
    leader = threading.Thread(target=lambda: results.__setitem__("lead", group.submit_many([1])))
    leader.start()
    assert first_write.wait(10)
    batch = threading.Thread(
        target=lambda: results.__setitem__("batch", group.submit_many([5, 3, 4]))
    )
    batch.start()
    until(lambda: len(group._waiting) >= 1)
    single = threading.Thread(target=lambda: results.__setitem__("one", [group.submit(7)]))
    single.start()
    for thread in (leader, batch, single):
        thread.join(10)
    assert results == {"lead": [10], "batch": [50, 30, 40], "one": [70]}
    assert writes[0] == [1]
    assert sorted(writes[1]) == [3, 4, 5, 7]
    assert len(writes) == 2


def test_a_leader_returns_once_its_own_batch_is_written_and_hands_the_lead_on() -> None:
    """Under a steady stream the first caller is answered after its own write, not after
    every group that queued meanwhile: a caller waiting behind it writes the next group."""
    writers: list[threading.Thread] = []
    leader_returned = threading.Event()
    answered_during_next_write: list[bool] = []
    group: GroupCommit[int, int]

    def write(items: Sequence[int]) -> list[int]:
        writers.append(threading.current_thread())
        if len(writers) == 1:
            until(lambda: len(group._waiting) >= 1)  # the next caller queues during it
        elif writers[-1] is not leader:  # the leader's caller is answered meanwhile
            answered_during_next_write.append(leader_returned.wait(10))
        return [item * 10 for item in items]

    group = GroupCommit(write)
    results: dict[int, int] = {}

    def lead() -> None:
        results[0] = group.submit(0)
        leader_returned.set()

    leader = threading.Thread(target=lead)
    leader.start()
    until(lambda: len(writers) == 1)
    follower = threading.Thread(target=lambda: results.__setitem__(1, group.submit(1)))
    follower.start()
    for thread in (leader, follower):
        thread.join(10)
    assert results == {0: 0, 1: 10}
    assert writers == [leader, follower]  # the follower wrote its own group
    assert answered_during_next_write == [True]
    assert group.submit(2) == 20  # the lead was given back: a new caller writes at once


class _Interrupted(threading.Event):
    """An Event whose wait raises, as a signal handler's exception (a request timeout)
    would in the caller waiting on it."""

    def wait(self, timeout: float | None = None) -> bool:
        raise TimeoutError("interrupted")


def test_a_caller_interrupted_in_its_wait_strands_no_later_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # It left its place in the queue, yet the lead was handed to it once the leader's
    # group was written: every later caller waited for a group nobody would write.
    writing, release = threading.Event(), threading.Event()
    writes: list[list[int]] = []

    def write(items: Sequence[int]) -> list[int]:
        writes.append(list(items))
        writing.set()
        release.wait(10)
        return [item * 10 for item in items]

    group = GroupCommit(write)
    results: list[int] = []
    leader = threading.Thread(target=lambda: results.append(group.submit(1)))
    leader.start()
    assert writing.wait(10)
    with monkeypatch.context() as patch:
        patch.setattr("sms_status.tracking._group.threading.Event", _Interrupted)
        with pytest.raises(TimeoutError):
            group.submit(2)  # queued behind the leader's write, then interrupted
    release.set()
    leader.join(10)
    later = threading.Thread(target=lambda: results.append(group.submit(3)))
    later.start()
    later.join(10)
    assert not later.is_alive(), "a later caller waits for ever"
    assert results == [10, 30]
    assert writes == [[1], [3]]  # the interrupted caller's item was not written
