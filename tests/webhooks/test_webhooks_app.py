"""webhooks.app: verify, answer at once, report; 401 / 400 / 413 with nothing reported.

A sync `on_report` runs in a worker thread after the answer, and the app does not wait for
it: tests wait for the reports they expect (`Reports.wait`), or shut the app down, which
waits for all of them (`shut_down`), before saying what was not reported."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sms_status import DeliveryState, webhooks
from sms_status.webhooks import _app, _asgi_body
from webhook_support import (
    Reports,
    basic,
    seven_headers,
    shut_down,
    spec_example,
    telecom23_headers,
)

NOW = 1_770_978_604
SECRET = "whsec_app_test"
TELECOM23_BODY = json.dumps(spec_example("telecom23", "deliveryReport", "delivered")).encode()


def receiver(provider: str = "telecom23", **options: Any) -> tuple[Any, Reports]:
    seen = Reports()
    options.setdefault("secret", SECRET)
    options.setdefault("clock", lambda: float(NOW))
    return webhooks.app(provider, on_report=seen, **options), seen


async def post(app: Any, body: Any, headers: dict[str, str], path: str = "/hook") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://example.com") as client:
        return await client.post(path, content=body, headers=headers)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_verified_delivery_is_acknowledged_then_reported() -> None:
    app, seen = receiver()
    response = await post(app, TELECOM23_BODY, telecom23_headers(SECRET, TELECOM23_BODY, NOW))
    assert (response.status_code, response.content) == (200, b"")
    [event] = seen.wait(1)
    await shut_down(app)
    assert len(seen) == 1
    assert event.report.state is DeliveryState.DELIVERED
    assert event.report.message_id == "api_42_1743667200123456789_a3f8b2c1d9e45f67"


@pytest.mark.anyio
async def test_an_async_on_report_is_awaited() -> None:
    got: list[str] = []

    async def on_report(event: webhooks.WebhookEvent) -> None:
        await asyncio.sleep(0)
        got.append(event.event_id)

    app = webhooks.app("telecom23", secret=SECRET, on_report=on_report, clock=lambda: NOW)
    await post(app, TELECOM23_BODY, telecom23_headers(SECRET, TELECOM23_BODY, NOW))
    assert len(got) == 1


@pytest.mark.anyio
async def test_a_failing_on_report_does_not_change_the_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def on_report(event: webhooks.WebhookEvent) -> None:
        raise RuntimeError("database down")

    app = webhooks.app("telecom23", secret=SECRET, on_report=on_report, clock=lambda: NOW)
    response = await post(app, TELECOM23_BODY, telecom23_headers(SECRET, TELECOM23_BODY, NOW))
    assert response.status_code == 200
    await shut_down(app)  # the failure is logged once on_report was called
    assert "on_report failed for telecom23 event" in caplog.text
    assert "database down" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [
        {},
        telecom23_headers("whsec_wrong", TELECOM23_BODY, NOW),
        telecom23_headers(SECRET, TELECOM23_BODY, NOW - 3600),
    ],
    ids=["missing", "wrong-secret", "stale"],
)
async def test_bad_credentials_answer_401_with_an_empty_body(headers: dict[str, str]) -> None:
    app, seen = receiver()
    response = await post(app, TELECOM23_BODY, headers)
    assert (response.status_code, response.content, seen) == (401, b"", [])


@pytest.mark.anyio
async def test_a_malformed_payload_answers_400() -> None:
    app, seen = receiver()
    body = b'{"status": "DELIVRD"}'
    response = await post(app, body, telecom23_headers(SECRET, body, NOW))
    assert (response.status_code, seen) == (400, [])


@pytest.mark.anyio
async def test_a_declared_oversized_body_answers_413() -> None:
    app, seen = receiver(max_body_bytes=100)
    response = await post(app, TELECOM23_BODY, telecom23_headers(SECRET, TELECOM23_BODY, NOW))
    assert len(TELECOM23_BODY) > 100
    assert (response.status_code, seen) == (413, [])


@pytest.mark.anyio
async def test_an_endless_chunked_body_is_cut_at_the_cap_while_reading() -> None:
    app, seen = receiver(max_body_bytes=64 * 1024)
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while pulled < 10_000:  # 80 MB if read to the end
            pulled += 1
            yield b"x" * 8192

    response = await post(app, endless(), telecom23_headers(SECRET, b"", NOW))
    assert (response.status_code, seen) == (413, [])
    assert pulled <= 64 * 1024 // 8192 + 2  # stopped at the cap, not after the whole body


@pytest.mark.anyio
async def test_a_replayed_delivery_is_acknowledged_but_not_reported_twice() -> None:
    app, seen = receiver(replay_guard=webhooks.MemoryReplayGuard())
    headers = telecom23_headers(SECRET, TELECOM23_BODY, NOW)
    assert (await post(app, TELECOM23_BODY, headers)).status_code == 200
    assert (await post(app, TELECOM23_BODY, headers)).status_code == 200
    await shut_down(app)
    assert len(seen) == 1


@pytest.mark.anyio
async def test_seven_is_verified_against_the_url_it_called() -> None:
    body = json.dumps(spec_example("seven", "dlr", "dlr")).encode()
    app, seen = receiver("seven")
    called = "https://example.com/hooks/seven?account=7"
    response = await post(
        app, body, seven_headers(SECRET, body, NOW, called), "/hooks/seven?account=7"
    )
    assert response.status_code == 200
    public = "https://public.example/hooks/seven"  # behind a proxy: the URL seven was given
    app, seen = receiver("seven", url=public)
    assert (await post(app, body, seven_headers(SECRET, body, NOW, called))).status_code == 401
    assert (await post(app, body, seven_headers(SECRET, body, NOW, public))).status_code == 200
    await shut_down(app)
    assert len(seen) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path", ["/hooks/seven/k%2Bq%3D%3D", "/hooks/a%20b/seven?t=k%2Bq", "/hooks/100%25"]
)
async def test_seven_is_verified_against_a_hook_url_with_escapes_in_its_path(path: str) -> None:
    # seven signs the URL it called as written (a base64 token in the path, say); the
    # decoded path ("/hooks/seven/k+q==") never matched it.
    body = json.dumps(spec_example("seven", "dlr", "dlr")).encode()
    app, seen = receiver("seven")
    called = f"https://example.com{path}"
    response = await post(app, body, seven_headers(SECRET, body, NOW, called), path)
    await shut_down(app)
    assert (response.status_code, len(seen)) == (200, 1)


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/hooks/a%20b/seven", "/hooks/100%25"])
async def test_seven_escapes_the_path_again_from_a_server_that_gives_no_raw_path(
    path: str,
) -> None:
    # raw_path is optional in ASGI: the decoded path is escaped again, as a URL has it.
    body = json.dumps(spec_example("seven", "dlr", "dlr")).encode()
    app, seen = receiver("seven")

    async def no_raw_path(scope: Any, receive: Any, send: Any) -> None:
        await app({k: v for k, v in scope.items() if k != "raw_path"}, receive, send)

    called = f"https://example.com{path}"
    response = await post(no_raw_path, body, seven_headers(SECRET, body, NOW, called), path)
    await shut_down(app)
    assert (response.status_code, len(seen)) == (200, 1)


@pytest.mark.anyio
async def test_seven_with_raw_bytes_in_its_query_is_verified_escaped_not_a_crash() -> None:
    # Starlette's URL decodes the query as UTF-8: the app raised UnicodeDecodeError (a 500
    # with a traceback, from anyone: no secret needed). uvicorn refuses such a request
    # line itself; ASGI allows the bytes, and other servers pass them. Read as escaped.
    body = json.dumps(spec_example("seven", "dlr", "dlr")).encode()
    raw = _signed_seven_pairs(
        body, "https://hooks.example.com/hooks/seven?x=%FF", host=b"hooks.example.com"
    )
    app, seen = receiver("seven")
    sent = await _called(app, body, raw_path=b"/hooks/seven", query_string=b"x=\xff", headers=raw)
    await shut_down(app)
    assert (sent[0]["status"], len(seen)) == (200, 1)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("scope", "server"),
    [
        ({"root_path": "/api", "path": "/hooks/seven", "raw_path": b"/hooks/seven"}, "hypercorn"),
        (
            {"root_path": "/api", "path": "/api/hooks/seven", "raw_path": b"/api/hooks/seven"},
            "uvicorn",
        ),
        (  # mounted at /hooks in an app a proxy serves under /api (FastAPI(root_path=))
            {"app_root_path": "/api", "root_path": "/api/hooks", "path": "/hooks/seven",
             "raw_path": b"/hooks/seven"},
            "mounted",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)  # fmt: skip
async def test_seven_is_verified_with_the_servers_root_path_in_the_url(
    scope: dict[str, Any], server: str
) -> None:
    # A proxy strips /api; hypercorn and FastAPI(root_path=) leave the root path out of
    # `path` (uvicorn puts it in): every delivery was refused, "the signature does not match".
    body = json.dumps(spec_example("seven", "dlr", "dlr")).encode()
    raw = _signed_seven_pairs(
        body, "https://hooks.example.com/api/hooks/seven", host=b"hooks.example.com"
    )
    app, seen = receiver("seven")
    sent = await _called(app, body, headers=raw, **scope)
    await shut_down(app)
    assert (sent[0]["status"], len(seen)) == (200, 1), server


@pytest.mark.anyio
async def test_seven_refused_without_url_says_which_url_it_checked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Behind a TLS-terminating proxy, with no url=, each delivery read "the signature does
    # not match", as a wrong secret does: nothing pointed at url=.
    body = json.dumps(spec_example("seven", "dlr", "dlr")).encode()
    raw = _signed_seven_pairs(
        body, "https://hooks.example.com/hooks/seven/t0ken", host=b"internal:8000"
    )
    app, seen = receiver("seven")
    with caplog.at_level("INFO", logger="sms_status.webhooks"):
        sent = await _called(app, body, headers=raw, scheme="http", path="/hooks/seven/t0ken")
    await shut_down(app)
    assert (sent[0]["status"], seen) == (401, [])
    (said,) = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "without url=, checked against http://internal:8000/..." in said
    assert "t0ken" not in said  # the path may be a secret of its own


def _signed_seven_pairs(body: bytes, called: str, *, host: bytes) -> list[tuple[bytes, bytes]]:
    """A scope's raw header pairs for `body` signed as seven signs a call to `called`, the
    request's Host being `host`."""
    signed = seven_headers(SECRET, body, NOW, called)
    return [(b"host", host), *((k.lower().encode(), v.encode()) for k, v in signed.items())]


async def _called(app: Any, body: bytes, **scope: Any) -> list[Any]:
    """The messages `app` sent for one POST of `body` to https://…/hooks/seven, called as a
    server would, with `scope`'s own entries (headers, query_string, raw_path, ...)."""
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    base = {
        "type": "http",
        "method": "POST",
        "scheme": "https",
        "path": "/hooks/seven",
        "query_string": b"",
        "server": ("10.0.0.5", 8000),
    }
    await app({**base, **scope}, receive, send)
    return sent


@pytest.mark.anyio
async def test_seven_is_verified_when_the_scope_headers_are_an_iterable_read_once() -> None:
    # ASGI allows any iterable (a middleware's generator, say): read once for the signature
    # headers, it had no Host left for the URL, so every genuine delivery got 401.
    body = json.dumps(spec_example("seven", "dlr", "dlr")).encode()
    raw = _signed_seven_pairs(
        body, "https://hooks.example.com/hooks/seven", host=b"hooks.example.com"
    )
    app, seen = receiver("seven")
    sent = await _called(app, body, headers=(pair for pair in raw))
    await shut_down(app)
    assert (sent[0]["status"], len(seen)) == (200, 1)


@pytest.mark.anyio
async def test_lisoloo_basic_auth_and_other_methods() -> None:
    body = json.dumps(spec_example("lisoloo", "smsEvent", "delivered")).encode()
    app, seen = receiver("lisoloo", secret="u:p")
    assert (await post(app, body, basic("u:p"))).status_code == 200
    assert (await post(app, body, basic("u:q"))).status_code == 401
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        assert (await client.get("/")).status_code == 405
    await shut_down(app)
    assert len(seen) == 1


def test_bad_arguments_fail_when_the_app_is_built() -> None:
    with pytest.raises(ValueError, match="secret"):
        webhooks.app("seven", secret=None, on_report=print)
    with pytest.raises(ValueError, match="max_body_bytes"):
        webhooks.app("namirial", secret=None, on_report=print, max_body_bytes=0)
    with pytest.raises(TypeError, match="callable"):
        webhooks.app("namirial", secret=None, on_report="print")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (b"https://example.com/hooks/seven", TypeError),
        ("/hooks/seven", ValueError),
        ("example.com/hooks/seven", ValueError),
        ("ftp://example.com/hooks/seven", ValueError),
        ("https://example.com/hooks/seven\n", ValueError),
        ("https://[not-ipv6]/hooks/seven", ValueError),
    ],
    ids=["bytes", "a path", "no scheme", "ftp", "trailing newline", "bad host"],
)
def test_a_url_that_no_signature_can_match_fails_when_the_app_is_built(
    url: object, error: type[Exception]
) -> None:
    # Built without complaint, every genuine seven delivery was then refused 401 (or, for
    # bytes, raised a TypeError out of the app: the server's own 500).
    with pytest.raises(error, match="url must"):
        webhooks.app("seven", secret=SECRET, on_report=print, url=url)  # type: ignore[arg-type]


# -- over a real loopback socket ------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[str, list[webhooks.WebhookEvent], threading.Event]]:
    arrived = threading.Event()
    seen: list[webhooks.WebhookEvent] = []

    def on_report(event: webhooks.WebhookEvent) -> None:
        seen.append(event)
        arrived.set()

    app = webhooks.app("telecom23", secret=SECRET, on_report=on_report, clock=lambda: NOW)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    while not server.started:  # uvicorn says when it listens; no fixed sleep
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        started.wait(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hooks/telecom23", seen, arrived
    finally:
        server.should_exit = True
        thread.join(10)


def test_over_loopback_a_delivery_is_reported_and_a_forgery_refused(
    served: tuple[str, list[webhooks.WebhookEvent], threading.Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, seen, arrived = served
    caplog.set_level(logging.INFO, logger="sms_status.webhooks")
    with httpx.Client() as client:
        forged = client.post(
            url, content=TELECOM23_BODY, headers=telecom23_headers("x", TELECOM23_BODY, NOW)
        )
        assert (forged.status_code, forged.content) == (401, b"")
        big = client.post(
            url, content=b"x" * (65 * 1024), headers=telecom23_headers(SECRET, b"", NOW)
        )
        assert big.status_code == 413
        ok = client.post(
            url, content=TELECOM23_BODY, headers=telecom23_headers(SECRET, TELECOM23_BODY, NOW)
        )
        assert ok.status_code == 200
    assert arrived.wait(10)
    assert [event.report.provider_status for event in seen] == ["DELIVRD"]
    # Each refusal is logged, with its reason, and never a header or the body.
    refusals = [r.getMessage() for r in caplog.records if hasattr(r, "status")]
    assert refusals == [
        "telecom23 delivery refused: 401, the signature does not match",
        "telecom23 delivery refused: 413, its body is over 65536 bytes",
    ]


def test_a_refusal_reason_is_logged_on_one_line_without_terminal_escapes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="sms_status.webhooks")
    _app._refused("namirial", 400, "bad value '\n\x1b[2Jforged line'")  # an unsigned sender's
    (record,) = caplog.records
    assert record.getMessage() == (
        "namirial delivery refused: 400, bad value '\\n\\x1b[2Jforged line'"
    )


@pytest.mark.anyio
async def test_it_answers_under_a_route_or_a_mount_of_a_starlette_app() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route

    app, seen = receiver()
    host = Starlette(routes=[Route("/hooks/telecom23", app), Mount("/mounted", app=app)])
    headers = telecom23_headers(SECRET, TELECOM23_BODY, NOW)
    for path in ("/hooks/telecom23", "/mounted/", "/mounted/any/thing"):
        assert (await post(host, TELECOM23_BODY, headers, path)).status_code == 200, path
    await shut_down(app)
    assert len(seen) == 3


@pytest.mark.anyio
async def test_headers_a_middleware_adds_to_one_answer_are_not_sent_with_the_next() -> None:
    # Starlette's BaseHTTPMiddleware (FastAPI's @app.middleware("http")) edits the headers
    # list it is sent in place: a list shared by every answer sent one client's session
    # cookie and request id to every later client.
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def tag(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.append("x-request-id", request.headers["x-request-id"])
        if "x-login" in request.headers:
            response.set_cookie("sid", request.headers["x-login"])
        return response

    app, _ = receiver()
    host = Starlette(
        routes=[Route("/hook", app, methods=["POST", "GET"])],
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=tag)],
    )
    signed = telecom23_headers(SECRET, TELECOM23_BODY, NOW)
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="https://example.com") as client:
        alice = {"x-request-id": "A", "x-login": "alice-session", **signed}
        answers = [await client.post("/hook", content=TELECOM23_BODY, headers=alice)]
        for request_id in ("B", "C"):
            client.cookies.clear()
            answers.append(
                await client.post("/hook", content=b"{}", headers={"x-request-id": request_id})
            )
        answers.append(await client.get("/hook", headers={"x-request-id": "D"}))
    await shut_down(app)
    seen = [
        (r.status_code, r.headers.get_list("x-request-id"), len(r.headers.get_list("set-cookie")))
        for r in answers
    ]
    assert seen == [(200, ["A"], 1), (401, ["B"], 0), (401, ["C"], 0), (405, ["D"], 0)]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "pieces_sent", [3, 2, 0], ids=["in pieces", "never finished", "head and no body"]
)
async def test_a_body_is_read_whole_within_a_deadline_of_the_request_head(
    pieces_sent: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client that sends a request head, then trickles its body or sends none, would hold
    # its request open for ever: uvicorn sets no limit, so the app answers 408.
    monkeypatch.setattr(_asgi_body, "BODY_SECONDS", 0.2)
    monkeypatch.setattr(_asgi_body, "SWEEP_SECONDS", 0.05)
    app, seen = receiver()
    body = TELECOM23_BODY
    pieces = [body[:10], body[10:50], body[50:]]
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        if len(pieces) == 3 - pieces_sent:
            await asyncio.Event().wait()  # the rest never comes
        piece = pieces.pop(0)
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    async def send(message: Any) -> None:
        sent.append(message)

    signed = telecom23_headers(SECRET, body, NOW)
    headers = [(k.lower().encode(), v.encode()) for k, v in signed.items()]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    await asyncio.wait_for(app(scope, receive, send), 10)
    await shut_down(app)
    assert (sent[0]["status"], len(seen)) == ((200, 1) if pieces_sent == 3 else (408, 0))
    # A 408 closes the connection: a client trickling its body would go on holding it.
    closes = (b"connection", b"close") in sent[0]["headers"]
    assert closes == (pieces_sent != 3)


@pytest.mark.anyio
async def test_a_servers_cancel_with_the_body_deadline_in_the_same_turn_stays_a_cancel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sweep ends a read past its deadline just as the server cancels the request (its
    # shutdown): one CancelledError for two cancels. It was taken for the deadline's alone,
    # answered 408, and the request returned: the server's cancel was swallowed.
    monkeypatch.setattr(_asgi_body, "BODY_SECONDS", 0.0)  # past its deadline at once
    monkeypatch.setattr(_asgi_body, "SWEEP_SECONDS", 0.0)  # swept on the next turn
    app, _ = receiver()
    task: asyncio.Task[None] | None = None
    sweep = _asgi_body.BodyReader._sweep

    def sweep_then_the_server_cancels(reader: Any, loop: Any, reads: Any) -> None:
        sweep(reader, loop, reads)
        assert task is not None
        task.cancel("the server shuts down")

    monkeypatch.setattr(_asgi_body.BodyReader, "_sweep", sweep_then_the_server_cancels)

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # a head, and no body
        raise AssertionError

    async def send(message: Any) -> None:
        return None

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    task = asyncio.ensure_future(app(scope, receive, send))
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)


@pytest.mark.anyio
async def test_the_body_deadline_answers_408_in_a_task_that_swallowed_a_cancel_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A middleware that once swallowed a cancel leaves the task's count at 1: the deadline's
    # own cancel was then taken for another's, and the request ended unanswered.
    monkeypatch.setattr(_asgi_body, "BODY_SECONDS", 0.0)
    monkeypatch.setattr(_asgi_body, "SWEEP_SECONDS", 0.0)
    app, _ = receiver()
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # a head, and no body
        raise AssertionError

    async def send(message: Any) -> None:
        sent.append(message)

    async def swallowing_once() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0)  # a cancel taken and not passed on (cancelling() stays 1)
        scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
        await app(scope, receive, send)

    await asyncio.wait_for(swallowing_once(), 10)
    assert sent[0]["status"] == 408


@pytest.mark.anyio
@pytest.mark.parametrize(
    "length", [b"\xb2", b"9" * 5000, b"70000"], ids=["superscript", "5000-digits", "over-cap"]
)
async def test_an_odd_or_huge_declared_length_is_no_crash(length: bytes) -> None:
    app, _ = receiver()
    sent: list[Any] = []
    body = TELECOM23_BODY

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    signed = telecom23_headers(SECRET, body, NOW)
    headers = [(b"content-length", length)]
    headers += [(k.lower().encode(), v.encode()) for k, v in signed.items()]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    await app(scope, receive, send)
    status = sent[0]["status"]
    # An unreadable length is left to the body actually read (the cap still holds).
    assert status == (413 if length.isdigit() else 200)
    # Closed: kept, a client trickling the rest of a huge declared body held it for ever.
    assert ((b"connection", b"close") in sent[0]["headers"]) == (status == 413)


async def _deliver_raw(
    app: Any, headers: list[tuple[Any, bytes]], body: Any = TELECOM23_BODY
) -> int:
    """One delivery with the scope's headers and body as given (odd types included)."""
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    await app(scope, receive, send)
    status: int = sent[0]["status"]
    return status


def _signed(secret: str = SECRET) -> list[tuple[bytes, bytes]]:
    signed = telecom23_headers(secret, TELECOM23_BODY, NOW)
    return [(k.lower().encode(), v.encode()) for k, v in signed.items()]


@pytest.mark.anyio
async def test_a_header_repeated_in_other_letter_cases_reads_as_its_last_value() -> None:
    # Names merged into a dict kept the first one's place: the middle value was read.
    timestamp, (name, good) = _signed()
    bad = _signed("another secret")[1][1]
    upper = name.upper()
    app, seen = receiver()
    headers = [timestamp, (upper, bad), (name.title(), good), (upper, bad)]
    assert await _deliver_raw(app, headers) == 401
    headers = [timestamp, (upper, bad), (name.title(), bad), (upper, good)]
    assert await _deliver_raw(app, headers) == 200
    await shut_down(app)
    assert len(seen) == 1


@pytest.mark.anyio
async def test_spaces_around_a_header_value_are_not_part_of_it() -> None:
    # h11 strips them (RFC 9110, 5.5), httptools passes them on: the same genuine delivery
    # was 200 under one server and 401 under the other (the timestamp signed unstripped).
    app, seen = receiver()
    padded = [(name, b" \t" + value + b" \t") for name, value in _signed()]
    assert await _deliver_raw(app, padded) == 200
    await shut_down(app)
    assert len(seen) == 1


@pytest.mark.anyio
async def test_odd_but_readable_scopes_are_verified() -> None:
    # ASGI says bytes; a server or middleware handing bytearray names (unhashable) made
    # every delivery a 500, and a memoryview body was refused as not the raw bytes.
    app, seen = receiver()
    names_as_bytearrays = [(bytearray(name), value) for name, value in _signed()]
    assert await _deliver_raw(app, names_as_bytearrays) == 200
    assert await _deliver_raw(app, _signed(), body=memoryview(TELECOM23_BODY)) == 200
    await shut_down(app)
    assert len(seen) == 2


@pytest.mark.anyio
async def test_a_clock_that_says_none_reads_as_now() -> None:
    # As `parse(now=None)` reads it: it raised TypeError at every delivery (a 500).
    app, _ = receiver(clock=lambda: None)
    assert await _deliver_raw(app, _signed()) == 401  # signed at NOW, long ago: too old
    await shut_down(app)


@pytest.mark.anyio
async def test_a_failed_reports_log_line_shows_its_event_id_escaped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An unsigned provider's event id is whatever the sender wrote: escapes in it reached
    # the terminal through the log line (the CLI's `listen` printed it raw).
    def failing(_event: webhooks.WebhookEvent) -> None:
        raise RuntimeError("store down")

    app = webhooks.app("namirial", secret=None, on_report=failing, acknowledge="after_report")
    payload = {**spec_example("namirial", "statusUpdate", "statusUpdate"), "id": "e\x1b[2J\x07"}
    response = await post(app, json.dumps(payload).encode(), {})
    assert response.status_code == 500
    assert "\x1b" not in caplog.text
    assert "\x07" not in caplog.text
    assert "e\\x1b[2J\\x07" in caplog.text
