"""`wait_for_final` and seven's batch lookups driven directly with scripted replies: polling
follows the provider's cadence and stops at a final status or the deadline; a batch answered
"unknown id" is split until the unknown ids are isolated."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flows_support import Clock, Script, context, empty_reply, json_reply
from sms_status import _flows
from sms_status.errors import (
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    ServerError,
)
from sms_status.providers import seven, telecom23
from sms_status.report import DeliveryState, StatusReport
from sms_status.testing import telecom23 as telecom23_fake

MESSAGE_ID = telecom23_fake.PROVIDER.examples[0].id
CADENCE = telecom23.PROVIDER.cadence.intervals  # (3.0, 4.0, 5.0): then 5.0 for ever


def telecom23_with_status(status: str) -> Any:
    body = copy.deepcopy(telecom23_fake.PROVIDER.examples[0].body)
    body["message"]["status"] = status
    return body


def wait(clock: Clock, timeout: float, updates: list[StatusReport]) -> _flows.Flow[StatusReport]:
    ctx = context(telecom23.PROVIDER, clock)
    return _flows.wait_for_final(ctx, MESSAGE_ID, timeout=timeout, on_update=updates.append)


def test_polling_follows_the_cadence_and_stops_at_a_final_status() -> None:
    clock = Clock()
    updates: list[StatusReport] = []
    statuses = ["pending", "pending", "sent", "ENROUTE", "DELIVRD"]
    script = Script(clock, [json_reply(telecom23_with_status(s)) for s in statuses])
    report = script.run(wait(clock, 60.0, updates))
    assert report.is_final
    assert report.state is DeliveryState.DELIVERED
    assert script.sleeps == [3.0, 4.0, 5.0, 5.0]
    assert [u.provider_status for u in updates] == ["pending", "sent", "ENROUTE", "DELIVRD"]


def test_at_the_deadline_the_last_report_is_returned_and_nothing_sleeps_past_it() -> None:
    clock = Clock()
    script = Script(clock, [json_reply(telecom23_with_status("ENROUTE"))] * 4)
    report = script.run(wait(clock, 10.0, []))
    assert not report.is_final
    assert report.provider_status == "ENROUTE"
    # A third wait (5 s) would end at 12 s > 10 s; a last look 1 s before 10 s would come
    # 2 s after the one at 7 s, sooner than telecom23's shortest interval (3 s): none.
    assert script.sleeps == [3.0, 4.0]
    assert clock.now <= 10.0
    assert all(send.deadline == 10.0 for send in script.sent)


def test_a_look_due_exactly_at_the_deadline_comes_a_second_before_it() -> None:
    # At 3 s the next look (4 s on) fell on the 7 s deadline: it slept 4 s and returned
    # the 3 s report, the look at the deadline cut to nothing.
    clock = Clock()
    script = Script(clock, [json_reply(telecom23_with_status("ENROUTE"))] * 3)
    report = script.run(wait(clock, 7.0, []))
    assert script.sleeps == [3.0, 3.0]
    assert len(script.sent) == 3
    assert report.provider_status == "ENROUTE"


def test_no_look_is_made_with_no_time_left_to_answer_it() -> None:
    # A look due 5 ms before the deadline was sent: the driver found no room for it, and
    # its "no time left" replaced the server's last answer (a flaky test under load).
    clock = Clock()
    script = Script(clock, [json_reply(telecom23_with_status("ENROUTE"))] * 2)
    report = script.run(wait(clock, 3.005, []))
    assert script.sleeps == []
    assert len(script.sent) == 1
    assert report.provider_status == "ENROUTE"


def test_a_look_inside_the_deadlines_last_second_still_comes_on_the_cadence() -> None:
    # Moving a look due at 3 s of a 3.5 s wait a second earlier, less than the shortest
    # interval after the first look, ended the wait at once with the pending report.
    clock = Clock()
    statuses = ["ENROUTE", "DELIVRD"]
    script = Script(clock, [json_reply(telecom23_with_status(s)) for s in statuses])
    report = script.run(wait(clock, 3.5, []))
    assert script.sleeps == [3.0]
    assert report.provider_status == "DELIVRD"


def test_transient_failures_keep_polling_and_a_long_retry_after_stretches_the_wait() -> None:
    clock = Clock()
    ctx = context(telecom23.PROVIDER, clock, max_retries=0)
    limited = empty_reply(429, {"Retry-After": "20"})
    script = Script(
        clock, [empty_reply(503), limited, json_reply(telecom23_with_status("DELIVRD"))]
    )
    report = script.run(_flows.wait_for_final(ctx, MESSAGE_ID, timeout=60.0, on_update=None))
    assert report.is_final
    assert script.sleeps == [3.0, 20.0]


def test_a_503_in_maintenance_stretches_the_wait_to_its_retry_after() -> None:
    # Only a 429's Retry-After was honoured between looks: a 503's was polled through.
    clock = Clock()
    ctx = context(telecom23.PROVIDER, clock, max_retries=0)
    maintenance = empty_reply(503, {"Retry-After": "30"})
    script = Script(clock, [maintenance, json_reply(telecom23_with_status("DELIVRD"))])
    report = script.run(_flows.wait_for_final(ctx, MESSAGE_ID, timeout=60.0, on_update=None))
    assert report.is_final
    assert script.sleeps == [30.0]


def test_a_deadline_with_only_failures_raises_the_last_failure() -> None:
    clock = Clock()
    ctx = context(telecom23.PROVIDER, clock, max_retries=0)
    script = Script(clock, [empty_reply(503)] * 3)
    with pytest.raises(ServerError):
        script.run(_flows.wait_for_final(ctx, MESSAGE_ID, timeout=5.0, on_update=None))
    assert script.sleeps == [3.0]  # a last look at 4 s would be 1 s after the one at 3 s


def test_a_404_once_the_message_was_reported_is_looked_through_not_the_end() -> None:
    # The provider knew the id a look before: one 404 (a replica behind) ended the wait with
    # NotFoundError and lost the report seen, where a 5xx is looked through.
    clock = Clock()
    ctx = context(telecom23.PROVIDER, clock, max_retries=0)
    replies = [json_reply(telecom23_with_status("sent")), empty_reply(404)]
    script = Script(clock, [*replies, json_reply(telecom23_with_status("DELIVRD"))])
    report = script.run(_flows.wait_for_final(ctx, MESSAGE_ID, timeout=60.0, on_update=None))
    assert report.state is DeliveryState.DELIVERED
    script = Script(Clock(), [*replies, empty_reply(404), empty_reply(404)])
    report = script.run(wait(script.clock, 10.0, []))  # 404s to the deadline: the last seen
    assert report.provider_status == "sent"


def test_a_404_before_any_report_ends_the_wait() -> None:
    clock = Clock()
    ctx = context(telecom23.PROVIDER, clock, max_retries=0)
    script = Script(clock, [empty_reply(404)])
    with pytest.raises(NotFoundError):
        script.run(_flows.wait_for_final(ctx, MESSAGE_ID, timeout=60.0, on_update=None))


# -- seven: many ids per request ---------------------------------------------------------------

UNKNOWN_ID = 901  # seven's bare numeric error body: "invalid message id"


def seven_items(*ids: str) -> list[dict[str, str]]:
    return [{"id": i, "status": "DELIVERED", "status_time": "2024-02-16 15:43:16.905"} for i in ids]


def seven_batch(clock: Clock, ids: list[str]) -> _flows.Flow[list[StatusReport]]:
    ctx = context(seven.PROVIDER, clock)
    ctx.lookup.chosen = True  # as connect(lookup="status"): no DeprecationWarning here
    return _flows.batch_statuses(ctx, ids)


def asked(script: Script) -> list[str]:
    return [str(send.request["params"]["msg_id"]) for send in script.sent]


def test_an_unknown_id_is_isolated_by_halving_and_costs_the_others_nothing() -> None:
    clock = Clock()
    script = Script(
        clock,
        [
            json_reply(UNKNOWN_ID),  # 1,2,3,4
            json_reply(seven_items("1", "2")),  # 1,2
            json_reply(UNKNOWN_ID),  # 3,4
            json_reply(seven_items("3")),  # 3
            json_reply(UNKNOWN_ID),  # 4
        ],
    )
    reports = script.run(seven_batch(clock, ["1", "2", "3", "4"]))
    assert asked(script) == ["1,2,3,4", "1,2", "3,4", "3", "4"]
    assert [r.message_id for r in reports] == ["1", "2", "3", "4"]
    assert [r.state for r in reports[:3]] == [DeliveryState.DELIVERED] * 3
    assert isinstance(reports[3].error, NotFoundError)
    assert script.sleeps == []


def test_a_batch_of_ids_none_known_costs_112_requests_not_199() -> None:
    # Halved down to single ids, 100 unknown ids (older than seven's 30 days, say) took
    # 2n - 1 requests; once both halves of a split are unknown, the rest go one by one.
    clock = Clock()
    ids = [str(n) for n in range(100)]
    script = Script(clock, [json_reply(UNKNOWN_ID)] * 112)
    reports = script.run(seven_batch(clock, ids))
    assert all(isinstance(r.error, NotFoundError) for r in reports)
    assert len(script.sent) == 112
    assert script.unused == 0


def test_once_a_reply_left_unknown_ids_out_an_unknown_batch_is_not_split() -> None:
    clock = Clock()
    ctx = context(seven.PROVIDER, clock)
    ctx.lookup.chosen = True
    first = Script(clock, [json_reply(seven_items("1"))])  # "2" left out: unknown
    first.run(_flows.batch_statuses(ctx, ["1", "2"]))
    second = Script(clock, [json_reply(UNKNOWN_ID)])
    reports = second.run(_flows.batch_statuses(ctx, ["3", "4", "5"]))
    assert asked(second) == ["3,4,5"]
    assert all(isinstance(r.error, NotFoundError) for r in reports)


def test_an_id_missing_from_the_answer_is_not_found_without_another_request() -> None:
    clock = Clock()
    script = Script(clock, [json_reply(seven_items("1"))])
    reports = script.run(seven_batch(clock, ["1", "2", "1"]))
    assert asked(script) == ["1,2"]  # duplicates looked up once, results in input order
    assert [r.message_id for r in reports] == ["1", "2", "1"]
    assert reports[0].error is None
    assert isinstance(reports[1].error, NotFoundError)


def test_a_malformed_item_costs_only_its_own_id_its_report() -> None:
    # One item that does not fit (a null status) turned all 100 ids of its batch into
    # MalformedResponseError; the others were read fine.
    clock = Clock()
    items = seven_items("1", "2", "3")
    items[1]["status"] = None
    script = Script(clock, [json_reply(items)])
    reports = script.run(seven_batch(clock, ["1", "2", "3"]))
    assert [r.state for r in (reports[0], reports[2])] == [DeliveryState.DELIVERED] * 2
    assert reports[0].error is None
    assert reports[2].error is None
    assert isinstance(reports[1].error, MalformedResponseError)
    assert reports[1].message_id == "2"


def test_an_item_naming_no_id_is_the_error_of_the_ids_left_unreported() -> None:
    clock = Clock()
    items = seven_items("1", "2")
    del items[1]["id"]  # whose item it was cannot be told: "2" was not simply unknown
    script = Script(clock, [json_reply(items)])
    reports = script.run(seven_batch(clock, ["1", "2"]))
    assert reports[0].error is None
    assert isinstance(reports[1].error, MalformedResponseError)


def test_a_bad_key_stops_the_whole_batch() -> None:
    clock = Clock()
    script = Script(clock, [json_reply(900)])
    with pytest.raises(AuthenticationError):
        script.run(seven_batch(clock, ["1", "2"]))


def test_a_failed_batch_marks_only_its_own_ids() -> None:
    clock = Clock()
    ids = [str(n) for n in range(seven.MAX_IDS_PER_REQUEST + 1)]
    script = Script(clock, [empty_reply(400), json_reply(seven_items(ids[-1]))])
    reports = script.run(seven_batch(clock, ids))
    assert [len(a.split(",")) for a in asked(script)] == [seven.MAX_IDS_PER_REQUEST, 1]
    assert all(r.error is not None for r in reports[:-1])
    assert reports[-1].error is None


def test_batches_respect_both_the_id_count_and_the_encoded_length() -> None:
    by_count = list(_flows.batches(["a", "b", "c"], max_ids=2, max_joined_length=100))
    assert by_count == [["a", "b"], ["c"]]
    # "é" is 6 bytes percent-encoded and "," 3: "é,é" is 15 bytes, over a 14-byte limit,
    # while "é,x" (10 bytes) fits.
    by_length = list(_flows.batches(["é", "é", "é", "x"], max_ids=10, max_joined_length=14))
    assert by_length == [["é"], ["é"], ["é", "x"]]
