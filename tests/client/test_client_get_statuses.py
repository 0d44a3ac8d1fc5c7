"""Bulk lookups: input order, duplicates, seven's comma batches, and one unknown id never
costing the others their results — in the sync and the async client."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from client_support import (
    PER_ID_PROVIDERS,
    PROVIDERS,
    FakeClock,
    Recorder,
    connect,
    connect_async,
    json_response,
    last_segment_id,
    seed_for,
)
from sms_status import DeliveryState, StatusReport
from sms_status.errors import (
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    ServerError,
)

# A status each provider documents as final and one it documents as not final.
FINAL = {
    "telecom23": "DELIVRD",
    "namirial": "DELIVERED",
    "roycetalk": "delivered",
    "lisoloo": "delivered",
    "seven": "DELIVERED",
}
PENDING = {
    "telecom23": "pending",
    "namirial": "SENT",
    "roycetalk": "pending",
    "lisoloo": "pending",
    "seven": "ACCEPTED",
}


class SevenServer:
    """An in-memory seven: `GET /api/status?msg_id=a,b,c`.

    Unknown ids are left out of the reply (`unknown="omit"`) or fail the whole request with
    the numeric body 901 (`unknown="901"`). A single id is answered with a bare object.
    """

    def __init__(self, known: dict[str, str], unknown: str = "omit") -> None:
        self.known = known
        self.unknown = unknown
        self.batches: list[list[str]] = []
        self.urls: list[str] = []

    def reply(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/status"
        (joined,) = request.url.params.get_list("msg_id")
        ids = joined.split(",")
        self.batches.append(ids)
        self.urls.append(str(request.url))
        if self.unknown == "901" and any(i not in self.known for i in ids):
            return httpx.Response(200, content=b"901")
        items = [
            {"id": i, "status": self.known[i], "status_time": "2024-02-16 15:43:16.905"}
            for i in ids
            if i in self.known
        ]
        return json_response(items[0] if len(ids) == 1 and items else items)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.reply(request)

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        return self.reply(request)


class PerIdServer:
    """An in-memory per-id provider; unknown ids get 404, `errors` maps id -> status."""

    def __init__(
        self, provider: str, known: dict[str, str], errors: dict[str, int] | None = None
    ) -> None:
        self.provider = provider
        self.known = known
        self.errors = errors or {}
        self.asked: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def reply(self, request: httpx.Request) -> httpx.Response:
        message_id = unquote(last_segment_id(self.provider, request))
        self.asked.append(message_id)
        if message_id in self.errors:
            return httpx.Response(self.errors[message_id])
        if message_id not in self.known:
            return httpx.Response(404)
        return json_response(seed_for(self.provider, message_id, self.known[message_id]))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.reply(request)

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            return self.reply(request)
        finally:
            self.in_flight -= 1


def _server(provider: str, known: dict[str, str], **kwargs: Any) -> SevenServer | PerIdServer:
    if provider == "seven":
        return SevenServer(known, **kwargs)
    return PerIdServer(provider, known, **kwargs)


def _ids(n: int, width: int = 11) -> list[str]:
    return [str(77232000000 + i).rjust(width, "7") for i in range(n)]


def _summary(reports: list[StatusReport]) -> list[tuple[str, str, type | None]]:
    return [(r.message_id, r.provider_status, type(r.error) if r.error else None) for r in reports]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_results_keep_input_order_and_duplicates(provider: str) -> None:
    ids = _ids(5)
    known = {i: (FINAL if n % 2 else PENDING)[provider] for n, i in enumerate(ids)}
    asked = [ids[3], ids[0], ids[3], ids[4], ids[1], ids[0]]
    server = _server(provider, known)
    with connect(provider, server) as client:
        reports = client.get_statuses(asked)
    assert [r.message_id for r in reports] == asked
    assert [r.provider_status for r in reports] == [known[i] for i in asked]
    assert all(r.error is None for r in reports)
    assert reports[0] == reports[2]


@pytest.mark.parametrize("provider", PER_ID_PROVIDERS)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_id_given_twice_is_looked_up_once(provider: str, kind: str) -> None:
    # As seven's batches do: a repeated id cost a request (and a slot of the rate budget)
    # per repeat.
    ids = _ids(3)
    asked = [ids[0], ids[1], ids[0], ids[2], ids[1], ids[0]]
    server = PerIdServer(provider, dict.fromkeys(ids, FINAL[provider]))
    if kind == "sync":
        with connect(provider, server) as client:
            reports = client.get_statuses(asked)
    else:

        async def main() -> list[StatusReport]:
            async with connect_async(provider, server.handle_async) as client:
                return await client.get_statuses(asked)

        reports = asyncio.run(main())
    assert sorted(server.asked) == sorted(ids)
    assert [r.message_id for r in reports] == asked
    assert all(r.error is None and r.is_final for r in reports)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_empty_list_makes_no_request(provider: str) -> None:
    server = _server(provider, {})
    with connect(provider, server) as client:
        assert client.get_statuses([]) == []
    assert (server.batches if isinstance(server, SevenServer) else server.asked) == []


def test_seven_accepts_any_iterable_of_ids() -> None:
    ids = _ids(3)
    server = SevenServer(dict.fromkeys(ids, "DELIVERED"))
    with connect("seven", server) as client:
        reports = client.get_statuses(i for i in ids)
    assert [r.message_id for r in reports] == ids


def test_seven_batches_up_to_100_ids_per_request() -> None:
    ids = _ids(250)
    server = SevenServer(dict.fromkeys(ids, "DELIVERED"))
    with connect("seven", server) as client:
        reports = client.get_statuses(ids)
    assert [len(b) for b in server.batches] == [100, 100, 50]
    assert [i for b in server.batches for i in b] == ids
    assert [r.message_id for r in reports] == ids
    assert all(r.state is DeliveryState.DELIVERED for r in reports)


def test_seven_looks_up_duplicates_once() -> None:
    ids = _ids(3)
    server = SevenServer(dict.fromkeys(ids, "DELIVERED"))
    with connect("seven", server) as client:
        reports = client.get_statuses([ids[0], ids[1], ids[0], ids[2], ids[1]])
    assert server.batches == [ids]
    assert [r.message_id for r in reports] == [ids[0], ids[1], ids[0], ids[2], ids[1]]


def test_seven_long_ids_shorten_batches_to_keep_the_url_short() -> None:
    ids = _ids(300, width=40)
    server = SevenServer(dict.fromkeys(ids, "TRANSMITTED"))
    with connect("seven", server) as client:
        reports = client.get_statuses(ids)
    assert len(server.batches) > 3  # 100 ids of 40 chars would not fit
    assert all(len(",".join(b)) <= 1800 for b in server.batches)
    assert all(len(url) <= 2048 for url in server.urls)
    assert [i for b in server.batches for i in b] == ids
    assert [r.message_id for r in reports] == ids


def test_seven_single_id_bare_object_reply_is_read() -> None:
    ids = _ids(1)
    server = SevenServer({ids[0]: "BUFFERED"})
    with connect("seven", server) as client:
        (report,) = client.get_statuses(ids)
        single = client.get_status(ids[0])
    assert report.provider_status == "BUFFERED"
    assert report.state is DeliveryState.SENT
    assert single == report


def test_seven_ids_missing_from_the_reply_get_not_found_and_others_are_kept() -> None:
    ids = _ids(6)
    missing = {ids[1], ids[4]}
    server = SevenServer({i: "DELIVERED" for i in ids if i not in missing})
    with connect("seven", server) as client:
        reports = client.get_statuses(ids)
        with pytest.raises(NotFoundError):
            client.get_status(ids[1])
    assert len(server.batches) == 2
    for report in reports:
        if report.message_id in missing:
            assert isinstance(report.error, NotFoundError)
            assert report.state is DeliveryState.UNKNOWN
            assert report.is_final is False
        else:
            assert report.error is None
            assert report.state is DeliveryState.DELIVERED


def test_seven_whole_batch_901_is_split_until_the_unknown_ids_are_isolated() -> None:
    ids = _ids(40)
    unknown = {ids[0], ids[17], ids[18], ids[39]}
    server = SevenServer({i: "DELIVERED" for i in ids if i not in unknown}, unknown="901")
    with connect("seven", server) as client:
        reports = client.get_statuses(ids)
    assert [r.message_id for r in reports] == ids
    for report in reports:
        if report.message_id in unknown:
            assert isinstance(report.error, NotFoundError)
            assert report.error.error_code == "901"
        else:
            assert report.error is None
            assert report.provider_status == "DELIVERED"
    # Splitting in halves: a handful of requests, not one per id.
    assert len(server.batches) < len(ids)


def test_seven_invalid_key_in_a_batch_raises() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"900")

    with connect("seven", handler) as client, pytest.raises(AuthenticationError) as info:
        client.get_statuses(_ids(5))
    assert info.value.error_code == "900"


def test_seven_malformed_batch_is_reported_on_its_ids_only() -> None:
    ids = _ids(150)
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(200, content=b"<html>oops</html>")
        (joined,) = request.url.params.get_list("msg_id")
        return json_response(
            [{"id": i, "status": "DELIVERED", "status_time": ""} for i in joined.split(",")]
        )

    with connect("seven", handler) as client:
        reports = client.get_statuses(ids)
    assert all(isinstance(r.error, MalformedResponseError) for r in reports[:100])
    assert all(r.error is None and r.is_final for r in reports[100:])


@pytest.mark.parametrize("provider", PER_ID_PROVIDERS)
def test_one_unknown_id_does_not_lose_the_others(provider: str) -> None:
    ids = _ids(8)
    server = PerIdServer(provider, {i: FINAL[provider] for i in ids if i != ids[5]})
    with connect(provider, server) as client:
        reports = client.get_statuses(ids)
    assert [r.message_id for r in reports] == ids
    lost = reports[5]
    assert isinstance(lost.error, NotFoundError)
    assert lost.state is DeliveryState.UNKNOWN
    assert lost.is_final is False
    assert all(r.error is None and r.is_final for i, r in enumerate(reports) if i != 5)


@pytest.mark.parametrize("provider", PER_ID_PROVIDERS)
def test_a_server_error_on_one_id_is_reported_on_that_id(provider: str, clock: FakeClock) -> None:
    ids = _ids(4)
    server = PerIdServer(provider, dict.fromkeys(ids, FINAL[provider]), errors={ids[2]: 500})
    with connect(provider, server, clock) as client:
        reports = client.get_statuses(ids)
    assert isinstance(reports[2].error, ServerError)
    assert [r.error is None for r in reports] == [True, True, False, True]


@pytest.mark.parametrize("provider", PER_ID_PROVIDERS)
def test_an_authentication_error_stops_the_bulk_lookup(provider: str) -> None:
    ids = _ids(6)
    server = PerIdServer(provider, dict.fromkeys(ids, FINAL[provider]), errors={ids[2]: 403})
    with connect(provider, server) as client, pytest.raises(AuthenticationError):
        client.get_statuses(ids)
    assert server.asked == ids[:3]  # nothing more is sent once the key is known to be bad


# The async client.


@pytest.mark.parametrize("provider", PROVIDERS)
def test_async_bulk_lookup_matches_the_sync_one(provider: str) -> None:
    ids = _ids(30)
    known = {i: (FINAL if n % 3 else PENDING)[provider] for n, i in enumerate(ids) if n != 7}
    asked = [*ids, ids[3]]
    sync_server = _server(provider, known)
    with connect(provider, sync_server) as client:
        expected = client.get_statuses(asked)
    async_server = _server(provider, known)

    async def main() -> list[StatusReport]:
        async with connect_async(provider, async_server.handle_async) as client:
            reports: list[StatusReport] = await client.get_statuses(asked)
            return reports

    reports = asyncio.run(main())
    assert reports == expected
    assert _summary(reports) == _summary(expected)
    assert isinstance(reports[7].error, NotFoundError)


@pytest.mark.parametrize("provider", PER_ID_PROVIDERS)
@pytest.mark.parametrize("concurrency", [1, 4, 16])
def test_async_bulk_lookup_never_exceeds_its_concurrency(provider: str, concurrency: int) -> None:
    ids = _ids(60)
    server = PerIdServer(provider, dict.fromkeys(ids, FINAL[provider]))

    async def main() -> list[StatusReport]:
        async with connect_async(
            provider, server.handle_async, concurrency=concurrency, rate_limiter=None
        ) as client:
            reports: list[StatusReport] = await client.get_statuses(ids)
            return reports

    reports = asyncio.run(main())
    assert [r.message_id for r in reports] == ids
    assert server.max_in_flight == concurrency  # reached, never exceeded
    assert sorted(server.asked) == sorted(ids)


def test_async_default_concurrency_is_bounded() -> None:
    ids = _ids(100)
    server = PerIdServer("roycetalk", dict.fromkeys(ids, "delivered"))

    async def main() -> None:
        async with connect_async("roycetalk", server.handle_async) as client:
            await client.get_statuses(ids)

    asyncio.run(main())
    assert 1 < server.max_in_flight <= 16


def test_async_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        connect_async("roycetalk", PerIdServer("roycetalk", {}).handle_async, concurrency=0)


@pytest.mark.parametrize("provider", PER_ID_PROVIDERS)
def test_async_authentication_error_raises_and_stops_the_workers(provider: str) -> None:
    ids = _ids(50)
    server = PerIdServer(provider, dict.fromkeys(ids, FINAL[provider]), errors={ids[10]: 401})

    async def main() -> None:
        async with connect_async(provider, server.handle_async, concurrency=4) as client:
            await client.get_statuses(ids)

    with pytest.raises(AuthenticationError):
        asyncio.run(main())
    assert len(server.asked) < len(ids)


def test_async_seven_batches_and_splits_like_the_sync_client() -> None:
    ids = _ids(230)
    unknown = {ids[5], ids[120]}
    server = SevenServer({i: "DELIVERED" for i in ids if i not in unknown}, unknown="901")

    async def main() -> list[StatusReport]:
        async with connect_async("seven", server.handle_async) as client:
            reports: list[StatusReport] = await client.get_statuses(ids)
            return reports

    reports = asyncio.run(main())
    assert [r.message_id for r in reports] == ids
    assert {r.message_id for r in reports if isinstance(r.error, NotFoundError)} == unknown
    assert [len(b) for b in server.batches[:1]] == [100]


def test_sync_per_id_lookups_are_sent_in_input_order() -> None:
    ids = _ids(5)
    server = Recorder(lambda r: json_response(seed_for("telecom23", "x")))
    with connect("telecom23", server) as client:
        client.get_statuses(ids)
    assert [last_segment_id("telecom23", r) for r in server.requests] == ids
