"""`_transport/body`: the one bounded reader every sender uses. A body is inflated in
bounded steps (a bomb costs at most the cap), refused past the cap or in a coding it cannot
read, and `Accept-Encoding` asks for exactly what it can read."""

from __future__ import annotations

import gzip
import random
import tracemalloc
import zlib
from collections.abc import Callable
from typing import TypeVar

import pytest
from sms_status._exchange import BodyRejected
from sms_status._transport.body import (
    ACCEPT_ENCODING,
    DECODERS,
    BoundedBody,
    bounded_body,
    feed,
)

PAYLOAD = b'{"status": "DELIVRD"}' * 50


def _read(body: BoundedBody, data: bytes, chunk: int = 7) -> bytes:
    for start in range(0, len(data), chunk):
        body.feed(data[start : start + chunk])
    return body.finish()


def test_accept_encoding_is_derived_from_the_decoders() -> None:
    assert ACCEPT_ENCODING == "gzip, deflate"
    assert {c.strip() for c in ACCEPT_ENCODING.split(",")} <= set(DECODERS)


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        (None, lambda b: b),
        ("identity", lambda b: b),
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("GZip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as many servers send
    ],
)
def test_each_coding_is_read_back_whole(coding: str | None, encode: object) -> None:
    assert callable(encode)
    assert _read(BoundedBody(coding, 1 << 20), encode(PAYLOAD)) == PAYLOAD


@pytest.mark.parametrize("chunk", [1, 2, 3])
@pytest.mark.parametrize("wrapped", [True, False], ids=["zlib", "raw"])
def test_deflate_is_read_whole_in_pieces_of_any_size(chunk: int, wrapped: bool) -> None:
    # Raw deflate whose first byte came alone (a 1-byte first chunk, a segment's edge) was
    # refused: from one byte zlib can tell nothing, and the fall-back to raw was past.
    data = zlib.compress(PAYLOAD) if wrapped else zlib.compress(PAYLOAD)[2:-4]
    assert _read(BoundedBody("deflate", 1 << 20), data, chunk) == PAYLOAD


def test_stacked_codings_are_undone_last_to_first() -> None:
    data = gzip.compress(zlib.compress(PAYLOAD))
    assert _read(BoundedBody("deflate, gzip", 1 << 20), data) == PAYLOAD


@pytest.mark.parametrize("stack", [2, 5])
def test_stacked_codings_of_a_body_at_the_cap_are_read_though_they_do_not_compress(
    stack: int,
) -> None:
    # The outer codings' output is bounded too (a bomb may inflate to nothing inside): never
    # so tightly that a body within the cap, coded over and over, is refused.
    cap = 256 * 1024
    body = random.Random(7).randbytes(cap)
    coded = body
    for _ in range(stack):
        coded = gzip.compress(coded, compresslevel=0)  # only grows
    assert _read(BoundedBody(", ".join(["gzip"] * stack), cap), coded, chunk=4096) == body


def test_stacked_codings_inflating_past_their_budget_stop_though_the_body_is_empty() -> None:
    inner = b"\x1f\x8b\x08\x10\x00\x00\x00\x00\x00\xff" + b"a" * (4 << 20)  # endless comment
    body = BoundedBody("gzip, gzip", 1024 * 1024)
    with pytest.raises(OverflowError, match="inflate past"):
        _read(body, gzip.compress(inner), chunk=4096)


def test_a_gzip_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (50 << 20))
    body = BoundedBody("gzip", 1 << 20)
    with pytest.raises(OverflowError, match="larger than 1048576 bytes"):
        _read(body, bomb, chunk=64 * 1024)


def test_a_plain_body_over_the_cap_is_refused() -> None:
    with pytest.raises(OverflowError):
        _read(BoundedBody(None, 10), b"x" * 11)
    assert _read(BoundedBody(None, 11), b"x" * 11) == b"x" * 11


def test_bytes_after_the_end_of_a_gzip_stream_are_ignored() -> None:
    assert _read(BoundedBody("gzip", 1 << 20), gzip.compress(PAYLOAD) + b"junk") == PAYLOAD


def test_an_unknown_coding_is_a_rejected_body_named_as_sent() -> None:
    with pytest.raises(BodyRejected, match="unsupported Content-Encoding 'Br'") as caught:
        bounded_body(200, {"content-encoding": "Br"}, 100)
    assert caught.value.status_code == 200


def test_feed_says_why_a_body_was_cut() -> None:
    headers = {"content-encoding": "gzip"}
    body = bounded_body(200, headers, 100)
    with pytest.raises(BodyRejected, match="not valid for its Content-Encoding"):
        feed(body, b"not gzip at all", 200, headers)
    small = bounded_body(200, {}, 3)
    with pytest.raises(BodyRejected, match=r"larger than 3 bytes \(max_response_bytes\)"):
        feed(small, b"abcd", 200, {})
    whole = bounded_body(200, {}, 10)
    assert feed(whole, b"abc", 200, {}) is None
    assert feed(whole, None, 200, {}) == b"abc"


T = TypeVar("T")


def _peak_bytes_while(read: Callable[[], T]) -> tuple[T, int]:
    tracemalloc.start()
    try:
        return read(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_bytes_past_a_streams_end_are_neither_kept_nor_inflated() -> None:
    # gzip(json) and then 48 MiB of zeros, all gzipped again: 48 KiB on the wire. Inflating
    # what lies past the inner stream's end cost seconds and ~70 MiB before.
    inner = gzip.compress(PAYLOAD)
    zeros = zlib.compressobj(9, zlib.DEFLATED, 31)
    wire = (
        zeros.compress(inner)
        + b"".join(zeros.compress(b"\0" * (1 << 20)) for _ in range(48))
        + zeros.flush()
    )
    assert len(wire) < 64 * 1024
    body = BoundedBody("gzip, gzip", 256 * 1024)
    read, peak = _peak_bytes_while(lambda: _read(body, wire, chunk=16 * 1024))
    assert read == PAYLOAD
    assert peak < 2 << 20  # a step or two of inflation, not the 48 MiB


def test_endless_bytes_after_a_gzip_stream_are_cut_with_memory_flat() -> None:
    # Ignored bytes filled no cap: a server sending them for ever held the call until its
    # timeout (then its retries), gigabytes read.
    body = BoundedBody("gzip", 256 * 1024)

    def read() -> int:
        body.feed(gzip.compress(PAYLOAD))
        for chunks in range(640):  # 40 MiB more, chunk by chunk, as a server keeps sending
            try:
                body.feed(b"\0" * 65536)
            except OverflowError:
                return chunks * 65536
        return -1

    fed, peak = _peak_bytes_while(read)
    assert 0 < fed <= 256 * 1024 + 32 * 1024 + 64 * 1024  # cut at the cap and its slack
    assert peak < 1 << 20


def test_a_gzip_header_that_never_ends_is_cut_at_the_cap_and_its_slack() -> None:
    body = BoundedBody("gzip", 64 * 1024)
    endless_comment = b"\x1f\x8b\x08\x10\x00\x00\x00\x00\x00\xff"
    with pytest.raises(OverflowError, match="coded body is over"):
        _read(body, endless_comment + b"a" * (4 << 20), chunk=4096)


def test_more_stacked_codings_than_five_are_a_rejected_body() -> None:
    assert _read(BoundedBody(", ".join(["gzip"] * 5), 1 << 20), _gzipped(PAYLOAD, 5)) == PAYLOAD
    with pytest.raises(BodyRejected, match="stacks 6 codings"):
        bounded_body(200, {"content-encoding": ", ".join(["gzip"] * 6)}, 100)
    with pytest.raises(BodyRejected, match="stacks 200000 codings"):  # no inflater built
        bounded_body(200, {"content-encoding": ", ".join(["gzip"] * 200_000)}, 100)


def _gzipped(data: bytes, times: int) -> bytes:
    for _ in range(times):
        data = gzip.compress(data)
    return data
