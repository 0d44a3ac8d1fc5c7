"""On a kept-alive connection, each request gets its own answer: interim (1xx) responses,
bytes a server writes to an idle connection, or a second reply glued to an answer are never
read as another request's answer — the worst a status SDK could do is report one message's
status for another. Sync and async alike, over real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import select
import socket
import struct
import sys
import threading
import zlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sms_status
from hostile_support import API_KEY, HostileServer, json_response, sequence, silent
from sms_status.errors import SmsStatusError, TransportError

MODES = ("sync", "async", "async-httpx")
STATUSES = {"msgA": "DELIVRD", "msgB": "UNDELIV", "msgC": "EXPIRED"}
"""What the server answers for each id: a reply read for the wrong request shows."""


def _answer(head: bytes) -> bytes:
    message_id = head.split(b" ")[1].rsplit(b"/", 1)[1].decode()
    status = STATUSES.get(message_id, "ACCEPTD")
    body = {"status": True, "message": {"message_id": message_id, "status": status}}
    return json_response(200, body)


def _statuses(
    mode: str,
    server: HostileServer,
    ids: list[str],
    between_calls: Callable[[], None] = lambda: None,
    **options: Any,
) -> list[str]:
    """get_status of each id in turn on one client: the provider status each got, or the
    name of the error it raised. `between_calls` runs (blocking, on the loop) after each."""
    options = {
        "api_key": API_KEY,
        "base_url": server.base_url,
        "timeout": 5.0,
        "max_retries": 0,
        "rate_limiter": None,
        **options,
    }
    got: list[str] = []
    if mode == "sync":
        with sms_status.connect("telecom23", **options) as client:
            for message_id in ids:
                try:
                    got.append(client.get_status(message_id).provider_status)
                except SmsStatusError as exc:
                    got.append(type(exc).__name__)
                between_calls()
        return got

    async def main() -> None:
        backend = {"http_backend": "httpx"} if mode == "async-httpx" else {}
        if mode == "async-http_client":  # the user's, made and closed on this loop
            backend = {"http_client": httpx.AsyncClient()}
        async with sms_status.connect_async("telecom23", **options, **backend) as client:
            for message_id in ids:
                try:
                    got.append((await client.get_status(message_id)).provider_status)
                except SmsStatusError as exc:
                    got.append(type(exc).__name__)
                between_calls()
        if "http_client" in backend:
            await backend["http_client"].aclose()

    asyncio.run(main())
    return got


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "interim",
    [
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
        b"HTTP/1.1 102 Processing\r\n\r\n" * 3 + b"HTTP/1.1 100 Continue\r\n\r\n",
    ],
    ids=["103", "102s and 100"],
)
def test_interim_responses_are_skipped_never_taken_for_the_answer(
    hostile: Any, mode: str, interim: bytes
) -> None:
    # The sync sender took a 103 for the answer (a ServerError), and left the real answer on
    # the connection for the next request, which then reported msgA's status for msgB.
    def script(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        server.send(connection, interim)
        server.send(connection, _answer(head))

    server = hostile(script)
    assert _statuses(mode, server, ["msgA", "msgB", "msgC"]) == ["DELIVRD", "UNDELIV", "EXPIRED"]


@pytest.mark.parametrize("mode", MODES)
def test_a_101_is_an_error_and_its_connection_is_never_reused(hostile: Any, mode: str) -> None:
    # After a 101 the connection speaks another protocol: what follows is no answer.
    def script(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        if b"/msgA " in head:
            server.send(
                connection,
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n",
            )
            server.send(connection, _answer(head.replace(b"/msgA ", b"/msgC ")))
        else:
            server.send(connection, _answer(head))

    server = hostile(script)
    first, second = _statuses(mode, server, ["msgA", "msgB"])
    assert first not in STATUSES.values()  # an error
    assert second == "UNDELIV"


@pytest.mark.parametrize("mode", MODES)
def test_a_reply_written_to_an_idle_connection_while_the_loop_was_busy_is_never_an_answer(
    hostile: Any, mode: str
) -> None:
    # The stale reply sits in the kernel's buffer, not yet read by the event loop (busy with
    # the caller's own work): aiohttp's pool looked only at what the loop had read.
    answered, stale_sent = threading.Event(), threading.Event()
    first = threading.Lock()

    def script(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        server.send(connection, _answer(head))
        if first.acquire(blocking=False):
            answered.wait(10)
            server.send(connection, _answer(head.replace(b"/msgA ", b"/msgC ")))
            stale_sent.set()

    def between_calls() -> None:
        answered.set()
        assert stale_sent.wait(10)  # blocking: the loop reads nothing meanwhile

    server = hostile(script)
    got = _statuses(mode, server, ["msgA", "msgB"], between_calls=between_calls)
    assert got == ["DELIVRD", "UNDELIV"]


@pytest.mark.parametrize("mode", [*MODES, "sync-httpx", "sync-http_client", "async-http_client"])
def test_a_whole_reply_glued_to_an_answer_is_never_read_as_the_next_answer(
    hostile: Any, mode: str
) -> None:
    # The extra reply comes in the same read as the answer: httpcore's parser (h11) kept it
    # for the connection's next request, which reported msgA's stale status for msgB.
    first = threading.Lock()

    def script(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        answer = _answer(head)
        if first.acquire(blocking=False):
            answer += _answer(head.replace(b"/msgA ", b"/msgC "))
        server.send(connection, answer)

    server = hostile(script)
    options: dict[str, Any] = {}
    if mode == "sync-httpx":  # verify= sends through httpx
        mode, options = "sync", {"verify": False}
    # A client of the user's on httpx's own transport: its pool read msgC's reply for msgB.
    if mode == "sync-http_client":
        mode, options = "sync", {"http_client": httpx.Client()}
    # httpx's requests take turns over 4 pools: the fifth is the first pool's again.
    try:
        got = _statuses(mode, server, ["msgA", *["msgB"] * 5], **options)
    finally:
        if "http_client" in options:
            options["http_client"].close()
    assert got == ["DELIVRD", *["UNDELIV"] * 5]


def test_a_users_client_shared_by_many_connects_keeps_working(hostile: Any) -> None:
    # Each connect() wrapped its pool's connection factory once more: a client per job over
    # one long-lived httpx.Client ended in RecursionError for the SDK and the user alike
    # (after ~1,000 connects; 500 under this test's lower recursion limit).
    server = hostile(lambda connection, head, srv: srv.send(connection, _answer(head)))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        with httpx.Client() as shared:
            for _ in range(500):
                sms_status.connect("telecom23", api_key=API_KEY, http_client=shared).close()
            got = _statuses("sync", server, ["msgA"], http_client=shared)
            assert shared.get(f"{server.base_url}/v1/messages/msgB/status").status_code == 200
    finally:
        sys.setrecursionlimit(limit)
    assert got == ["DELIVRD"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("max_retries", [0, 2])
def test_a_request_read_and_hung_up_on_is_sent_again_only_by_the_retry_policy(
    hostile: Any, mode: str, max_retries: int
) -> None:
    # On a reused connection the sync sender sent it again by itself: an extra request
    # (a signed one's signature twice) that no retry count, on_retry or limiter saw.
    answered = threading.Lock()

    def script(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        if answered.acquire(blocking=False):
            server.send(connection, _answer(head))  # kept alive, then reused
        else:
            connection.shutdown(socket.SHUT_RDWR)  # the request read, nothing answered

    server = hostile(script)
    retries: list[object] = []
    got = _statuses(
        mode,
        server,
        ["msgA", "msgB"],
        max_retries=max_retries,
        on_retry=retries.append,
        sleep=(lambda _s: None) if mode == "sync" else (lambda _s: asyncio.sleep(0)),
    )
    assert got == ["DELIVRD", "TransportError"]
    assert len(retries) == max_retries
    assert sum(b"/msgB " in head for head in server.requests) == max_retries + 1


@pytest.mark.parametrize("mode", MODES)
def test_content_codings_over_two_header_lines_are_both_undone(hostile: Any, mode: str) -> None:
    # Two lines mean what one comma-joined line does (RFC 9110, 5.3): aiohttp's reader
    # undid only the first, and the body was "not valid for its Content-Encoding".
    def script(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        answer = _answer(head)
        body = gzip.compress(zlib.compress(answer.split(b"\r\n\r\n", 1)[1]))
        server.send(
            connection,
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: deflate\r\n"
            b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
        )

    assert _statuses(mode, hostile(script), ["msgA", "msgB"]) == ["DELIVRD", "UNDELIV"]


@pytest.mark.parametrize("work", [False, True], ids=["closed unread", "read, then aborted"])
def test_a_request_reset_after_it_was_sent_is_sent_again_only_by_the_retry_policy(
    hostile: Any, work: bool
) -> None:
    # A reset before any byte of the answer does not say the request went unread: a server
    # (or a load balancer) may read it, work on it, then abort. So it is the attempt's
    # failure, retried with on_retry and a new signature, never resent unseen.
    answered = threading.Lock()

    def script(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        server.send(connection, _answer(head))
        if answered.acquire(blocking=False):
            select.select([connection], [], [], 10)  # the next request arrived
            if work:
                connection.recv(65536)  # read it: any work on it would be done by now
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()  # a reset

    server = hostile(script)
    retries: list[object] = []
    got = _statuses(
        "sync",
        server,
        ["msgA", "msgB"],
        max_retries=1,
        on_retry=retries.append,
        sleep=lambda _s: None,
    )
    assert got == ["DELIVRD", "UNDELIV"]
    assert len(retries) == 1  # the policy's own retry, seen
    assert server.connections_accepted == 2


def _answer_each(connection: socket.socket, head: bytes, server: HostileServer) -> None:
    server.send(connection, _answer(head))


def _async_client(server: HostileServer, **options: Any) -> sms_status.AsyncStatusClient:
    options = {"max_retries": 0, "rate_limiter": None, **options}
    return sms_status.connect_async(
        "telecom23", api_key=API_KEY, base_url=server.base_url, **options
    )


def test_async_lookups_past_the_concurrency_wait_for_its_connections(hostile: Any) -> None:
    """Twelve lookups at once from a client of two connections: two are opened, and every
    lookup gets its own answer over them."""
    server = hostile(_answer_each)
    ids = ["msgA", "msgB", "msgC"] * 4

    async def main() -> list[str]:
        async with _async_client(server, concurrency=2, timeout=5.0) as client:
            reports = await asyncio.gather(*(client.get_status(i) for i in ids))
        return [report.provider_status for report in reports]

    assert asyncio.run(main()) == [STATUSES[i] for i in ids]
    assert server.connections_accepted == 2


def test_an_async_lookup_cancelled_mid_answer_gives_its_connection_back(hostile: Any) -> None:
    """A lookup cancelled while it waits for its answer (a caller's own timeout) leaves its
    connection closed and its place free: on a client of one connection, the next lookup
    is answered at once, not after the first one's 30 s timeout."""
    server = hostile(sequence(silent, _answer_each))

    async def main() -> str:
        async with _async_client(server, concurrency=1, timeout=30.0) as client:
            stuck = asyncio.ensure_future(client.get_status("msgA"))
            assert await asyncio.to_thread(server.request_seen.wait, 10)
            stuck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stuck
            report = await asyncio.wait_for(client.get_status("msgB"), 10)
        return report.provider_status

    assert asyncio.run(main()) == "UNDELIV"
    assert server.connections_accepted == 2


def _held(release: threading.Event, held_id: str) -> Any:
    """Answers each request at once, but `held_id`'s only once `release` is set."""

    def script(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        if f"/{held_id} ".encode() in head:
            release.wait(10)
        server.send(connection, _answer(head))

    return script


async def _until_waiting(*tasks: asyncio.Task[Any]) -> None:
    """Let freshly started lookups run until each waits (for the pool's one connection)."""
    for _ in range(20):
        await asyncio.sleep(0)
    assert not any(task.done() for task in tasks)


def test_a_lookup_woken_for_a_connection_and_cancelled_passes_it_on(hostile: Any) -> None:
    """On a client of one connection, B and C wait while A has it. A's answer frees it and
    wakes B; B is cancelled before it runs (here by a log handler, which runs right after
    the wake-up; a caller's own timeout falling due then does the same). C must get the
    connection: the wake-up was lost with B, and C waited out its whole 30 s timeout."""
    release = threading.Event()
    server = hostile(_held(release, "msgA"))
    waiting: list[asyncio.Task[Any]] = []

    class CancelB(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "msgA" in record.getMessage() and waiting:
                waiting[0].cancel()

    handler = CancelB()
    logger = logging.getLogger("sms_status")
    level = logger.level

    async def main() -> str:
        async with _async_client(server, concurrency=1, timeout=30.0) as client:
            a = asyncio.ensure_future(client.get_status("msgA"))
            await _until_waiting(a)
            b = asyncio.ensure_future(client.get_status("msgB"))
            c = asyncio.ensure_future(client.get_status("msgC"))
            waiting.append(b)
            await _until_waiting(a, b, c)
            release.set()
            assert (await a).provider_status == "DELIVRD"
            with contextlib.suppress(asyncio.CancelledError):
                await b
            report = await asyncio.wait_for(c, 10)
        return report.provider_status

    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        assert asyncio.run(main()) == "EXPIRED"
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert waiting[0].cancelled()


def test_aclose_ends_the_lookups_under_way_and_opens_no_connection_after(
    hostile: Any,
) -> None:
    """aclose() while A holds a client's one connection and B waits for it: both end with a
    TransportError saying the client was closed. B had been woken into opening a new
    connection, which nothing closed, and got its answer from a closed client."""
    release = threading.Event()
    server = hostile(_held(release, "msgA"))

    async def main() -> list[BaseException | Any]:
        client = _async_client(server, concurrency=1, timeout=30.0)
        a = asyncio.ensure_future(client.get_status("msgA"))
        assert await asyncio.to_thread(server.request_seen.wait, 10)
        b = asyncio.ensure_future(client.get_status("msgB"))
        await _until_waiting(a, b)
        await client.aclose()
        return await asyncio.gather(a, b, return_exceptions=True)

    try:
        outcomes = asyncio.run(main())
    finally:
        release.set()
    assert [type(outcome) for outcome in outcomes] == [TransportError, TransportError]
    assert all("closed" in str(outcome) for outcome in outcomes)
    assert server.connections_accepted == 1


def test_a_lookup_waiting_for_a_connection_gets_it_before_later_ones(hostile: Any) -> None:
    """On a client of one connection, a get_status started while a get_statuses runs gets
    the connection when the lookup under way ends: the bulk worker, freeing it, had taken
    it back at once, lookup after lookup, and the get_status waited for the whole bulk."""
    server = hostile(_answer_each)
    bulk_ids = [f"bulk{i}" for i in range(200)]

    async def main() -> tuple[str, bool]:
        async with _async_client(server, concurrency=1, timeout=30.0) as client:
            bulk = asyncio.ensure_future(client.get_statuses(bulk_ids))
            await _until_waiting(bulk)
            report = await client.get_status("msgC")
            bulk_still_running = not bulk.done()
            await bulk
        return report.provider_status, bulk_still_running

    assert asyncio.run(main()) == ("EXPIRED", True)


def test_aclose_ends_a_lookup_whose_connection_is_still_being_made() -> None:
    """A TLS handshake the server never answers: aclose() ends the lookup making it at
    once (it went on for the whole of its 30 s timeout, and on success carried a request
    on a connection the closed client no longer counted)."""
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel does), never reads
    port = listener.getsockname()[1]

    async def main() -> BaseException | Any:
        client = sms_status.connect_async(
            "telecom23",
            api_key=API_KEY,
            base_url=f"https://127.0.0.1:{port}",
            max_retries=0,
            rate_limiter=None,
            timeout=30.0,
        )
        lookup = asyncio.ensure_future(client.get_status("msgA"))
        await _until_waiting(lookup)
        await client.aclose()
        done = await asyncio.wait_for(asyncio.gather(lookup, return_exceptions=True), 10)
        return done[0]

    with listener:
        outcome = asyncio.run(main())
    assert isinstance(outcome, TransportError)
    assert "closed" in str(outcome)


@pytest.mark.parametrize("sender", ["direct", "aiohttp, through a proxy"])
def test_lookups_retried_after_aclose_leave_no_connection_open(
    hostile: Any, sender: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aclose() (leaving `async with`) while lookups with retries are under way: the retries
    of the attempts it ended still send, but the connections they open are closed after
    them. They had been pooled by a closed client, open for as long as the process lived
    (through a proxy, on aiohttp: a new session nothing closed)."""

    def slow_answer(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        server.stopped.wait(0.05)
        server.send(connection, _answer(head))

    server = hostile(slow_answer)
    if sender != "direct":  # the server answers as the proxy would (absolute-form targets)
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", server.base_url)

    async def main() -> list[Any]:
        async with _async_client(server, max_retries=2, timeout=5.0, concurrency=4) as client:
            calls = [asyncio.ensure_future(client.get_status(f"m{i}")) for i in range(12)]
            assert await asyncio.to_thread(server.request_seen.wait, 10)
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(main())
    assert {type(outcome).__name__ for outcome in outcomes} <= {"StatusReport", "TransportError"}
    for thread in server._threads:  # one a connection, until the client closes it
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in server._threads)


def test_a_client_used_again_after_aclose_through_a_proxy_answers_every_lookup(
    hostile: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a proxy (aiohttp), each attempt after aclose() closed the one session the
    others were still on: of 8 lookups at once in a second `asyncio.run`, 6 or 7 failed."""
    server = hostile(_answer_each)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.base_url)
    client = _async_client(server, timeout=5.0, concurrency=4)
    ids = ["msgA", "msgB"] * 4

    async def first() -> None:
        async with client:
            await client.get_status("msgA")

    async def again() -> list[str]:
        reports = await asyncio.gather(*(client.get_status(i) for i in ids))
        return [report.provider_status for report in reports]

    asyncio.run(first())
    assert asyncio.run(again()) == [STATUSES[i] for i in ids]
    for thread in server._threads:  # each attempt's own connection, closed after it
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in server._threads)


def _forty_at_once_on_httpx(server: HostileServer, *, concurrency: int) -> None:
    """40 lookups at once from an async client on httpx's own transport."""

    async def main() -> None:
        async with _async_client(
            server, concurrency=concurrency, timeout=10.0, http_backend="httpx"
        ) as client:
            await asyncio.gather(*(client.get_status(f"m{n}") for n in range(40)))

    asyncio.run(main())


def test_the_httpx_backend_holds_no_more_connections_than_concurrency(hostile: Any) -> None:
    """`client.api`'s own pool (httpx's default of 100) sent beside the lenders' pools: 40
    lookups at once from a client of concurrency=4 opened up to 40 connections."""

    def slow_answer(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        server.stopped.wait(0.02)
        server.send(connection, _answer(head))

    server = hostile(slow_answer)
    _forty_at_once_on_httpx(server, concurrency=4)
    assert server.connections_accepted <= 4


def test_the_httpx_backends_pools_share_the_lookups_by_their_size(hostile: Any) -> None:
    """concurrency=5 made pools of 1 and 4 connections that took turns evenly: half the
    lookups queued on the one connection while the other four sat idle (a lookup could
    time out in that queue)."""
    served: dict[int, int] = {}
    lock = threading.Lock()

    def counted(connection: socket.socket, head: bytes, server: HostileServer) -> None:
        with lock:
            served[connection.fileno()] = served.get(connection.fileno(), 0) + 1
        server.stopped.wait(0.02)
        server.send(connection, _answer(head))

    server = hostile(counted)
    _forty_at_once_on_httpx(server, concurrency=5)
    assert sum(served.values()) == 40
    assert len(served) == 5
    assert max(served.values()) <= 12  # an even share is 8; the lone connection took 20
