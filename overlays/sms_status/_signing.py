"""Request signing: a fresh, never-repeated (timestamp, signature) pair on every attempt.

The signature itself is the provider's (telecom23's HMAC: `providers/telecom23.py`, `sign`);
this module owns when each request is stamped, so no two clients of a process with the same
secret (a client and its `with_options()` copies, a sync and an async one), on any thread,
ever send the same pair.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

import httpx

Sign = Callable[[str, str, str, str], dict[str, str]]
"""A provider's signature: (secret, method, path, timestamp) -> the headers to add."""

_STAMPS_KEPT = 10_000
"""Past this many paths, forget the stamps that can no longer collide (older than now)."""

_STAMPS_AHEAD = 60
"""Seconds a stamp may run ahead of the clock (telecom23 accepts 5 minutes either way): a
burst past one request a second on one path uses them up, then fails as a TransportError
(retried with backoff) instead of a pair the provider would refuse for minutes."""

_stamps_lock = threading.Lock()
_last_stamps: dict[tuple[bytes, str], int] = {}
"""The newest stamp given to each (secret's digest, path) in this process: every client with
the same secret (a sync and an async one side by side, say) shares them, or two would send
the same pair in lockstep, and the provider refuses the second."""


class RequestSigner:
    """Signs each request it is handed with the provider's signature, stamped afresh.

    A (timestamp, signature) pair is accepted once, and a retry of the same path within the
    same second would repeat it: such a retry is stamped one second later.
    """

    __slots__ = ("_digest", "_prefix", "_secret", "_sign")

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
        self._digest = hashlib.sha256(secret.encode()).digest()  # the stamps' key, not it

    def sign(self, request: httpx.Request) -> httpx.Request:
        """`request` with the signature headers added (the same object, changed in place)."""
        raw = request.url.raw_path.split(b"?", 1)[0]
        if self._prefix and raw.startswith(self._prefix + b"/"):
            raw = raw[len(self._prefix) :]
        path = raw.decode("ascii")
        now = int(time.time())
        key = (self._digest, path)  # the query string is not signed
        with _stamps_lock:
            if len(_last_stamps) > _STAMPS_KEPT:
                for old in [k for k, t in _last_stamps.items() if t < now]:
                    del _last_stamps[old]
            stamp = max(now, _last_stamps.get(key, now - 1) + 1)
            if stamp > now + _STAMPS_AHEAD:  # past it the provider refuses the pair: not sent
                raise ConnectionError(
                    f"over {_STAMPS_AHEAD} signed requests a second for one path: no fresh "
                    "timestamp the provider accepts is left now"
                )
            _last_stamps[key] = stamp
        request.headers.update(self._sign(self._secret, request.method, path, str(stamp)))
        return request

    def __repr__(self) -> str:  # never the secret
        return f"{type(self).__name__}()"
