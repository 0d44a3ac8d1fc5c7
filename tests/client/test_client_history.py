"""namirial history: `count` capped and checked, E.164 checked, and the iterators walk all of
history backwards by sendDate with no duplicates and no gaps — whether the server's "before"
is strict or inclusive, with several messages sharing a second at page edges."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from client_support import Recorder, connect, connect_async, json_response, seed
from sms_status import DeliveryState, StatusReport
from sms_status.errors import MalformedResponseError

PHONE = "+4915112345678"
START = datetime(2026, 2, 4, 6, 54, 35, tzinfo=UTC)


def _messages(n: int, *, group_max: int = 3, seed_value: int = 7) -> list[tuple[str, datetime]]:
    """`n` messages, newest first, in groups of 1..group_max sharing the same second."""
    rng = random.Random(seed_value)
    messages: list[tuple[str, datetime]] = []
    moment = START
    while len(messages) < n:
        for _ in range(rng.randint(1, group_max)):
            messages.append((f"msg-{len(messages):04d}", moment))
        moment -= timedelta(seconds=rng.choice([1, 1, 2, 60]))
    return messages[:n]


def _details(
    message_id: str, sent: datetime, status: str = "DELIVERED", *, precise: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = seed("namirial")["message"]
    body["id"] = message_id
    body["status"] = status
    accepted = f"{sent:%Y-%m-%dT%H:%M:%S.%f}"[:-3] if precise else f"{sent:%Y-%m-%dT%H:%M:%S}"
    body["providerAcceptanceAt"] = accepted + "Z"
    body["statusChangedAt"] = (sent + timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return body


class FakeNamirial:
    """History endpoints over an in-memory list. `strict`: sendDate means "<", else "<=".
    Messages sharing a second come back in a different order on every request."""

    def __init__(
        self, messages: list[tuple[str, datetime]], *, strict: bool, precise: bool = False
    ) -> None:
        self.messages = messages
        self.strict = strict
        self.precise = precise  # send times to the millisecond, else whole seconds
        self.rng = random.Random(11)
        self.queries: list[dict[str, str]] = []
        self.paths: list[str] = []

    def reply(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.raw_path.decode())
        params = dict(request.url.params)
        self.queries.append(params)
        count = min(int(params.get("count", "50")), 100)
        before = datetime.fromisoformat(params["sendDate"]) if "sendDate" in params else None
        matching = [
            (i, t)
            for i, t in self.messages
            if before is None or (t < before if self.strict else t <= before)
        ]
        matching.sort(key=lambda m: (m[1], self.rng.random()), reverse=True)
        page = [{"message": _details(i, t, precise=self.precise)} for i, t in matching[:count]]
        return json_response({"messages": page})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.reply(request)

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        return self.reply(request)


def _assert_complete_walk(
    reports: list[StatusReport], messages: list[tuple[str, datetime]]
) -> None:
    ids = [r.message_id for r in reports]
    assert len(ids) == len(set(ids)), "duplicates"
    assert set(ids) == {i for i, _ in messages}, "gaps"
    times = [r.created_at for r in reports]
    assert all(t is not None for t in times)
    assert times == sorted(times, reverse=True), "not newest first"  # type: ignore[type-var]


@pytest.mark.parametrize("strict", [True, False], ids=["strict-before", "inclusive-before"])
@pytest.mark.parametrize("page_size", [100, 7])
def test_iter_history_by_phone_yields_every_message_once_newest_first(
    strict: bool, page_size: int
) -> None:
    messages = _messages(250)
    server = FakeNamirial(messages, strict=strict)
    with connect("namirial", server) as client:
        reports = list(client.iter_history_by_phone(PHONE, page_size=page_size))
    _assert_complete_walk(reports, messages)
    assert all(q["count"] == str(page_size) for q in server.queries)
    assert "sendDate" not in server.queries[0]
    assert all(p.startswith("/api/messagestatus/phonenumber/") for p in server.paths)


@pytest.mark.parametrize("strict", [True, False], ids=["strict-before", "inclusive-before"])
@pytest.mark.parametrize("page_size", [100, 7])
def test_iter_history_by_reference_walks_all_of_history(strict: bool, page_size: int) -> None:
    messages = _messages(120, seed_value=3)
    server = FakeNamirial(messages, strict=strict)
    with connect("namirial", server) as client:
        reports = list(client.iter_history_by_reference("order/42?x", page_size=page_size))
    _assert_complete_walk(reports, messages)
    prefix = "/api/messagestatus/reference/"
    assert all(unquote(p.removeprefix(prefix).split("?")[0]) == "order/42?x" for p in server.paths)


def test_page_edges_fall_inside_groups_sharing_a_second() -> None:
    # Every page of 7 ends inside a group of three messages sent in the same second.
    messages = [
        (f"m{n:03d}", START - timedelta(seconds=n // 3)) for n in range(60)
    ]  # groups of exactly three
    for strict in (True, False):
        server = FakeNamirial(messages, strict=strict)
        with connect("namirial", server) as client:
            reports = list(client.iter_history_by_phone(PHONE, page_size=7))
        _assert_complete_walk(reports, messages)


@pytest.mark.parametrize("limit", [0, 1, 37, 250, 1000])
def test_iter_history_respects_limit(limit: int) -> None:
    messages = _messages(250)
    server = FakeNamirial(messages, strict=True)
    with connect("namirial", server) as client:
        reports = list(client.iter_history_by_phone(PHONE, page_size=7, limit=limit))
    assert len(reports) == min(limit, 250)
    assert len({r.message_id for r in reports}) == len(reports)
    newest = sorted((t for _, t in messages), reverse=True)[: len(reports)]
    assert [r.created_at for r in reports] == newest
    if limit == 0:
        assert server.queries == []


def test_iter_history_stops_fetching_once_the_limit_is_reached() -> None:
    server = FakeNamirial(_messages(250), strict=True)
    with connect("namirial", server) as client:
        reports = list(client.iter_history_by_phone(PHONE, page_size=10, limit=25))
    assert len(reports) == 25
    assert len(server.queries) == 3


def test_iter_history_starts_before_the_given_moment() -> None:
    messages = _messages(100)
    cutoff = messages[40][1]
    server = FakeNamirial(messages, strict=True)
    with connect("namirial", server) as client:
        reports = list(client.iter_history_by_phone(PHONE, page_size=9, before=cutoff))
    _assert_complete_walk(reports, [(i, t) for i, t in messages if t < cutoff])
    assert datetime.fromisoformat(server.queries[0]["sendDate"]) == cutoff


@pytest.mark.parametrize("page_size", [1, 2])
def test_an_inclusive_before_with_pages_of_one_second_each_repeats_nothing(
    page_size: int,
) -> None:
    # After a page with nothing new the cursor stepped back a second, forgot what was sent
    # after it, then moved forward again: n0, n1, n0, n2, n1, n0 (a reviewer's walk).
    messages = [(f"n{n}", START - timedelta(seconds=n)) for n in range(5)]
    server = FakeNamirial(messages, strict=False)
    with connect("namirial", server) as client:
        reports = list(client.iter_history_by_phone(PHONE, page_size=page_size))
    _assert_complete_walk(reports, messages)


def test_no_message_sent_after_the_given_before_is_yielded() -> None:
    # The cursor after the first page was the next whole second: past a `before` inside a
    # second, so an inclusive server's message sent after it came back.
    cutoff = START + timedelta(milliseconds=500)
    messages = [(f"m{n}", START - timedelta(seconds=n)) for n in range(-1, 3)]
    server = FakeNamirial(messages, strict=False)
    with connect("namirial", server) as client:
        reports = list(client.iter_history_by_phone(PHONE, page_size=1, before=cutoff))
    _assert_complete_walk(reports, [(i, t) for i, t in messages if t <= cutoff])
    assert all(datetime.fromisoformat(q["sendDate"]) <= cutoff for q in server.queries)


@pytest.mark.parametrize("strict", [True, False], ids=["strict-before", "inclusive-before"])
def test_a_before_inside_a_second_skips_nothing_sent_before_it(strict: bool) -> None:
    # Held at the caller's before=S+0.5, a page with nothing new stepped a whole second
    # back, to S-0.5, past a message sent at S-0.3 (a reviewer's walk: a, b, d).
    messages = [
        ("a", START + timedelta(milliseconds=300)),
        ("b", START + timedelta(milliseconds=200)),
        ("c", START - timedelta(milliseconds=300)),
        ("d", START - timedelta(seconds=2)),
    ]
    server = FakeNamirial(messages, strict=strict, precise=True)
    before = START + timedelta(milliseconds=500)
    with connect("namirial", server) as client:
        reports = list(client.iter_history_by_phone(PHONE, page_size=2, before=before))
    assert [r.message_id for r in reports] == ["a", "b", "c", "d"]


def test_iter_history_is_lazy() -> None:
    server = FakeNamirial(_messages(50), strict=True)
    with connect("namirial", server) as client:
        walk = client.iter_history_by_phone(PHONE, page_size=10)
        assert server.queries == []
        first = next(iter(walk))
        assert first.created_at == START
        assert len(server.queries) == 1


def test_more_than_a_page_in_one_second_is_listed_whole_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The second was stepped past with a warning: some of its 12 messages were skipped.
    messages = [(f"same-{n}", START) for n in range(12)] + _messages(20, seed_value=5)[5:]
    messages = [(i, t) for i, t in messages if i.startswith("same") or t < START]
    server = FakeNamirial(messages, strict=False)
    caplog.set_level(logging.WARNING, logger="sms_status")
    with connect("namirial", server) as client:
        reports = list(client.iter_history_by_phone(PHONE, page_size=5))
    ids = [r.message_id for r in reports]
    assert sorted(ids) == sorted(i for i, _ in messages)
    assert len(server.queries) < 10
    assert not any("share" in r.getMessage() for r in caplog.records)


def test_a_server_ignoring_send_date_ends_the_walk_without_repeats() -> None:
    page = {"messages": [{"message": _details(f"m{n:03}", START)} for n in range(100)]}
    server = Recorder(lambda _request: json_response(page))
    seen: list[str] = []

    def walk() -> None:
        with connect("namirial", server) as client:
            for report in client.iter_history_by_phone(PHONE, page_size=100):
                seen.append(report.message_id)

    with pytest.raises(MalformedResponseError, match="sendDate"):
        walk()
    assert sorted(seen) == [f"m{n:03}" for n in range(100)]
    assert len(server.requests) < 10


def test_empty_history_yields_nothing() -> None:
    server = FakeNamirial([], strict=True)
    with connect("namirial", server) as client:
        assert list(client.iter_history_by_phone(PHONE)) == []
        assert client.history_by_phone(PHONE) == []
    assert len(server.queries) == 2


# history_by_phone / history_by_reference: one page.


@pytest.mark.parametrize(("count", "sent"), [(1, "1"), (50, "50"), (100, "100"), (500, "100")])
def test_history_count_above_100_is_capped(count: int, sent: str) -> None:
    server = FakeNamirial(_messages(150), strict=True)
    with connect("namirial", server) as client:
        page = client.history_by_phone(PHONE, count=count)
        by_reference = client.history_by_reference("EXT_KEY", count=count)
    assert [q["count"] for q in server.queries] == [sent, sent]
    assert len(page) == int(sent)
    assert len(by_reference) == int(sent)


def test_history_default_count_is_50() -> None:
    server = FakeNamirial(_messages(150), strict=True)
    with connect("namirial", server) as client:
        page = client.history_by_phone(PHONE)
    assert server.queries == [{"count": "50"}]
    assert len(page) == 50


def test_history_page_reads_the_documented_example() -> None:
    from client_support import example

    body = example("namirial", "200", "delivered", "/api/messagestatus/phonenumber/{phonenumber}")
    with connect("namirial", lambda _request: json_response(body)) as client:
        (report,) = client.history_by_phone("+1234567890", count=1)
    assert report.message_id == "011d9d6e-b5b9-4cb9-be13-2bc336a923ce"
    assert report.state is DeliveryState.DELIVERED
    assert report.channel == "SMS"
    assert report.created_at == datetime(2026, 2, 4, 6, 54, 35, tzinfo=UTC)


@pytest.mark.parametrize("count", [0, -1, -100])
def test_history_count_below_one_is_refused_before_any_request(count: int) -> None:
    server = Recorder(lambda _request: json_response({"messages": []}))
    with connect("namirial", server) as client:
        with pytest.raises(ValueError, match="count"):
            client.history_by_phone(PHONE, count=count)
        with pytest.raises(ValueError, match="count"):
            client.history_by_reference("EXT_KEY", count=count)
        with pytest.raises(ValueError, match="page_size"):
            client.iter_history_by_phone(PHONE, page_size=count)
    assert server.requests == []


@pytest.mark.parametrize(
    "phone",
    ["", "15551234567", "+", "+0123456789", "+1 555 123 4567", "+1-555-1234567", "+12345",
     "+1234567890123456", "+4915112345678\n", "tel:+4915112345678"],
)  # fmt: skip
def test_non_e164_phone_is_refused_before_any_request(phone: str) -> None:
    server = Recorder(lambda _request: json_response({"messages": []}))
    with connect("namirial", server) as client:
        with pytest.raises(ValueError, match=r"E\.164"):
            client.history_by_phone(phone)
        with pytest.raises(ValueError, match=r"E\.164"):
            client.iter_history_by_phone(phone)
    assert server.requests == []


def test_a_long_phone_number_is_cut_in_its_error() -> None:
    # The whole input was echoed: 5,000 digits on one error line.
    with (
        connect("namirial", Recorder(lambda _request: json_response({}))) as client,
        pytest.raises(ValueError, match=r"E\.164") as refused,
    ):
        client.history_by_phone("+" + "1" * 5000)
    assert len(str(refused.value)) < 120
    assert "(5001 characters)" in str(refused.value)


def test_e164_phone_reaches_the_server_as_one_path_segment() -> None:
    server = FakeNamirial(_messages(3), strict=True)
    with connect("namirial", server) as client:
        client.history_by_phone("+14155551234")
    (path,) = server.paths
    assert unquote(path.split("?")[0].removeprefix("/api/messagestatus/phonenumber/")) == (
        "+14155551234"
    )


def test_history_before_is_sent_as_an_iso_8601_send_date() -> None:
    server = FakeNamirial(_messages(10), strict=True)
    moment = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    with connect("namirial", server) as client:
        client.history_by_phone(PHONE, before=moment)
    assert datetime.fromisoformat(server.queries[0]["sendDate"]) == moment


# The async client.


@pytest.mark.parametrize("strict", [True, False], ids=["strict-before", "inclusive-before"])
@pytest.mark.parametrize("page_size", [100, 7])
def test_async_iter_history_matches_the_sync_walk(strict: bool, page_size: int) -> None:
    messages = _messages(250)
    server = FakeNamirial(messages, strict=strict)

    async def main() -> list[StatusReport]:
        async with connect_async("namirial", server.handle_async) as client:
            return [r async for r in client.iter_history_by_phone(PHONE, page_size=page_size)]

    reports = asyncio.run(main())
    _assert_complete_walk(reports, messages)


def test_async_history_limit_and_count_cap() -> None:
    server = FakeNamirial(_messages(250), strict=False)

    async def main() -> tuple[list[StatusReport], list[StatusReport]]:
        async with connect_async("namirial", server.handle_async) as client:
            page = await client.history_by_reference("EXT_KEY", count=1000)
            walk = [r async for r in client.iter_history_by_reference("EXT_KEY", limit=130)]
            return page, walk

    page, walk = asyncio.run(main())
    assert len(page) == 100
    assert server.queries[0]["count"] == "100"
    assert len(walk) == 130
    assert len({r.message_id for r in walk}) == 130


def test_async_history_validates_before_any_request() -> None:
    server = FakeNamirial([], strict=True)

    async def main() -> None:
        async with connect_async("namirial", server.handle_async) as client:
            with pytest.raises(ValueError, match=r"E\.164"):
                await client.history_by_phone("555-1234")
            with pytest.raises(ValueError, match="count"):
                await client.history_by_phone(PHONE, count=0)
            with pytest.raises(ValueError, match=r"E\.164"):
                client.iter_history_by_phone("555-1234")

    asyncio.run(main())
    assert server.queries == []


def test_only_namirial_clients_have_history() -> None:
    with connect("telecom23", lambda _request: httpx.Response(200)) as client:
        assert not hasattr(client, "history_by_phone")
        assert not hasattr(client, "iter_history_by_phone")


def test_history_lookups_send_the_header_the_docs_list() -> None:
    # Namirial's docs list "Content-Type: application/json" for both lookups (GETs without
    # a body); none was sent, and a server that insists on it would refuse them.
    recorder = Recorder(lambda _request: json_response({"messages": []}))
    with connect("namirial", recorder) as client:
        client.history_by_phone(PHONE)
        client.history_by_reference("ref-1")
    assert [r.headers.get("content-type") for r in recorder.requests] == ["application/json"] * 2
    assert all(r.content == b"" for r in recorder.requests)
