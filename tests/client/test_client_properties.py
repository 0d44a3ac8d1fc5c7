"""Property tests: whatever a server answers — any status code, any bytes, any JSON, the seed
bodies with fields broken — a lookup returns a StatusReport or raises one of the documented
errors (ApiError and subclasses, MalformedResponseError, TransportError). Never anything else,
and never with the API key in it."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from client_support import API_KEY, PROVIDERS, FakeClock, connect, seed, seed_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sms_status import DeliveryState, StatusReport
from sms_status.errors import (
    BODY_EXCERPT_LIMIT,
    ApiError,
    MalformedResponseError,
    RateLimitError,
    TransportError,
)

DOCUMENTED = (ApiError, MalformedResponseError, TransportError)
MESSAGE_ID = "77232007287"
PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
# Values of the wrong type or shape for the fields the specs declare.
wrong_values = (
    st.sampled_from(
        [
            None,
            "",
            " ",
            "2026-13-45T99:99:99Z",
            "99999-01-01T00:00:00Z",
            "2026-02-13 10:30:00",
            "yesterday",
            "0001-01-01T00:00:00-23:59",
            "9999-12-31T23:59:59+14:00",
            -1,
            0,
            2**64,
            1.5,
            1e308,
            True,
            False,
            [],
            {},
            [{}],
            {"status": "DELIVRD"},
            "DELIVRD",
            API_KEY,
            "x" * 3000,
        ]
    )
    | json_values
)

statuses = st.sampled_from([200, 201, 204, 299, 400, 401, 403, 404, 408, 429, 500, 502, 503]) | (
    st.integers(min_value=0, max_value=999)
)
retry_after = (
    st.none()
    | st.sampled_from(["0", "1", "120", "-3", "nan", "1e999", "soon"])
    | (st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40))
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node below `value` (dict keys and list indices)."""
    found: list[tuple[Any, ...]] = []
    children: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


@st.composite
def mutated(draw: st.DrawFn, body: Any) -> Any:
    """`body` with one to three fields replaced by wrong values, deleted, or added."""
    body = copy.deepcopy(body)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(body)
        if not paths:
            return copy.deepcopy(draw(wrong_values))
        path = draw(st.sampled_from(paths))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        operation = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        # Copies: sampled_from hands out the same objects, and mutating them would leak
        # between examples (and can build a cycle).
        if operation == "replace":
            parent[path[-1]] = copy.deepcopy(draw(wrong_values))
        elif operation == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = copy.deepcopy(draw(json_values))
    return body


def _bodies(valid: Any) -> st.SearchStrategy[bytes]:
    as_json = st.builds(lambda v: json.dumps(v).encode(), json_values | mutated(valid))
    return st.one_of(
        as_json,
        as_json,
        st.binary(max_size=200),
        st.builds(lambda v: json.dumps(v).encode(), st.just(valid)),
        st.builds(lambda n: str(n).encode(), st.integers(min_value=-1000, max_value=1000)),
        st.sampled_from([b"", b"<html>oops</html>", b"{", b"null", b"[]", b"\xff\xfe"]),
    )


class Replay:
    """A handler that answers every request with the current response; counts requests."""

    def __init__(self) -> None:
        self.status = 200
        self.content = b""
        self.headers: dict[str, str] = {}
        self.requests = 0

    def set(self, status: int, content: bytes, header: str | None) -> None:
        self.status, self.content = status, content
        self.headers = {} if header is None else {"Retry-After": header}
        self.requests = 0

    def __call__(self, _request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(self.status, content=self.content, headers=self.headers)


def _check_error(error: BaseException) -> None:
    assert isinstance(error, DOCUMENTED), f"undocumented {type(error).__name__}: {error!r}"
    texts = [str(error), repr(error), *map(str, error.args)]
    texts.append(getattr(error, "body_excerpt", ""))
    texts.append(getattr(error, "message", ""))
    assert all(API_KEY not in t for t in texts)
    assert len(getattr(error, "body_excerpt", "")) <= BODY_EXCERPT_LIMIT
    if isinstance(error, ApiError):
        assert isinstance(error.error_code, str)
        assert error.error_code
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        assert error.retry_after >= 0


def _check_report(report: StatusReport, provider: str, message_id: str | None) -> None:
    assert isinstance(report, StatusReport)
    assert report.provider == provider
    if message_id is not None:
        assert report.message_id == message_id
    assert isinstance(report.message_id, str)
    assert isinstance(report.state, DeliveryState)
    assert type(report.provider_status) is str
    assert isinstance(report.is_final, bool)
    if report.state is DeliveryState.UNRECOGNIZED:
        assert report.is_final is False
    for moment in (report.created_at, report.sent_at, report.delivered_at, report.updated_at):
        assert moment is None or (isinstance(moment, datetime) and moment.tzinfo is not None)
        assert moment is None or moment.utcoffset() is not None
    assert report.cost is None or (isinstance(report.cost, Decimal) and report.cost.is_finite())
    assert report.segments is None or type(report.segments) is int
    assert report.recipient is None or type(report.recipient) is str
    assert report.provider_code is None or type(report.provider_code) is str
    assert report.channel is None or type(report.channel) is str
    if report.recipients is not None:
        counts = report.recipients
        assert all(
            type(n) is int for n in (counts.total, counts.delivered, counts.failed, counts.pending)
        )
    if report.error is not None:
        _check_error(report.error)


def _client(provider: str, replay: Replay) -> Any:
    clock = FakeClock()
    return connect(provider, replay, clock, rate_limiter=None)


@pytest.mark.slow  # 4-7 s each: hypothesis
@pytest.mark.parametrize("provider", PROVIDERS)
def test_get_status_only_ever_returns_a_report_or_a_documented_error(provider: str) -> None:
    replay = Replay()
    valid = seed_for(provider, MESSAGE_ID)

    @PROPERTY_SETTINGS
    @given(status=statuses, content=_bodies(valid), header=retry_after)
    def check(status: int, content: bytes, header: str | None) -> None:
        replay.set(status, content, header)
        try:
            report = client.get_status(MESSAGE_ID)
        except Exception as error:
            _check_error(error)
        else:
            _check_report(report, provider, MESSAGE_ID)
            assert report.error is None
        assert 1 <= replay.requests <= 3

    with _client(provider, replay) as client:
        check()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_seed_body_survives_any_2xx_status(provider: str) -> None:
    replay = Replay()
    body = json.dumps(seed_for(provider, MESSAGE_ID)).encode()

    @settings(max_examples=50, deadline=None)
    @given(status=st.integers(min_value=200, max_value=299))
    def check(status: int) -> None:
        replay.set(status, body, None)
        _check_report(client.get_status(MESSAGE_ID), provider, MESSAGE_ID)

    with _client(provider, replay) as client:
        check()


@pytest.mark.slow  # 10 s: hypothesis
def test_seven_get_statuses_only_ever_returns_reports_or_a_documented_error() -> None:
    replay = Replay()
    two = [
        {"id": "77232007287", "status": "DELIVERED", "status_time": "2024-02-16 15:43:16.905"},
        {"id": "77232007195", "status": "BUFFERED", "status_time": "2024-02-16 15:42:19.989"},
    ]
    ids_strategy = st.lists(
        st.sampled_from(["77232007287", "77232007195", "1", "2", "77232007287"]),
        min_size=1,
        max_size=5,
    )

    @PROPERTY_SETTINGS
    @given(
        status=statuses,
        content=_bodies(two) | _bodies(seed("seven")),
        header=retry_after,
        ids=ids_strategy,
    )
    def check(status: int, content: bytes, header: str | None, ids: list[str]) -> None:
        replay.set(status, content, header)
        try:
            reports = client.get_statuses(ids)
        except Exception as error:
            _check_error(error)
        else:
            assert [r.message_id for r in reports] == ids
            for report, message_id in zip(reports, ids, strict=True):
                _check_report(report, "seven", message_id)

    with _client("seven", replay) as client:
        check()


def test_namirial_history_only_ever_returns_reports_or_a_documented_error() -> None:
    replay = Replay()
    listing = {"messages": [{"message": seed("namirial")["message"]}] * 2}

    @PROPERTY_SETTINGS
    @given(status=statuses, content=_bodies(listing), header=retry_after)
    def check(status: int, content: bytes, header: str | None) -> None:
        replay.set(status, content, header)
        try:
            reports = client.history_by_phone("+14155551234", count=2)
        except Exception as error:
            _check_error(error)
        else:
            assert isinstance(reports, list)
            for report in reports:
                _check_report(report, "namirial", None)

    with _client("namirial", replay) as client:
        check()


def test_namirial_history_walk_only_ever_yields_reports_or_a_documented_error() -> None:
    replay = Replay()
    message = seed("namirial")["message"]
    # A full page (page_size=3) that ignores sendDate: the walk must still end.
    listing = {"messages": [{"message": {**message, "id": f"m{n}"}} for n in range(3)]}

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(status=statuses, content=_bodies(listing))
    def check(status: int, content: bytes) -> None:
        replay.set(status, content, None)
        try:
            reports = list(client.iter_history_by_phone("+14155551234", page_size=3, limit=50))
        except Exception as error:
            _check_error(error)
        else:
            assert len(reports) <= 50
            assert len({r.message_id for r in reports}) == len(reports)
            for report in reports:
                _check_report(report, "namirial", None)
        assert replay.requests <= 60

    with _client("namirial", replay) as client:
        check()
