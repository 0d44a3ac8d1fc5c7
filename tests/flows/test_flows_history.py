"""`iter_history` driven directly with scripted pages (namirial): page edges among messages
that share a second, a server whose "before" is inclusive, `limit`, and a server that
ignores the cursor."""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flows_support import Clock, Script, context, json_reply
from sms_status import _flows
from sms_status.errors import MalformedResponseError
from sms_status.providers import namirial
from sms_status.testing import namirial as namirial_fake

PHONE = "+393331234567"
T0 = datetime(2026, 2, 4, 6, 54, 35, tzinfo=UTC)


def message(message_id: str, sent: datetime) -> dict[str, Any]:
    """namirial's documented example message, with another id and send time."""
    item: dict[str, Any] = copy.deepcopy(namirial_fake.PROVIDER.examples[0].body["message"])
    item["id"] = message_id
    item["providerAcceptanceAt"] = sent.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return item


def page(*messages: dict[str, Any]) -> Any:
    return json_reply({"messages": [{"message": m} for m in messages]})


def history(clock: Clock, *, page_size: int, limit: int | None = None) -> _flows.Flow[None]:
    ctx = context(namirial.PROVIDER, clock)
    return _flows.iter_history(ctx, "phone", PHONE, page_size=page_size, before=None, limit=limit)


def cursors(script: Script) -> list[object]:
    return [send.request["params"].get("sendDate") for send in script.sent]


def test_pages_walk_back_by_whole_seconds_without_gaps_or_duplicates() -> None:
    clock = Clock()
    a, b = (
        message("a", T0 + timedelta(seconds=2, microseconds=500)),
        message("b", T0 + timedelta(seconds=2)),
    )
    c, d = message("c", T0 + timedelta(seconds=1)), message("d", T0)
    script = Script(clock, [page(a, b), page(b, c), page(d)])
    script.run(history(clock, page_size=2))
    assert [r.message_id for r in script.emitted] == ["a", "b", "c", "d"]
    # Each cursor is the next whole second after the oldest message seen: an edge inside a
    # second is asked for again, and what was already emitted is dropped.
    assert cursors(script) == [
        None,
        (T0 + timedelta(seconds=3)).isoformat(),
        (T0 + timedelta(seconds=2)).isoformat(),
    ]


def test_an_id_listed_twice_on_one_page_is_emitted_once() -> None:
    # An RCS message with an SMS fallback, say, listed once per channel.
    clock = Clock()
    a, b = message("a", T0 + timedelta(seconds=9)), message("b", T0 + timedelta(seconds=5))
    script = Script(clock, [page(a, b, b, message("c", T0))])
    script.run(history(clock, page_size=5))
    assert [r.message_id for r in script.emitted] == ["a", "b", "c"]


def counts(script: Script) -> list[object]:
    return [send.request["params"].get("count") for send in script.sent]


def test_a_second_holding_more_than_a_page_is_asked_for_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # It stepped back past the second, skipping "e" (with a warning), though the API
    # would have listed all three on one page of 100.
    clock = Clock()
    a, b, e = (message(i, T0 + timedelta(seconds=5)) for i in "abe")
    older = message("c", T0)
    script = Script(clock, [page(a, b), page(a, b), page(a, b, e, older)])
    with caplog.at_level(logging.WARNING, logger="sms_status"):
        script.run(history(clock, page_size=2))
    assert [r.message_id for r in script.emitted] == ["a", "b", "e", "c"]
    assert counts(script) == [2, 2, 100]
    assert cursors(script)[1:] == [(T0 + timedelta(seconds=6)).isoformat()] * 2
    assert "share" not in caplog.text


def test_one_message_a_page_walks_without_false_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    sent = [message(f"m{n}", T0 - timedelta(seconds=n)) for n in range(5)]
    script = Script(clock, [page(sent[0]), page(sent[0]), page(*sent)])
    with caplog.at_level(logging.WARNING, logger="sms_status"):
        script.run(history(clock, page_size=1))
    assert [r.message_id for r in script.emitted] == [f"m{n}" for n in range(5)]
    assert "share" not in caplog.text


def test_a_second_holding_more_than_100_steps_the_cursor_strictly_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    crowded = [message(f"s{n}", T0 + timedelta(seconds=5)) for n in range(100)]
    older = message("c", T0)
    script = Script(clock, [page(*crowded), page(*crowded), page(older)])
    with caplog.at_level(logging.WARNING, logger="sms_status"):
        script.run(history(clock, page_size=100))
    assert [r.message_id for r in script.emitted] == [f"s{n}" for n in range(100)] + ["c"]
    assert cursors(script)[1:] == [
        (T0 + timedelta(seconds=6)).isoformat(),
        (T0 + timedelta(seconds=5)).isoformat(),
    ]
    assert "more than 100 messages share" in caplog.text


def test_a_server_serving_new_messages_at_one_second_for_ever_is_left_behind() -> None:
    # Each page a full one of new ids at the same second: the walk asked for that second
    # for ever, keeping every id it saw.
    clock = Clock()
    second = T0 + timedelta(seconds=5)
    pages = [page(*(message(f"p{k}-{n}", second) for n in range(100))) for k in range(5)]
    script = Script(clock, [*pages, page(message("c", T0))])
    script.run(history(clock, page_size=100))
    after = (second + timedelta(seconds=1)).isoformat()
    assert cursors(script) == [None, after, after, after, after, second.isoformat()]
    assert len(script.emitted) == 501


@pytest.mark.parametrize("sent", ["9999-12-31T23:59:59Z", "0001-01-01T00:30:00+01:00"])
def test_a_send_time_at_the_calendars_edge_is_malformed(sent: str) -> None:
    # An OverflowError escaped from the cursor's arithmetic (a second added; UTC taken).
    clock = Clock()
    item = message("a", T0)
    item["providerAcceptanceAt"] = sent
    script = Script(clock, [page(item), page(item)])
    with pytest.raises(MalformedResponseError, match="out of range"):
        script.run(history(clock, page_size=1))


def test_limit_stops_mid_page_without_another_request() -> None:
    clock = Clock()
    first = [message(str(n), T0 - timedelta(seconds=n)) for n in range(3)]
    script = Script(clock, [page(*first), page(message("9", T0 - timedelta(days=1)))])
    script.run(history(clock, page_size=3, limit=2))
    assert [r.message_id for r in script.emitted] == ["0", "1"]
    assert len(script.sent) == 1
    assert script.unused == 1


def test_a_short_page_is_the_last() -> None:
    clock = Clock()
    script = Script(clock, [page(message("only", T0))])
    script.run(history(clock, page_size=5))
    assert [r.message_id for r in script.emitted] == ["only"]
    assert len(script.sent) == 1


def test_a_server_that_ignores_the_cursor_is_malformed_not_an_endless_walk() -> None:
    clock = Clock()
    newest = [
        message("a", T0 + timedelta(seconds=9, microseconds=500_000)),
        message("b", T0 + timedelta(seconds=8)),
    ]
    # The second page asks for messages sent before T0+9s and still holds "a" (T0+9.5s).
    script = Script(clock, [page(*newest), page(*newest)])
    with pytest.raises(MalformedResponseError, match="sendDate was not honoured"):
        script.run(history(clock, page_size=2))
    assert [r.message_id for r in script.emitted] == ["a", "b"]


def test_a_server_that_ignores_the_callers_before_is_malformed_too() -> None:
    # Checked only for the walk's own cursors: a first page of messages sent after the
    # caller's `before` was yielded as if sent before it.
    clock = Clock()
    before = T0 + timedelta(seconds=5)
    script = Script(clock, [page(message("late", T0 + timedelta(seconds=9)))])
    flow = _flows.iter_history(
        context(namirial.PROVIDER, clock), "phone", PHONE, page_size=3, before=before, limit=None
    )
    with pytest.raises(MalformedResponseError, match="sendDate was not honoured"):
        script.run(flow)
    assert script.emitted == []
