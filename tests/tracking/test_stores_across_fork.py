"""Stores across os.fork: a store made before the fork (a module-level store in an app server
that preloads, then forks its workers) is a store of its own in each process."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from sms_status import tracking
from tracking_support import delivered

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")

IDS = [f"api_{n}" for n in range(12)]


def test_a_store_made_before_a_fork_is_its_own_worker_in_the_child(redis_url: str) -> None:
    """The child runs and is held in its first on_final. The parent, on the same store object,
    runs and ends (giving back what it holds); then another worker looks for work. None of
    the child's claims may be taken while it lives. (Parent and child shared one worker
    token, so the parent's end gave the child's claims back and another worker took them.)"""
    store = tracking.RedisStore(redis.Redis.from_url(redis_url), name="fork", lease=30.0)
    with tracking.Tracker(store, on_final=print) as sender:
        sender.add_many("telecom23", IDS)
        sender.ingest_many([delivered(i) for i in IDS])
    handed_r, handed_w = os.pipe()  # the child's hand-overs, one key a line
    go_r, go_w = os.pipe()  # one byte: the child may finish

    def child() -> int:
        os.close(handed_r)
        os.close(go_w)
        first = True

        def on_final(outcome: tracking.Outcome) -> None:
            nonlocal first
            os.write(handed_w, f"{outcome.key}\n".encode())
            if first:
                first = False
                os.read(go_r, 1)

        with tracking.Tracker(store, on_final=on_final) as tracker:
            tracker.run()
        return 0

    pid = _forked(child)
    os.close(handed_w)
    os.close(go_r)
    try:
        with os.fdopen(handed_r, "r") as handed:
            held = handed.readline().strip()  # the child holds its claims now
            with store.running():  # a run of the parent's, ended
                pass
            other = tracking.RedisStore(redis.Redis.from_url(redis_url), name="fork")
            taken = [row.key for row in other.handovers_due(time.time(), 100)]
            with other.running():  # gives back what it took
                pass
            other.close()
            os.write(go_w, b"x")
            child_keys = [held, *(line.strip() for line in handed)]
    finally:
        os.close(go_w)
        _, status = os.waitpid(pid, 0)
        store.close()
    assert held not in taken, "another worker took a claim of the live child's"
    assert os.waitstatus_to_exitcode(status) == 0
    assert Counter(child_keys) == Counter(f"telecom23:{i}" for i in IDS)


def test_an_sqlite_store_opened_before_a_fork_says_so_in_the_child(tmp_path: Path) -> None:
    """Forked while a parent thread was writing (a group commit under way). The child's add()
    used the parent's connection and lock, which that thread held at the fork: it hung for
    ever (and an SQLite connection carried across a fork may corrupt the file). It is
    refused with an error that says what to do; the parent's store and file are unharmed."""
    store = tracking.SqliteStore(tmp_path / "deliveries.db")
    writing, forked = threading.Event(), threading.Event()

    def parent_write() -> None:
        with store._transaction():  # held across the fork
            writing.set()
            assert forked.wait(30)

    writer = threading.Thread(target=parent_write)
    writer.start()
    assert writing.wait(30)

    def child() -> int:
        try:
            with tracking.Tracker(store, on_final=print) as tracker:
                tracker.add("telecom23", "from-the-child")
        except tracking.StoreForkedError as exc:
            return 3 if "after the fork" in str(exc) else 4
        return 1

    pid = _forked(child)
    forked.set()
    writer.join(30)
    statuses: list[int] = []
    waiter = threading.Thread(target=lambda: statuses.append(os.waitpid(pid, 0)[1]))
    waiter.start()
    waiter.join(60)
    if waiter.is_alive():
        os.kill(pid, signal.SIGKILL)
        waiter.join()
        pytest.fail("the child hung on the parent's connection")
    assert os.waitstatus_to_exitcode(statuses[0]) == 3  # StoreForkedError, saying what to do
    with tracking.Tracker(store, on_final=print) as parent:
        parent.add("telecom23", "from-the-parent")
        assert parent.get("telecom23", "from-the-parent") is not None
        assert parent.get("telecom23", "from-the-child") is None
    with contextlib.closing(sqlite3.connect(tmp_path / "deliveries.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store.close()


def test_a_child_forked_during_a_run_leaves_the_sqlite_run_lock_to_the_parent(
    tmp_path: Path,
) -> None:
    """Forked while the parent ran (multiprocessing, a preloading server): the child held a
    copy of the run lock's descriptor, so once the parent's run ended, its next run (or a
    restarted tracker's) was refused for as long as the child lived. In the child a run is
    refused as every other call is."""
    store = tracking.SqliteStore(tmp_path / "deliveries.db")
    verdict_r, verdict_w = os.pipe()
    go_r, go_w = os.pipe()

    def child() -> int:
        os.close(verdict_r)
        os.close(go_w)
        try:
            with store.running():
                pass
        except tracking.StoreForkedError:
            os.write(verdict_w, b"refused")
        os.read(go_r, 1)  # lives on until the parent has run again
        return 0

    with store.running():
        pid = _forked(child)
    os.close(verdict_w)
    os.close(go_r)
    try:
        with os.fdopen(verdict_r, "rb") as verdict:
            assert verdict.read(7) == b"refused"
        with store.running():  # the parent's next run, the child alive
            pass
    finally:
        os.write(go_w, b"x")
        os.close(go_w)
        _, status = os.waitpid(pid, 0)
        store.close()
    assert os.waitstatus_to_exitcode(status) == 0


def _forked(child: Callable[[], int]) -> int:
    """Fork: the child runs `child` and exits with what it returns (1 if it raised), never
    back into pytest. The child's pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = child()
        except BaseException as exc:
            print(f"child failed: {exc!r}", file=sys.stderr)
        finally:
            os._exit(code)
    return pid


def test_a_fork_in_the_thread_that_holds_the_run_locks_guard_goes_on(tmp_path: Path) -> None:
    """A signal handler forking while its thread is inside `running()` (a supervisor
    respawning on SIGCHLD): the fork hooks took the store's guard, held by that very
    thread, and the process hung for ever. Run in a subprocess, so a hang is a failure."""
    script = f"""
import os
from sms_status import tracking
store = tracking.SqliteStore({str(tmp_path / "deliveries.db")!r})
with store._fork_guard():  # where running() holds it
    pid = os.fork()
    if pid == 0:
        os._exit(0)
os.waitpid(pid, 0)
print("forked")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "forked", done.stderr


def test_a_fork_within_a_forks_hooks_releases_every_guard_it_took() -> None:
    """A signal handler forking while another fork's `before` hook waits for a guard: the
    nested fork's hooks released the outer fork's list of guards, and the guard the outer
    fork then took was never released (another thread's `running()` hung for ever). The
    nested fork is made to land there by the guard itself."""
    from sms_status.tracking import _fork

    class Store:
        def __init__(self) -> None:
            self.lock = threading.RLock()
            self.nested = True

        def guard(self) -> threading.RLock:
            if self.nested:  # as a signal handler would, while this fork's hooks run
                self.nested = False
                _fork._before()
                _fork._in_parent()
            return self.lock

        def renew(self) -> None:
            return None

    store = Store()
    _fork.renew_in_forked_children(store.renew, guard=store.guard)
    _fork._before()
    _fork._in_parent()
    taken: list[bool] = []
    other = threading.Thread(target=lambda: taken.append(store.lock.acquire(timeout=30)))
    other.start()
    other.join()
    assert taken == [True], "the guard stayed held by the forking thread"
    assert threading.get_ident() not in _fork._held
