"""The run lock of a SQLite store: one `run()` at a time per database file, held as an
exclusive `flock` that the kernel releases when the process ends, however it ends."""

from __future__ import annotations

import os
from pathlib import Path


class StoreBusyError(RuntimeError):
    """Another tracker is running (`run()`) on this SQLite store."""


def run_lock_path(path: str) -> Path | None:
    """`<file>.run-lock` beside the database file the path leads to (a symlink's target: one
    lock however the file is named); None for a private in-memory or temporary database.
    A file with hard links is refused: each name would have a lock, a journal and a WAL of
    its own, and two trackers, one on each, could corrupt it."""
    if path in ("", ":memory:"):
        return None
    real = os.path.realpath(path)
    try:
        links = os.stat(real).st_nlink
    except OSError:  # not made yet (or unreadable: sqlite3 says so next)
        links = 1
    if links > 1:
        raise ValueError(
            f"the SQLite store {path!r} has {links} names (hard links): SQLite keeps locks and "
            "a journal per name, so trackers on two names could corrupt it "
            "(sqlite.org/howtocorrupt.html, 2.5); keep one name, or link it with a symlink"
        )
    return Path(f"{real}.run-lock")


def lock_file(path: Path | None) -> int:
    if path is None:  # nothing to share: this object's own flag (`_run_lock`) is enough
        return os.open(os.devnull, os.O_RDONLY)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; one run() per store is up to the user
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise StoreBusyError(
            f"another tracker is running on this store (pid {holder}): one run() at a time "
            f"per SQLite store; for many workers use tracking.RedisStore"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
    return fd
