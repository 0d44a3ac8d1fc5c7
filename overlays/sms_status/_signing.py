"""Request signing: a fresh, never-repeated (timestamp, signature) pair on every attempt.

The signature itself is the provider's (telecom23's HMAC: `providers/telecom23.py`, `sign`);
this module owns when each request is stamped, so a client and its `with_options()` copies,
on any thread, never send the same pair twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

Sign = Callable[[str, str, str, str], dict[str, str]]
"""A provider's signature: (secret, method, path, timestamp) -> the headers to add."""

_STAMPS_KEPT = 10_000
"""Past this many paths, forget the stamps that can no longer collide (older than now)."""


class RequestSigner:
    """Signs each request it is handed with the provider's signature, stamped afresh.

    A (timestamp, signature) pair is accepted once, and a retry of the same path within the
    same second would repeat it: such a retry is stamped one second later.
    """

    __slots__ = ("_last_stamp", "_lock", "_prefix", "_secret", "_sign")

    def __init__(self, sign: Sign, secret: str, *, base_path: str = "") -> None:
        if not isinstance(secret, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"signing_secret must be a str, not {type(secret).__name__}")
        if not secret:
            raise ValueError("signing_secret must not be empty")
        try:  # HMAC keys are its UTF-8 bytes: else every request fails, retried, at send time
            secret.encode()
        except UnicodeEncodeError:
            raise ValueError("signing_secret is not valid text (a lone surrogate)") from None
        self._sign = sign
        self._secret = secret
        # A base URL's path is a proxy's prefix, which it strips: the provider checks the
        # signature against its own path ("/api/v1/..."), the one signed.
        self._prefix = base_path.rstrip("/").encode("ascii")
        self._lock = threading.Lock()
        self._last_stamp: dict[str, int] = {}
        """The newest stamp given to each path (the query string is not signed)."""

    def sign(self, request: httpx.Request) -> httpx.Request:
        """`request` with the signature headers added (the same object, changed in place)."""
        raw = request.url.raw_path.split(b"?", 1)[0]
        if self._prefix and raw.startswith(self._prefix + b"/"):
            raw = raw[len(self._prefix) :]
        path = raw.decode("ascii")
        now = int(time.time())
        with self._lock:
            if len(self._last_stamp) > _STAMPS_KEPT:
                self._last_stamp = {p: t for p, t in self._last_stamp.items() if t >= now}
            stamp = max(now, self._last_stamp.get(path, now - 1) + 1)
            self._last_stamp[path] = stamp
        request.headers.update(self._sign(self._secret, request.method, path, str(stamp)))
        return request

    def __repr__(self) -> str:  # never the secret
        return f"{type(self).__name__}()"
