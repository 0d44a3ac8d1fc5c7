"""Reading a body under a size cap, gzip/deflate inflated in bounded steps (a bomb stays
small): one reader for every sender (httpx, aiohttp, http.client).

`DECODERS` is the one list of what can be inflated; `ACCEPT_ENCODING`, the header every
sender asks with, is derived from it, so a server is never asked for a coding that the
reader would refuse.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final

from sms_status._exchange import BodyRejected

DECODERS: Final[Mapping[str, int]] = {
    "gzip": zlib.MAX_WBITS | 32,  # gzip or zlib framing, detected from the header
    "x-gzip": zlib.MAX_WBITS | 32,  # the old name of gzip (RFC 9110, 8.4.1.3)
    "deflate": zlib.MAX_WBITS,  # zlib-wrapped as meant; raw deflate is retried below
}
"""Content codings inflated in bounded steps -> zlib's `wbits` for each."""

ACCEPT_ENCODING: Final = ", ".join(coding for coding in DECODERS if not coding.startswith("x-"))
"""What every sender asks for: the codings of `DECODERS` (their old aliases aside)."""


class _Inflater:
    """One content coding, inflated at most `limit` bytes per call (a bomb stays small)."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._raw_deflate = False
        self._zlib = zlib.decompressobj(DECODERS[coding])
        self._started = False

    def inflate(self, data: bytes, step: Callable[[], int]) -> Iterator[bytes]:
        """Inflate `data`, `step()` bytes at most at a time (asked afresh for each piece)."""
        while True:
            limit = step()
            try:
                out = self._zlib.decompress(data, limit)
            except zlib.error:
                if self._coding == "deflate" and not self._started and not self._raw_deflate:
                    # "deflate" is meant as zlib-wrapped, but many servers send it raw.
                    self._raw_deflate = True
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise
            self._started = True
            rest = self._zlib.unconsumed_tail
            if out:
                yield out
            # Bytes past the end of the stream are ignored, as httpx does.
            if self._zlib.eof or (not rest and len(out) < limit) or (not out and rest == data):
                return
            data = rest

    def flush(self) -> bytes:
        return self._zlib.flush(1)


class BoundedBody:
    """Collects a body, inflating gzip/deflate in steps, and stops past `cap` bytes."""

    def __init__(self, content_encoding: str | None, cap: int) -> None:
        sent = [c.strip() for c in (content_encoding or "").split(",") if c.strip()]
        codings = [c.lower() for c in sent if c.lower() != "identity"]
        # Named as sent: a lowercased echo of the key would slip past `redact`.
        unsupported = [c for c in sent if c.lower() != "identity" and c.lower() not in DECODERS]
        if unsupported:
            raise ValueError(f"unsupported Content-Encoding {', '.join(unsupported)!r}")
        # Codings are listed in the order applied: undo them last to first.
        self._inflaters = [_Inflater(c) for c in reversed(codings)]
        self._cap = cap
        self._body = bytearray()

    def _through(self, chunks: Iterable[bytes], stage: int) -> Iterator[bytes]:
        if stage == len(self._inflaters):
            yield from chunks
            return
        inflater = self._inflaters[stage]
        for chunk in chunks:
            yield from self._through(inflater.inflate(chunk, self._step), stage + 1)

    def _step(self) -> int:
        return max(1, min(64 * 1024, self._cap + 1 - len(self._body)))

    def feed(self, chunk: bytes) -> None:
        """Add raw bytes; OverflowError once more than the cap has been decoded."""
        for piece in self._through((chunk,), 0):
            self._body += piece
            if len(self._body) > self._cap:
                raise OverflowError(f"the body is larger than {self._cap} bytes")

    def finish(self) -> bytes:
        for stage, inflater in enumerate(self._inflaters):
            rest = inflater.flush()
            if rest:
                for piece in self._through((rest,), stage + 1):
                    self._body += piece
        if len(self._body) > self._cap:
            raise OverflowError(f"the body is larger than {self._cap} bytes")
        return bytes(self._body)


def bounded_body(status: int, headers: Mapping[str, str], cap: int) -> BoundedBody:
    try:
        return BoundedBody(headers.get("content-encoding"), cap)
    except ValueError as exc:
        raise BodyRejected(str(exc), status_code=status, headers=headers) from None


def feed(
    body: BoundedBody, chunk: bytes | None, status: int, headers: Mapping[str, str]
) -> bytes | None:
    """Feed one chunk (None: the end); the whole body at the end; BodyRejected on a bad one."""
    try:
        if chunk is None:
            return body.finish()
        body.feed(chunk)
    except OverflowError as exc:
        reason = f"{exc} (max_response_bytes)"
    except zlib.error:
        reason = "the body is not valid for its Content-Encoding"
    else:
        return None
    raise BodyRejected(reason, status_code=status, headers=headers)
