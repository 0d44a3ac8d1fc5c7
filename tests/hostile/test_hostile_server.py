"""Whatever a server sends, every call ends by its timeout, memory stays bounded, and only
`SmsStatusError`s escape — sync and async alike, over real loopback sockets."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import pickle
import socket
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import pytest
import sms_status
from hostile_support import (
    API_KEY,
    CHUNKED,
    MESSAGE_ID,
    TELECOM23_DELIVERED,
    HostileServer,
    Script,
    bomb,
    drip,
    drip_after,
    endless_chunked,
    endless_chunked_declared_small,
    header_value,
    huge,
    json_response,
    raw,
    reset,
    response,
    sequence,
    silent,
    zero_output_bomb,
)
from sms_status.errors import (
    MalformedResponseError,
    RateLimitError,
    ServerError,
    SmsStatusError,
    TransportError,
)
from sms_status.report import StatusReport

Start = Callable[[Script], HostileServer]
MODES = ("sync", "async", "async-httpx")
"""The sync client, and the async one over its default transport (aiohttp with
`sms-status[fast]`) and over httpx's own."""


def _backend(mode: str) -> dict[str, Any]:
    return {"http_backend": "httpx"} if mode == "async-httpx" else {}


TIMEOUT = 1.0
MARGIN = 4.0
"""Slack over the timeout for a loaded machine (more workers than cores). Without the bound
a drip holds a call forever, and wait_for_final would wait for the client's 30 s."""


def _lookup(
    mode: str, server: HostileServer, *, provider: str = "telecom23", **options: Any
) -> StatusReport | SmsStatusError:
    """get_status against `server`; the SmsStatusError it raised, if any (others propagate)."""
    options = {
        "api_key": API_KEY,
        "timeout": TIMEOUT,
        "max_retries": 0,
        "rate_limiter": None,
        **options,
    }
    try:
        if mode == "sync":
            with sms_status.connect(provider, base_url=server.base_url, **options) as client:
                return client.get_status(MESSAGE_ID)

        async def main() -> StatusReport:
            async with sms_status.connect_async(
                provider, base_url=server.base_url, **options, **_backend(mode)
            ) as client:
                return await client.get_status(MESSAGE_ID)

        return asyncio.run(main())
    except SmsStatusError as exc:
        return exc


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "script", [drip(0.2), drip(0.2, head_first=False), silent], ids=["body", "head", "silent"]
)
def test_a_trickling_or_silent_server_cannot_hold_a_call_past_its_timeout(
    hostile: Start, mode: str, script: Script
) -> None:
    server = hostile(script)
    error, elapsed = _timed(lambda: _lookup(mode, server))
    assert isinstance(error, TransportError)
    assert "within" in str(error) or "timed out" in str(error).lower()
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + MARGIN


@pytest.mark.parametrize("mode", MODES)
def test_the_timeout_bounds_every_retry_attempt_not_only_each_read(
    hostile: Start, mode: str
) -> None:
    server = hostile(drip(0.2))
    error, elapsed = _timed(lambda: _lookup(mode, server, max_retries=1))
    assert isinstance(error, TransportError)
    assert len(server.requests) == 2
    assert elapsed < 2 * TIMEOUT + 0.5 + MARGIN  # two attempts and one backoff (<= 0.5 s)


@pytest.mark.parametrize("mode", MODES)
def test_a_read_timeout_shorter_than_the_others_ends_a_silent_wait_by_itself(
    hostile: Start, mode: str
) -> None:
    """The whole attempt may take 30 s here, but no wait for a byte more than 0.3 s."""
    import httpx

    server = hostile(silent)
    error, elapsed = _timed(lambda: _lookup(mode, server, timeout=httpx.Timeout(30.0, read=0.3)))
    assert isinstance(error, TransportError)
    assert "30 s" not in str(error)  # the read limit ended it, not the attempt's
    assert elapsed < 0.3 + MARGIN


@pytest.mark.parametrize("mode", MODES)
def test_wait_for_final_returns_within_its_timeout_against_a_silent_server(
    hostile: Start, mode: str
) -> None:
    server = hostile(silent)
    options: dict[str, Any] = {"api_key": API_KEY, "base_url": server.base_url, "timeout": 30}

    def wait() -> object:
        try:
            if mode == "sync":
                with sms_status.connect("telecom23", **options) as client:
                    return client.wait_for_final(MESSAGE_ID, timeout=1.0)

            async def main() -> StatusReport:
                async with sms_status.connect_async(
                    "telecom23", **options, **_backend(mode)
                ) as client:
                    return await client.wait_for_final(MESSAGE_ID, timeout=1.0)

            return asyncio.run(main())
        except SmsStatusError as exc:
            return exc

    error, elapsed = _timed(wait)
    assert isinstance(error, TransportError)
    assert elapsed < 1.0 + MARGIN


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "script", [huge(200 * 1024 * 1024), endless_chunked, bomb], ids=["200MB", "endless", "bomb"]
)
def test_a_body_past_max_response_bytes_is_refused_having_read_at_most_the_cap(
    hostile: Start, mode: str, script: Script
) -> None:
    cap = 256 * 1024
    server = hostile(script)
    error = _lookup(mode, server, max_response_bytes=cap, timeout=20)
    assert isinstance(error, MalformedResponseError)
    assert "max_response_bytes" in str(error)
    # The rest stays unsent in the socket buffers: a few MB at most, never the 200 MB.
    assert server.bytes_sent < 32 * 1024 * 1024


@pytest.mark.parametrize("mode", MODES)
def test_stacked_codings_that_inflate_to_nothing_cannot_hold_a_call_past_its_timeout(
    hostile: Start, mode: str
) -> None:
    # A few KB, gzipped twice over a gzip header that never ends: the cap counted only the
    # body, which stays empty, so a call (and an async client's whole loop) inflated
    # gigabytes, one read's worth at a time, for tens of seconds past its timeout.
    body = zero_output_bomb()
    assert len(body) < 64 * 1024

    def script(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        headers = {"Content-Encoding": "gzip, gzip, gzip", "Content-Type": "application/json"}
        server.send(connection, response(200, body, headers))
        server.stopped.wait()

    error, elapsed = _timed(lambda: _lookup(mode, hostile(script)))
    assert isinstance(error, MalformedResponseError | TransportError)
    assert elapsed < TIMEOUT + MARGIN


@pytest.mark.parametrize("mode", MODES)
def test_a_small_content_length_cannot_smuggle_an_endless_chunked_body(
    hostile: Start, mode: str
) -> None:
    server = hostile(endless_chunked_declared_small)
    error, elapsed = _timed(
        lambda: _lookup(mode, server, max_response_bytes=256 * 1024, timeout=20)
    )
    # Refused as framing (both headers at once) or cut at the cap: never read on and on.
    assert isinstance(error, MalformedResponseError | TransportError)
    assert server.bytes_sent < 32 * 1024 * 1024
    assert elapsed < 20


@pytest.mark.parametrize("mode", MODES)
def test_a_body_within_the_cap_is_read_whole_gzipped_or_not(hostile: Start, mode: str) -> None:
    import gzip
    import json

    body = gzip.compress(json.dumps(TELECOM23_DELIVERED).encode())
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    server = hostile(
        raw(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body)
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
            + b"\r\n"
            + body
        )
    )
    report = _lookup(mode, server)
    assert isinstance(report, StatusReport)
    assert report.provider_status == "DELIVRD"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "script",
    [
        reset,
        raw(b""),
        raw(b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"status": true'),
        raw(b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n{}"),
        raw(b"HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n"),
        raw(b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"),
        raw(b"SMTP ready\r\n\r\n"),
        raw(b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\n{}"),
        raw(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope"),
        raw(b"HTTP/1.1 200 OK\r\nX-Odd: \xff\xfe\r\nContent-Length: 4\r\n\r\n\xff\xfe\xfd\xfc"),
        raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    ],
    ids=[
        "reset",
        "closed",
        "truncated",
        "bad-length",
        "bad-header",
        "bad-status",
        "not-http",
        "brotli",
        "bad-gzip",
        "non-utf8",
        "bad-chunk",
    ],
)
def test_broken_answers_raise_only_sms_status_errors(
    hostile: Start, mode: str, script: Script
) -> None:
    server = hostile(script)
    error = _lookup(mode, server)
    assert isinstance(error, SmsStatusError)
    assert server.request_seen.is_set()


@pytest.mark.parametrize("mode", MODES)
def test_a_reset_is_told_as_one_on_every_backend(hostile: Start, mode: str) -> None:
    # httpx's ReadError of a reset has no text of its own: it read "ReadError: no detail".
    error = _lookup(mode, hostile(reset))
    assert isinstance(error, TransportError)
    assert "ConnectionResetError" in error.message or "reset" in error.message.lower(), error
    assert "no detail" not in error.message


@pytest.mark.parametrize("mode", MODES)
def test_header_bytes_that_are_not_utf8_reach_an_error_as_printable_text(
    hostile: Start, mode: str
) -> None:
    """aiohttp keeps such bytes as lone surrogates, which print() or a UTF-8 log cannot
    encode, and httpx.Headers refuses http.client's Latin-1 text: an error's headers and
    request id must hold text any encoder takes."""
    server = hostile(
        raw(
            b"HTTP/1.1 500 X\r\nX-Request-Id: caf\xe9\r\nX-Odd: \xff\xfe\r\n"
            b"Content-Length: 2\r\n\r\n{}"
        )
    )
    error = _lookup(mode, server)
    assert isinstance(error, SmsStatusError)
    assert isinstance(error, ServerError)  # the answer, not a failure to read it
    shown = [str(error), error.request_id or "", *error.headers.values()]
    assert "\n".join(shown).encode("utf-8")  # no UnicodeEncodeError
    assert error.request_id == "caf\u00e9"
    assert error.headers["x-odd"] == "\u00ff\u00fe"


HOSTILE_RETRY_AFTER = [
    "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Mon, 01 Jan 0000 00:00:00 GMT",
    "-1",
    "nan",
    "inf",
    "1e309",
    "99999999999999999999999999",
    "\u00e9t\u00e9",
    "",
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("value", HOSTILE_RETRY_AFTER)
def test_hostile_retry_after_values_give_a_rate_limit_error_or_a_retry(
    hostile: Start, mode: str, value: str
) -> None:
    # `raw` closes the connection after its answer: "Connection: close" says so, or the
    # retry may be sent on it before its FIN arrives (under load) and find it closed.
    limited = json_response(
        429,
        {"status": False, "error_code": "RATE_LIMIT_EXCEEDED"},
        {"Retry-After": value, "Connection": "close"},
    )
    server = hostile(sequence(raw(limited), raw(json_response(200, TELECOM23_DELIVERED))))
    result = _lookup(mode, server, max_retries=1, retry_after_cap=0.01)
    assert isinstance(result, StatusReport | RateLimitError)
    if isinstance(result, StatusReport):
        assert result.provider_status == "DELIVRD"


def test_one_hostile_id_in_an_async_bulk_lookup_never_costs_the_others(
    hostile: Start,
) -> None:
    limited = json_response(
        429, {}, {"Retry-After": "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"}
    )
    delivered = json_response(200, TELECOM23_DELIVERED)

    def script(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        server.send(connection, limited if b"/bad" in head.split(b"\r\n")[0] else delivered)

    server = hostile(script)

    async def main() -> list[StatusReport]:
        async with sms_status.connect_async(
            "telecom23",
            api_key=API_KEY,
            base_url=server.base_url,
            max_retries=0,
            rate_limiter=None,
        ) as client:
            return await client.get_statuses(["a", "bad", "c"])

    reports = asyncio.run(main())
    assert [r.message_id for r in reports] == ["a", "bad", "c"]
    assert reports[0].error is None
    assert reports[2].error is None
    assert isinstance(reports[1].error, RateLimitError)


def _echo_key_as(cased: Callable[[str], str]) -> Script:
    """An error naming the key everywhere it can, as `cased` writes it."""

    def script(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        key = cased(header_value(head, "X-API-Key"))
        body = {
            "status": False,
            "error_code": f"BAD_{key}",
            "description": f"key {key} refused",
            "request_id": key,
        }
        headers = {"X-Echo": key, "Set-Cookie": f"k={key}", f"X-Echo-{key}": "in the name"}
        server.send(connection, json_response(401, body, headers))

    return script


_echo_key = _echo_key_as(str)


def _echo_key_malformed(connection: socket.socket, head: bytes, server: HostileServer) -> None:
    key = header_value(head, "X-API-Key")
    body = {"status": True, "message": {"message_id": key, "status": {"k": key}}}
    server.send(connection, json_response(200, body, {"X-Request-Id": key}))


def _echo_key_as_encoding(connection: socket.socket, head: bytes, server: HostileServer) -> None:
    key = header_value(head, "X-API-Key")
    server.send(connection, response(200, b"{}", {"Content-Encoding": f"gzip, {key}"}))


def _everything_said(error: BaseException) -> str:
    """Every string a user could see: str, repr, attributes, the chain, the traceback."""
    parts = [str(error), repr(error), repr(vars(error)), repr(error.args)]
    parts += traceback.format_exception(error)
    cause: BaseException | None = error
    while cause is not None:
        parts += [str(cause), repr(cause), repr(getattr(cause, "__dict__", {}))]
        cause = cause.__cause__ or cause.__context__
    return "\n".join(parts)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "script",
    [
        _echo_key,
        _echo_key_malformed,
        _echo_key_as_encoding,
        _echo_key_as(str.upper),
        _echo_key_as(str.swapcase),
    ],
    ids=["error", "malformed", "encoding", "upper case", "other cases"],
)
def test_a_server_echoing_the_key_never_gets_it_into_an_error(
    hostile: Start, mode: str, script: Script
) -> None:
    server = hostile(script)
    error = _lookup(mode, server)
    assert isinstance(error, SmsStatusError)
    assert API_KEY in server.requests[0].decode("latin-1")  # it was sent, and echoed
    # Case-blind: a lowercased or uppercased echo gives the key away as well.
    assert API_KEY.lower() not in _everything_said(error).lower()
    assert API_KEY.lower() not in repr(pickle.loads(pickle.dumps(error)).__dict__).lower()


@pytest.mark.parametrize("mode", MODES)
def test_a_key_with_a_backslash_and_a_quote_echoed_in_a_broken_header_never_leaks(
    hostile: Start, mode: str
) -> None:
    """A transport's error quotes the header line it could not parse as repr() shows it
    (aiohttp a repr of a repr): the key comes out escaped, and must be masked escaped too."""
    key = "sk_test_back\\slash'quote\"0SECRET0tail"

    def echo_in_a_broken_line(
        connection: socket.socket, head: bytes, server: HostileServer
    ) -> None:
        echoed = header_value(head, "X-API-Key").encode("latin-1")
        server.send(connection, b"HTTP/1.1 200 OK\r\nX-Echo: %s\rx\r\n\r\n{}" % echoed)
        connection.shutdown(socket.SHUT_WR)

    server = hostile(echo_in_a_broken_line)
    error = _lookup(mode, server, api_key=key)
    assert isinstance(error, SmsStatusError)
    assert "SECRET0tail" not in _everything_said(error)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("key", "options"),
    [("seven", {"lookup": "status"}), ("telecom23", {"signing_secret": "whsec_x"})],
    ids=["own-accept", "signed"],
)
def test_a_requests_own_headers_replace_the_clients_never_repeat_them(
    hostile: Start, mode: str, key: str, options: dict[str, Any]
) -> None:
    """On aiohttp the client's headers are session defaults, and a built request (seven's
    Accept, a signature) passes its own: each name must go out once, the request's value."""
    server = hostile(raw(json_response(500, {})))
    _lookup(mode, server, provider=key, **options)
    lines = server.requests[0].decode("latin-1").split("\r\n")[1:]
    names = [line.partition(":")[0].strip().lower() for line in lines]
    assert len(names) == len(set(names)), names
    if key == "seven":
        assert header_value(server.requests[0], "Accept") == "application/json"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_cookies_from_a_server_are_never_sent_back(hostile: Start, mode: str, host: str) -> None:
    """aiohttp's own jar (below httpx's) refuses cookies from IP addresses only: a named
    host is what shows whether the aiohttp transport replays them."""
    answer = json_response(200, TELECOM23_DELIVERED, {"Set-Cookie": "session=abc; Path=/"})

    def script(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        server.send(connection, answer)

    server = hostile(script)
    base_url = server.base_url.replace("127.0.0.1", host)
    options: dict[str, Any] = {"api_key": API_KEY, "base_url": base_url}

    if mode == "sync":
        with sms_status.connect("telecom23", **options) as client:
            client.get_status("m1")
            client.get_status("m2")
    else:

        async def main() -> None:
            async with sms_status.connect_async("telecom23", **options, **_backend(mode)) as client:
                await client.get_status("m1")
                await client.get_status("m2")

        asyncio.run(main())
    assert len(server.requests) == 2
    assert all(header_value(head, "Cookie") == "" for head in server.requests)


def _one_try(server: HostileServer) -> dict[str, Any]:
    """Options for a client of `server` that sends each request once, unpaced."""
    return {"api_key": API_KEY, "base_url": server.base_url, "max_retries": 0, "rate_limiter": None}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "stale",
    [json_response(503, {"status": False}), b"HTTP/1.1 50"],
    ids=["whole answer", "part of a status line"],
)
def test_bytes_sent_to_an_idle_connection_are_never_read_as_the_next_answer(
    hostile: Start, mode: str, stale: bytes
) -> None:
    """A server that writes to a pooled connection between requests (a stale answer, a late
    408, or only its first bytes) has desynchronised it: the next request must not take
    those bytes for (the start of) its answer, and a healthy connection is still reused."""
    answered, stale_sent = threading.Event(), threading.Event()
    first = threading.Lock()

    def script(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        server.send(connection, json_response(200, TELECOM23_DELIVERED))
        if first.acquire(blocking=False):  # the first connection only, once answered
            answered.wait(10)
            server.send(connection, stale)
            stale_sent.set()

    server = hostile(script)
    options = _one_try(server)
    if mode == "sync":
        with sms_status.connect("telecom23", **options) as client:
            client.get_status(MESSAGE_ID)
            answered.set()
            stale_sent.wait(10)
            report = client.get_status(MESSAGE_ID)
            client.get_status(MESSAGE_ID)
    else:

        async def main() -> StatusReport:
            async with sms_status.connect_async("telecom23", **options, **_backend(mode)) as client:
                await client.get_status(MESSAGE_ID)
                answered.set()
                await asyncio.to_thread(stale_sent.wait, 10)  # the loop sees the bytes arrive
                after_stale = await client.get_status(MESSAGE_ID)
                await client.get_status(MESSAGE_ID)
                return after_stale

        report = asyncio.run(main())
    assert stale_sent.is_set()
    assert report.provider_status == "DELIVRD"  # not the stale 503
    if mode != "async-httpx":  # httpx's requests take turns over several pools
        assert server.connections_accepted == 2  # the third call reused the second's


def test_the_start_of_another_reply_glued_to_an_answer_drops_the_connection(
    hostile: Start,
) -> None:
    """The same bytes as above, arriving in the same read as the end of the answer: held by
    aiohttp's parser, they must close the connection as bytes arriving later do. (The sync
    sender's buffered reader drops them unseen and reuses it: left as is. httpx's requests
    take turns over several pools, so a count of connections tells nothing there.)"""
    first = threading.Lock()

    def script(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        answer = json_response(200, TELECOM23_DELIVERED)
        if first.acquire(blocking=False):  # the first answer carries another's first bytes
            answer += b"HTTP/1.1 50"
        server.send(connection, answer)

    server = hostile(script)

    async def main() -> list[str]:
        async with sms_status.connect_async("telecom23", **_one_try(server)) as client:
            return [(await client.get_status(MESSAGE_ID)).provider_status for _ in range(2)]

    assert asyncio.run(main()) == ["DELIVRD", "DELIVRD"]
    assert server.connections_accepted == 2  # not reused after the first answer


def test_errors_from_a_hostile_server_pickle_and_deep_copy(hostile: Start) -> None:
    server = hostile(_echo_key)
    error = _lookup("sync", server)
    assert isinstance(error, SmsStatusError)
    for clone in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):
        assert type(clone) is type(error)
        assert vars(clone) == vars(error)
        assert str(clone) == str(error)


@pytest.mark.parametrize("mode", MODES)
def test_an_errors_headers_are_read_case_blind_joined_masked_and_copyable(
    hostile: Start, mode: str
) -> None:
    """Each sender hands the flow its own header mapping (aiohttp's CIMultiDictProxy, say):
    the error must come out the same from every one."""
    head = (
        "HTTP/1.1 429 X\r\nRETRY-AFTER: 7\r\nX-REQUEST-ID: req-1\r\nX-Dup: a\r\nx-dup: b\r\n"
        f"X-API-KEY: {API_KEY}\r\nX-Echo: [{API_KEY}]\r\nContent-Length: 2\r\n\r\n{{}}"
    )
    server = hostile(raw(head.encode()))
    error = _lookup(mode, server)
    assert isinstance(error, RateLimitError)
    assert (error.retry_after, error.request_id) == (7.0, "req-1")
    assert error.headers["x-dup"] == "a, b"
    assert (error.headers["x-api-key"], error.headers["x-echo"]) == ("***", "[***]")
    assert API_KEY not in _everything_said(error)
    for clone in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):
        assert vars(clone) == vars(error)


@pytest.mark.parametrize("mode", MODES)
def test_debug_logs_of_the_sdk_and_its_http_stack_never_show_an_echoed_key(
    hostile: Start, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = hostile(_echo_key)
    with caplog.at_level(logging.DEBUG):
        error = _lookup(mode, server, max_retries=1, retry_after_cap=0.0)
    assert isinstance(error, SmsStatusError)
    names = {record.name.split(".")[0] for record in caplog.records}
    if mode == "async-httpx":  # aiohttp and http.client (the defaults) do not log headers
        assert "httpcore" in names
    assert API_KEY not in "\n".join(record.getMessage() for record in caplog.records)


def _answer_with(status: int, body: bytes, headers: dict[str, str] | None = None) -> Script:
    def script(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        server.send(connection, response(status, body, headers))

    return script


def _delivered_with(**fields: str) -> bytes:
    return json.dumps(
        {**TELECOM23_DELIVERED, "message": {**TELECOM23_DELIVERED["message"], **fields}}
    ).encode()


KEY_CUT_AT_200 = "r" * 180 + API_KEY
"""Where the SDK keeps the first 200 characters, the key would be cut after 20."""

ECHOES_THAT_GET_TRUNCATED = {
    "request-id": _answer_with(401, b"{}", {"X-Request-Id": KEY_CUT_AT_200}),
    "body-excerpt": _answer_with(500, API_KEY.encode() * 200),
    "status": _answer_with(200, _delivered_with(status="s" * 60 + API_KEY)),
    "unreadable-field": _answer_with(200, _delivered_with(delivered_at="d" * 50 + API_KEY)),
}


@pytest.mark.parametrize(
    "script", ECHOES_THAT_GET_TRUNCATED.values(), ids=ECHOES_THAT_GET_TRUNCATED.keys()
)
def test_a_key_echoed_where_the_sdk_truncates_never_leaks_in_part(
    hostile: Start, script: Script, caplog: pytest.LogCaptureFixture
) -> None:
    """Scrubbing must come before truncating: the other way round, the key is cut where the
    text is, no longer matches, and its first characters stay in the error or the log."""
    server = hostile(script)
    with caplog.at_level(logging.DEBUG):
        result = _lookup("sync", server)
    said = [record.getMessage() for record in caplog.records]
    if isinstance(result, SmsStatusError):
        said.append(_everything_said(result))
    assert said  # an error, or a warning about the echoed value: something to look into
    assert API_KEY[:12].lower() not in "\n".join(said).lower()


@pytest.mark.parametrize("option", ["http_client", "transport"])
@pytest.mark.parametrize(
    "script",
    [
        drip(0.2),
        drip(0.2, head_first=False),
        drip_after(CHUNKED + b"1;ext=", 0.2),
        drip_after(CHUNKED + b"2\r\n{}\r\n0\r\nX-Trailer: ", 0.2),
    ],
    ids=["body", "head", "chunk line", "trailer"],
)
def test_a_users_own_sync_http_client_or_transport_is_bounded_by_the_timeout_too(
    hostile: Start, option: str, script: Script
) -> None:
    # httpx's timeouts are per read, and the deadline was checked only between body chunks:
    # a head, a chunk line or a trailer sent a byte at a time held the call for as long as
    # it went on. The sockets of httpx's own transport in it are cut to the deadline now.
    import httpx

    server = hostile(script)
    own: Any = httpx.Client() if option == "http_client" else httpx.HTTPTransport()
    with own:
        error, elapsed = _timed(lambda: _lookup("sync", server, **{option: own}))
        assert isinstance(error, TransportError)
        assert elapsed < TIMEOUT + MARGIN
        if option == "http_client":  # its own requests are not cut to any deadline of ours
            slow = hostile(_answer_after(TIMEOUT * 1.5))
            assert own.get(slow.base_url, timeout=TIMEOUT * 1.5 + MARGIN).status_code == 200


def test_a_users_own_client_warmed_before_it_is_handed_over_is_bounded_too(
    hostile: Start,
) -> None:
    # Its connection from before was made on the sockets as they were: the trickled head of
    # the next answer on it held the call 15 s (until the server gave up). Idle or in use by
    # another thread of the user's at connect(), its stream is cut as new ones are.
    import httpx

    trickle = drip(0.2, head_first=False)

    def answer_then_trickle(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        server.send(connection, json_response(200, {}))  # keep-alive: the same connection
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                return
            received += chunk
        trickle(connection, received, server)

    server = hostile(answer_then_trickle)
    with httpx.Client() as own:
        assert own.get(server.base_url).status_code == 200  # warmed: one idle connection
        error, elapsed = _timed(lambda: _lookup("sync", server, http_client=own))
    # Ours went on that connection, its sockets cut to the deadline now.
    assert isinstance(error, TransportError)
    assert elapsed < TIMEOUT + MARGIN


def _answer_after(seconds: float) -> Script:
    def script(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        if not server.stopped.wait(seconds):
            server.send(connection, json_response(200, {}))

    return script


def test_a_bearer_token_echoed_without_its_prefix_never_leaks(
    hostile: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """seven takes `api_key="Bearer <token>"` and sends only the token: that is what a
    server echoes, and what must be scrubbed (the whole key would never match it)."""
    token = "oauthTOKEN0secret0123456789abcdef"

    def echo_token(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        sent = header_value(head, "Authorization").removeprefix("Bearer ")
        body = {"success": "900", "error": f"invalid token {sent}", "request_id": sent}
        server.send(connection, json_response(401, body, {"X-Echo": sent}))

    server = hostile(echo_token)
    with (
        caplog.at_level(logging.DEBUG),
        sms_status.connect(
            "seven",
            api_key=f"Bearer {token}",
            base_url=server.base_url,
            max_retries=0,
            lookup="status",  # the status endpoint, without its deprecation warning
        ) as client,
        pytest.raises(SmsStatusError) as raised,
    ):
        client.get_status("77120000001")
    assert token in server.requests[0].decode("latin-1")  # it was sent, and echoed
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in _everything_said(raised.value) + logged


def _hang_up(connection: socket.socket, _head: bytes, _server: HostileServer) -> None:
    connection.shutdown(socket.SHUT_RDWR)  # the request read, nothing answered


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
@pytest.mark.parametrize("max_retries", [0, 2])
def test_each_attempt_is_one_request_on_the_wire(
    hostile: Start, backend: str, max_retries: int
) -> None:
    # aiohttp resent a request itself when the connection dropped: 2 requests with
    # max_retries=0, 6 with 2, none of them seen by on_retry or the rate limiter.
    server = hostile(_hang_up)
    retries: list[object] = []

    async def main() -> None:
        async with sms_status.connect_async(
            "telecom23",
            api_key=API_KEY,
            base_url=server.base_url,
            max_retries=max_retries,
            rate_limiter=None,
            http_backend=backend,
            on_retry=retries.append,
            sleep=lambda _seconds: asyncio.sleep(0),
        ) as client:
            await client.get_status(MESSAGE_ID)

    with pytest.raises(TransportError):
        asyncio.run(main())
    assert len(retries) == max_retries
    assert len(server.requests) == max_retries + 1


@pytest.mark.parametrize("mode", MODES)
def test_a_key_echoed_in_an_over_long_header_line_never_shows_even_in_part(
    hostile: Start, mode: str
) -> None:
    # aiohttp quotes the first 100 bytes of a line it refuses: a key straddling byte 100
    # was cut where redaction could not see it ("sk_test_Hostile0SECR...").
    def script(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        key = header_value(head, "X-API-Key").encode()
        line = b"X-Echo: " + b"a" * 80 + key + b"b" * 70_000
        server.send(connection, b"HTTP/1.1 200 OK\r\n" + line + b"\r\nContent-Length: 2\r\n\r\n{}")

    error = _lookup(mode, hostile(script))
    assert isinstance(error, SmsStatusError)
    said = f"{error}\n{error!r}\n{vars(error)!r}"
    assert API_KEY[:12] not in said
    assert API_KEY[-12:] not in said


_ENDLESS_HEADS = {
    "one-line": (b"HTTP/1.1 200 OK\r\nX-Long: ", b"a" * 4096),
    "many-lines": (b"HTTP/1.1 200 OK\r\n", b"X-Many: a\r\n" * 400),
    "trailer": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-Trailer: ",
        b"a" * 4096,
    ),
}


def _endless_head(case: str) -> Script:
    """The start of an answer, then header bytes as fast as the client takes them: one line
    that never ends, header line after header line, or a trailer line that never ends."""
    start, block = _ENDLESS_HEADS[case]

    def script(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        server.send(connection, start)
        while not server.stopped.is_set():
            server.send(connection, block)

    return script


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(_ENDLESS_HEADS))
def test_an_endless_head_is_refused_at_its_cap_not_read_until_the_timeout(
    hostile: Start, mode: str, case: str
) -> None:
    """Every sender caps a head and a trailer (64 KiB, 100 lines, or less): read to the
    attempt's end instead, it would hold the call and fill memory for the whole of a 30 s
    timeout (the direct async sender's parser held an endless trailer line whole)."""
    server = hostile(_endless_head(case))
    error, elapsed = _timed(lambda: _lookup(mode, server, timeout=30.0))
    assert isinstance(error, TransportError)
    assert "within" not in str(error)
    assert elapsed < MARGIN
    assert server.bytes_sent < 8 * 1024 * 1024  # the cap, plus what the sockets buffered


@pytest.mark.parametrize("mode", ["sync", "async"])  # httpx refuses any coding but chunked
def test_a_body_framed_by_the_close_is_read_whole_behind_a_coding_other_than_chunked(
    hostile: Start, mode: str
) -> None:
    """RFC 9112, 6.3: a response whose last transfer coding is not chunked is read until the
    server closes the connection (the direct async sender took it for a cut-off body)."""
    body = json.dumps(TELECOM23_DELIVERED).encode()
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nConnection: close\r\n\r\n"
    server = hostile(raw(head + body))
    report = _lookup(mode, server)
    assert isinstance(report, StatusReport)
    assert report.provider_status == "DELIVRD"


def _framed(kind: str) -> Script:
    """A delivered report, framed in a way no reader can trust (RFC 9112, 6.3; 5.5)."""
    payload = json.dumps(TELECOM23_DELIVERED).encode()
    n = len(payload)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (n, payload)
    answers = {
        "conflicting-lengths": b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n%s"
        % (n, n + 2, payload),
        "length-and-chunked": b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%s"
        % (len(chunked), chunked),
        "nul-in-a-header": b"Content-Length: %d\r\nX-Note: a\x00b\r\n\r\n%s" % (n, payload),
        # Python's int() reads both; h11, httptools and aiohttp refuse them (digits only).
        "underscore-in-length": b"Content-Length: %s_%s\r\n\r\n%s"
        % (str(n)[:1].encode(), str(n)[1:].encode(), payload),
        "signed-length": b"Content-Length: +%d\r\n\r\n%s" % (n, payload),
    }

    def script(connection: socket.socket, _head: bytes, server: HostileServer) -> None:
        server.send(connection, b"HTTP/1.1 200 OK\r\n" + answers[kind])

    return script


AMBIGUOUS_FRAMINGS = (
    "conflicting-lengths",
    "length-and-chunked",
    "nul-in-a-header",
    "underscore-in-length",
    "signed-length",
)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", AMBIGUOUS_FRAMINGS)
def test_an_answer_no_reader_can_trust_is_a_transport_error_on_every_backend(
    hostile: Start, mode: str, kind: str
) -> None:
    # The sync client's http.client read conflicting lengths and a NUL in a header (h11 and
    # httptools refuse both), and it and httpx read a length beside chunked (the async
    # senders refuse it): the same answer was a report on one backend, an error on another.
    error = _lookup(mode, hostile(_framed(kind)))
    assert isinstance(error, TransportError), error
