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

MAX_CODINGS: Final = 5
"""Content codings one body may stack (urllib3's limit too): each costs an inflater."""


class _Inflater:
    """One content coding, inflated at most `limit` bytes per call (a bomb stays small)."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._zlib = zlib.decompressobj(DECODERS[coding])
        # "deflate" is meant zlib-wrapped, but many servers send it raw: zlib says so once it
        # has the 2-byte header, and from one byte alone it can tell nothing. Its first bytes
        # are kept until then, to start over on them as raw deflate.
        self._first: bytes | None = b"" if coding == "deflate" else None

    @property
    def eof(self) -> bool:
        """The coded stream ended: whatever follows it is ignored, unread."""
        return self._zlib.eof

    def inflate(self, data: bytes, step: Callable[[], int]) -> Iterator[bytes]:
        """Inflate `data`, `step()` bytes at most at a time (asked afresh for each piece)."""
        seen = None
        if self._first is not None:
            seen = self._first + data
            self._first = seen if len(seen) < 2 else None
        # Fed past its end, zlib would copy every byte into `unused_data`, again and again.
        while not self._zlib.eof:
            limit = step()
            try:
                out = self._zlib.decompress(data, limit)
            except zlib.error:
                if seen is None:
                    raise
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                data, seen, self._first = seen, None, None
                continue
            rest = self._zlib.unconsumed_tail
            if out:
                yield out
            # Bytes past the end of the stream are ignored, as httpx does.
            if self._zlib.eof or (not rest and len(out) < limit) or (not out and rest == data):
                return
            data = rest

    def rest(self, step: Callable[[], int]) -> Iterator[bytes]:
        """What is left once the input ended: in steps too (`flush` alone would inflate
        whatever input is still held back at once, unbounded)."""
        if self._zlib.unconsumed_tail:
            yield from self.inflate(self._zlib.unconsumed_tail, step)
        if not self._zlib.eof:
            tail = self._zlib.flush()
            if tail:
                yield tail


class BoundedBody:
    """Collects a body, inflating gzip/deflate in steps, and stops past `cap` bytes."""

    def __init__(self, content_encoding: str | None, cap: int) -> None:
        sent = [c.strip() for c in (content_encoding or "").split(",") if c.strip()]
        codings = [c.lower() for c in sent if c.lower() != "identity"]
        if len(codings) > MAX_CODINGS:
            raise ValueError(f"Content-Encoding stacks {len(codings)} codings, over {MAX_CODINGS}")
        # Named as sent: a lowercased echo of the key would slip past `redact`.
        unsupported = [c for c in sent if c.lower() != "identity" and c.lower() not in DECODERS]
        if unsupported:
            raise ValueError(f"unsupported Content-Encoding {', '.join(unsupported)!r}")
        # Codings are listed in the order applied: undo them last to first.
        self._inflaters = [_Inflater(c) for c in reversed(codings)]
        self._cap = cap
        self._body = bytearray()
        # What the outer codings inflate is counted too, not only the body: an inner one
        # may inflate to nothing (a gzip header whose comment never ends), so the cap alone
        # bounded no work — a few KB stacked twice made gigabytes to inflate. A coded body
        # within the cap is barely larger than it; the slack is generous.
        self._inner_input = 0
        self._inner_budget = (len(self._inflaters) - 1) * (cap + cap // 8 + 64 * 1024)
        # And what comes on the wire, when coded: bytes that inflate to nothing (a header
        # whose comment never ends) or lie past the stream's end (ignored) fill no cap, and
        # a server sending them for ever held the call to its timeout, then its retries.
        self._wire_input = 0
        self._wire_budget = cap + cap // 8 + 64 * 1024 if self._inflaters else None

    def _through(self, chunks: Iterable[bytes], stage: int) -> Iterator[bytes]:
        if stage == len(self._inflaters):
            yield from chunks
            return
        inflater = self._inflaters[stage]
        for chunk in chunks:
            if self._ended(stage):  # the rest lies past a coding's end: not even inflated
                return
            if stage:  # an inner coding's input: what the outer ones inflated
                self._inner_input += len(chunk)
                if self._inner_input > self._inner_budget:
                    raise OverflowError(
                        f"its content codings inflate past {self._inner_budget} bytes"
                    )
            yield from self._through(inflater.inflate(chunk, self._step), stage + 1)

    def _ended(self, stage: int = 0) -> bool:
        """Whether the stream of a coding from `stage` inward ended: what is fed to `stage`
        from now on is ignored (from 0: the body is whole, whatever else comes)."""
        return any(inflater.eof for inflater in self._inflaters[stage:])

    def _step(self) -> int:
        return max(1, min(64 * 1024, self._cap + 1 - len(self._body)))

    def feed(self, chunk: bytes) -> None:
        """Add raw bytes; OverflowError once more than the cap has been decoded (or, coded,
        more than the cap and some slack has come)."""
        if self._wire_budget is not None:
            self._wire_input += len(chunk)
            if self._wire_input > self._wire_budget:
                raise OverflowError(f"its coded body is over {self._wire_budget} bytes")
        if not self._ended():
            self._add(self._through((chunk,), 0))

    def finish(self) -> bytes:
        for stage, inflater in enumerate(self._inflaters):
            if self._ended(stage):
                continue  # its output would lie past a coding's end: ignored, so not made
            self._add(self._through(inflater.rest(self._step), stage + 1))
        return bytes(self._body)

    def discard(self) -> None:
        """Drop what was read (a rejected body)."""
        self._body = bytearray()

    def _add(self, pieces: Iterable[bytes]) -> None:
        for piece in pieces:
            self._body += piece
            if len(self._body) > self._cap:
                raise OverflowError(f"the body is larger than {self._cap} bytes")


def bounded_body(status: int, headers: Mapping[str, str], cap: int) -> BoundedBody:
    """The reader of a body whose head is `headers`: ConnectionError for a framing no reader
    can trust (RFC 9112, 6.3: Content-Length values that differ, or one beside a
    Transfer-Encoding), on every backend alike (some parsers let them through)."""
    lengths = _all(headers, "content-length")
    if lengths is not None:
        declared = {v.strip() for value in lengths for v in value.split(",")}
        if len(declared) > 1:
            raise ConnectionError("the response has conflicting Content-Length values")
        # Digits only (6.3): http.client read "abc" as "until the close" (the attempt's whole
        # timeout on a kept-alive connection) and "1_0" as 10, where the others refuse both.
        if not all(v.isascii() and v.isdigit() for v in declared):
            raise ConnectionError("the response has an invalid Content-Length")
        if headers.get("transfer-encoding") is not None:
            raise ConnectionError("the response has both Transfer-Encoding and Content-Length")
    try:
        return BoundedBody(_content_encoding(headers), cap)
    except ValueError as exc:
        raise BodyRejected(str(exc), status_code=status, headers=headers) from None


def _all(headers: Mapping[str, str], name: str) -> list[str] | None:
    """Every line of header `name` (httpx's headers join repeated ones with ", ", aiohttp's
    keep them apart), or None."""
    getall = getattr(headers, "getall", None)
    if getall is None:
        value = headers.get(name)
        return None if value is None else [value]
    return list(getall(name, ())) or None


def _content_encoding(headers: Mapping[str, str]) -> str | None:
    """Every Content-Encoding line, joined: two lines mean what one comma-joined line does
    (RFC 9110, 5.3). httpx's headers join them already; aiohttp's keep them apart."""
    getall = getattr(headers, "getall", None)
    if getall is None:
        return headers.get("content-encoding")
    return ", ".join(getall("content-encoding", ())) or None


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
    # What was read goes now: the rejection's traceback holds frames that hold this reader,
    # and a cycle through them freed up to the cap per call only when the GC ran.
    body.discard()
    raise BodyRejected(reason, status_code=status, headers=headers)
