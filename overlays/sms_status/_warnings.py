"""Warnings about what a vendor sends, logged once each, with the key scrubbed.

`warn_once` logs on the `sms_status` logger once per key (a provider, a field, a value) for
the life of the process; while a response is read (`redacting`), every warning replaces the
client's key, which a server may echo back.
"""

from __future__ import annotations

import logging
import threading
from contextvars import ContextVar

from sms_status._redact import redact

log = logging.getLogger("sms_status")

_WARNED_LIMIT = 10_000
"""At most this many distinct warnings are remembered (then they are all logged)."""
_warned: set[tuple[str, ...]] = set()
_warned_lock = threading.Lock()


READING_SECRET: ContextVar[str] = ContextVar("sms_status_reading_secret", default="")
"""The key of the client whose response is being read: warnings meanwhile scrub it."""


class redacting:
    """While reading a response, warnings replace `secret` (a server may echo the key).

    A class, not a `contextlib.contextmanager`: it runs once per response read, and a
    generator-based one costs four times as much."""

    __slots__ = ("_secret", "_token")

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def __enter__(self) -> None:
        self._token = READING_SECRET.set(self._secret)

    def __exit__(self, *exc_info: object) -> None:
        READING_SECRET.reset(self._token)


_KEY_PART_MAX = 120
"""A longer part of a warning's key is kept as its start and a digest: a sender choosing
a new 60 KB status or field name at every delivery held ~600 MB in `_warned`."""
_TEXT_MAX = 1000


def warn_once(key: tuple[str, ...], message: str, *args: object) -> None:
    """Log a warning on the `sms_status` logger once per `key` in this process."""
    text = message % args
    secret = READING_SECRET.get()
    if secret:
        text = redact(text, secret)
        key = tuple(redact(part, secret) for part in key)
    if len(text) > _TEXT_MAX:
        text = text[: _TEXT_MAX - 3] + "..."
    key = tuple(_bounded(part) for part in key)
    with _warned_lock:
        if key in _warned:
            return
        if len(_warned) < _WARNED_LIMIT:
            _warned.add(key)
    log.warning("%s", text)


def _bounded(part: str) -> str:
    if len(part) <= _KEY_PART_MAX:
        return part
    import hashlib  # only here: kept off the import path

    digest = hashlib.sha256(part.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{part[:80]}...{digest}"


def shown(name: str) -> str:
    """A name a sender chose (a field's), as a warning shows it: as it is if short and
    printable, else as `short` shows it (escaped and cut: no forged log lines)."""
    return name if len(name) <= 80 and name.isprintable() else short(name)


def short(value: object) -> str:
    """`repr(value)` for a warning, at most 80 characters, scrubbed before it is cut."""
    text = redact(repr(value), READING_SECRET.get())
    return text if len(text) <= 80 else text[:77] + "..."
