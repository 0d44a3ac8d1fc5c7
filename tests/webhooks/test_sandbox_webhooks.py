"""The sandbox pushes webhooks on its own clock, shaped, signed and retried as documented.

Deliveries are checked twice: by verifiers written from the providers' own descriptions
(`webhook_support`: seven as its js-client's WebhookVerifier, 23 Telecom as its docs'
receiver), independent of `sms_status.webhooks`, and by `webhooks.parse`, whose reports must
agree with what polling the same sandbox says.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sms_status
from sms_status import DeliveryState, webhooks
from sms_status._registry import with_webhooks
from sms_status.testing import FakeClock, Sandbox
from webhook_support import Recorder, serve, seven_verify, telecom23_verify

SECRET = "whsec_sandbox_0123"


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    receiver = Recorder()
    with serve(receiver) as origin:
        yield receiver, origin + "/hooks/in"


def _poll(sandbox: Sandbox, message_id: str) -> sms_status.StatusReport:
    with sms_status.connect(sandbox.key, api_key=sandbox.api_key, base_url=sandbox.base_url) as c:
        return c.get_status(message_id)


def test_telecom23_pushes_the_final_report_signed_as_its_docs_describe(
    telecom23_sandbox: Sandbox, sandbox_clock: FakeClock, recorder: tuple[Recorder, str]
) -> None:
    receiver, url = recorder
    telecom23_sandbox.add_webhook(url, secret=SECRET)
    telecom23_sandbox.add_message("m1", statuses=("pending", "sent", "DELIVRD"), advance=5)
    sandbox_clock.advance(11)  # nobody polls: the clock alone moves the message on
    [delivery] = telecom23_sandbox.wait_for_webhooks(1)
    assert (delivery.status, delivery.attempt, delivery.http_status) == ("DELIVRD", 1, 200)
    [(method, _, headers, body)] = receiver.received
    assert method == "POST"
    assert headers["user-agent"] == "23Telecom-Webhooks/1.0"
    assert telecom23_verify(SECRET, body, headers, now=sandbox_clock.now())
    assert not telecom23_verify("whsec_other", body, headers, now=sandbox_clock.now())
    event = webhooks.parse(
        "telecom23", body=body, headers=headers, secret=SECRET, now=sandbox_clock.now()
    )
    polled = _poll(telecom23_sandbox, "m1")
    assert event.report.state == polled.state == DeliveryState.DELIVERED
    assert event.report.is_final
    assert polled.is_final
    assert event.report.updated_at == polled.delivered_at


def test_seven_pushes_every_change_verifiable_as_its_js_client_does(
    seven_sandbox: Sandbox, sandbox_clock: FakeClock, recorder: tuple[Recorder, str]
) -> None:
    receiver, url = recorder
    seven_sandbox.add_webhook(url, secret=SECRET)
    seven_sandbox.add_message("77000001", advance=5)  # ACCEPTED, TRANSMITTED, DELIVERED
    sandbox_clock.advance(10)
    deliveries = seven_sandbox.wait_for_webhooks(3)
    assert [d.status for d in deliveries] == ["ACCEPTED", "TRANSMITTED", "DELIVERED"]
    reports = []
    for method, called, headers, body in receiver.received:
        assert seven_verify(
            SECRET, body, headers, url=called, method=method, now=sandbox_clock.now()
        )
        assert not seven_verify(
            SECRET, body, headers, url=called + "x", method=method, now=sandbox_clock.now()
        )
        reports.append(
            webhooks.parse(
                "seven",
                body=body,
                headers=headers,
                secret=SECRET,
                url=called,
                now=sandbox_clock.now(),
            ).report
        )
    assert [r.state for r in reports] == [
        DeliveryState.PENDING,
        DeliveryState.SENT,
        DeliveryState.DELIVERED,
    ]
    polled = _poll(seven_sandbox, "77000001")
    assert reports[-1].updated_at == polled.updated_at
    assert reports[-1].state == polled.state


def test_lisoloo_sends_basic_auth_and_one_event_per_recipient(
    lisoloo_sandbox: Sandbox, sandbox_clock: FakeClock, recorder: tuple[Recorder, str]
) -> None:
    receiver, url = recorder
    lisoloo_sandbox.add_webhook(url, secret="hooks:pw")
    lisoloo_sandbox.add_message(
        "507f000000000000000000aa",
        statuses=("pending", "delivered"),
        advance=0,
        recipients=["+254700000001", "+254700000002"],
    )
    deliveries = lisoloo_sandbox.wait_for_webhooks(3)
    assert [d.kind for d in deliveries] == ["sms.queued", "sms.delivered", "sms.delivered"]
    events = [
        webhooks.parse("lisoloo", body=body, headers=headers, secret="hooks:pw")
        for _, _, headers, body in receiver.received
    ]
    assert len({e.event_id for e in events}) == 3
    assert [e.report.recipient for e in events] == [None, "+254700000001", "+254700000002"]
    assert all(d.headers["Authorization"] == "***" for d in deliveries)  # masked in the log
    _, _, headers, body = receiver.received[0]
    with pytest.raises(sms_status.errors.WebhookSignatureError):
        webhooks.parse("lisoloo", body=body, headers=headers, secret="hooks:other")


@pytest.mark.parametrize("key", with_webhooks("unsigned"))
def test_unsigned_providers_push_reports_that_agree_with_polling(
    key: str,
    request: pytest.FixtureRequest,
    sandbox_clock: FakeClock,
    recorder: tuple[Recorder, str],
) -> None:
    sandbox: Sandbox = request.getfixturevalue(f"{key}_sandbox")
    receiver, url = recorder
    with pytest.raises(ValueError, match="secret must be None"):
        sandbox.add_webhook(url, secret="nope")
    sandbox.add_webhook(url)
    sandbox.add_message("0b9d6e00-0000-4000-8000-000000000001", advance=5)
    sandbox_clock.advance(10)
    expected = 2 if key == "namirial" else 3  # namirial: none for PROVIDER_ACCEPTANCE
    sandbox.wait_for_webhooks(expected)
    reports = [
        webhooks.parse(key, body=body, headers=headers, secret=None).report
        for _, _, headers, body in receiver.received
    ]
    assert len(reports) == expected
    polled = _poll(sandbox, "0b9d6e00-0000-4000-8000-000000000001")
    assert (reports[-1].state, reports[-1].is_final) == (polled.state, polled.is_final)
    assert reports[-1].state == DeliveryState.DELIVERED


def test_telecom23_retries_three_times_on_the_sandbox_clock(
    telecom23_sandbox: Sandbox, sandbox_clock: FakeClock
) -> None:
    receiver = Recorder(answers=(500,))
    with serve(receiver) as origin:
        telecom23_sandbox.add_webhook(origin + "/hook", secret=SECRET)
        telecom23_sandbox.add_message("m-retry", statuses=("UNDELIV",), advance=0)
        telecom23_sandbox.wait_for_webhooks(1)
        sandbox_clock.advance(9)  # not yet due: 10 s
        sandbox_clock.advance(1)
        telecom23_sandbox.wait_for_webhooks(2)
        sandbox_clock.advance(30)
        attempts = telecom23_sandbox.wait_for_webhooks(3)
    assert [(a.attempt, a.http_status) for a in attempts] == [(1, 500), (2, 500), (3, 500)]
    assert [a.at - attempts[0].at for a in attempts] == [0, 10, 40]
    # Each attempt is signed afresh (a new timestamp), over the same body.
    stamps = [headers["x-webhook-timestamp"] for _, _, headers, _ in receiver.received]
    assert len(set(stamps)) == 3
    assert len({body for _, _, _, body in receiver.received}) == 1


def test_lisoloo_retries_5xx_four_times_and_drops_a_4xx(
    lisoloo_sandbox: Sandbox, sandbox_clock: FakeClock
) -> None:
    failing, refusing = Recorder(answers=(503,)), Recorder(answers=(404,))
    with serve(failing) as failing_origin, serve(refusing) as refusing_origin:
        lisoloo_sandbox.add_webhook(failing_origin + "/", secret="u:p")
        lisoloo_sandbox.add_webhook(refusing_origin + "/", secret="u:p")
        lisoloo_sandbox.add_message("m-l", statuses=("pending",), advance=0)
        for attempt, wait in enumerate((0, 30, 120, 600), start=1):
            sandbox_clock.advance(wait)
            lisoloo_sandbox.wait_for_webhooks(
                attempt, where=lambda d: d.url.startswith(failing_origin)
            )
    failed = [d for d in lisoloo_sandbox.webhook_deliveries if d.url.startswith(failing_origin)]
    refused = [d for d in lisoloo_sandbox.webhook_deliveries if d.url.startswith(refusing_origin)]
    assert [d.attempt for d in failed] == [1, 2, 3, 4]
    assert [(d.attempt, d.http_status) for d in refused] == [(1, 404)]


def test_reset_removes_the_subscriptions(telecom23_sandbox: Sandbox) -> None:
    telecom23_sandbox.add_webhook("http://127.0.0.1:9/never")
    telecom23_sandbox.reset()
    assert telecom23_sandbox.webhook_deliveries == []
    with pytest.raises(RuntimeError, match="add_webhook"):
        telecom23_sandbox.wait_for_webhooks(1, timeout=0.01)


def test_stop_ends_the_webhook_sender_at_once_even_on_a_receiver_that_never_answers() -> None:
    # Each send waited up to 5 s and stop() joined for 10, then left the thread running:
    # it went on POSTing to the receiver after the sandbox had stopped.
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    first = threading.Event()

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(connection)  # and never answered
            first.set()

    threading.Thread(target=accept, daemon=True).start()
    sandbox = Sandbox("telecom23", clock=FakeClock()).start()
    sandbox.add_webhook(f"http://127.0.0.1:{listener.getsockname()[1]}/hook", secret=SECRET)
    for n in range(3):
        sandbox.add_message(f"m-{n}", statuses=("DELIVRD",), advance=0)
    assert first.wait(30)
    senders = [t for t in threading.enumerate() if t.name == "sms-sandbox-webhooks-telecom23"]
    sandbox.stop()
    listener.close()
    for connection in accepted:  # the receiver goes away: the send under way ends
        connection.close()
    for sender in senders:
        sender.join(30)
    assert not any(t.is_alive() for t in senders)
    assert len(accepted) == 1  # the one under way; the other two never went


def test_a_webhook_url_that_cannot_be_sent_to_is_refused_when_added(
    telecom23_sandbox: Sandbox,
) -> None:
    # It was taken, and its first send killed the sender thread for every subscription.
    with pytest.raises(ValueError, match="cannot be sent to"):
        telecom23_sandbox.add_webhook("http://[::1/x")


def test_a_message_replaced_by_add_message_pushes_its_new_lifecycle(
    telecom23_sandbox: Sandbox, recorder: tuple[Recorder, str]
) -> None:
    _, origin = recorder
    telecom23_sandbox.add_webhook(origin + "/hook", secret=SECRET)
    telecom23_sandbox.add_message("m-again", statuses=("UNDELIV",), advance=0)
    telecom23_sandbox.wait_for_webhooks(1)
    telecom23_sandbox.add_message("m-again", statuses=("DELIVRD",), advance=0)
    deliveries = telecom23_sandbox.wait_for_webhooks(2)
    assert [d.status for d in deliveries] == ["UNDELIV", "DELIVRD"]


def test_the_sender_pushes_each_step_once_as_messages_move_whenever_subscribed(
    seven_sandbox: Sandbox, sandbox_clock: FakeClock, recorder: tuple[Recorder, str]
) -> None:
    # The sender looks only at messages that may have moved (added, polled, a timed step
    # due): every step still goes out once per subscription, in order, however it moved.
    _, origin = recorder
    first, second = origin + "/first", origin + "/second"
    seven_sandbox.add_webhook(first, secret=SECRET)
    seven_sandbox.add_message("77000001", advance=5)  # ACCEPTED, TRANSMITTED, DELIVERED
    seven_sandbox.add_message("77000002", advance=7)
    seven_sandbox.add_message("77000003")  # one step per poll
    seven_sandbox.add_message("77000004", advance=5)  # removed after its first step
    seven_sandbox.wait_for_webhooks(4)  # every message's first step, to `first`
    seven_sandbox.remove_message("77000004")
    sandbox_clock.advance(5)
    _poll(seven_sandbox, "77000003")  # step 0 (pushed already), counts a poll
    _poll(seven_sandbox, "77000003")  # step 1
    seven_sandbox.wait_for_webhooks(6)  # 01 and 03 at their second step
    seven_sandbox.add_webhook(second, secret=SECRET)  # after some steps went out
    sandbox_clock.advance(9)  # 01 DELIVERED at 10, 02 TRANSMITTED at 7 and DELIVERED at 14
    _poll(seven_sandbox, "77000003")  # step 2, the last
    seven_sandbox.add_message("77000005", statuses=("DELIVERED",), advance=0)  # a later look

    def sent(url: str, message_id: str) -> list[str]:
        return [
            d.status
            for d in seven_sandbox.webhook_deliveries
            if d.url == url and d.message_id == message_id
        ]

    every_step = ["ACCEPTED", "TRANSMITTED", "DELIVERED"]
    seven_sandbox.wait_for_webhooks(2, where=lambda d: d.message_id == "77000005")
    for url in (first, second):
        for message_id in ("77000001", "77000002", "77000003"):
            assert sent(url, message_id) == every_step, (url, message_id)
    assert sent(first, "77000004") == ["ACCEPTED"]
    assert sent(second, "77000004") == []  # gone before `second` was added
    assert all(d.ok and d.attempt == 1 for d in seven_sandbox.webhook_deliveries)


def test_a_where_predicate_that_reads_the_sandbox_never_deadlocks_the_sender(
    roycetalk_sandbox: Sandbox, recorder: tuple[Recorder, str]
) -> None:
    # The sender took its condition while holding the store's lock; wait_for_webhooks ran
    # `where` holding that condition: a `where` reading a MessageHandle (the store's lock)
    # during the sender's look blocked both for good. The interleaving is forced by events.
    import threading

    _, origin = recorder
    handle = roycetalk_sandbox.add_message("m1", statuses=("queued", "sent"), advance=100)
    roycetalk_sandbox.add_webhook(origin + "/hook")
    roycetalk_sandbox.wait_for_webhooks(1)  # step 0 is out: the sender is looking
    store = roycetalk_sandbox._store  # the sender's look is what must be caught
    look = store.steps_moved
    armed, in_look, go_on = threading.Event(), threading.Event(), threading.Event()

    def held_look() -> object:  # the sender's thread, holding the store's lock
        if armed.is_set() and not in_look.is_set():
            in_look.set()
            go_on.wait(10)
        return look()

    def where(delivery: object) -> bool:
        if not armed.is_set():
            armed.set()
            in_look.wait(10)
            go_on.set()
        return handle.status == "queued"  # takes the store's lock

    store.steps_moved = held_look  # type: ignore[method-assign]
    got: list[object] = []
    waiter = threading.Thread(
        target=lambda: got.extend(roycetalk_sandbox.wait_for_webhooks(1, where=where)),
        daemon=True,
    )
    waiter.start()
    waiter.join(20)
    assert not waiter.is_alive(), "wait_for_webhooks and the sender deadlocked"
    assert in_look.is_set()
    assert len(got) == 1


def test_waiting_for_no_delivery_returns_at_once(
    telecom23_sandbox: Sandbox, recorder: tuple[Recorder, str]
) -> None:
    # It waited out its timeout, then raised "0 of 0 webhook deliveries".
    _, origin = recorder
    telecom23_sandbox.add_webhook(origin + "/hook", secret=SECRET)
    assert telecom23_sandbox.wait_for_webhooks(0, timeout=0.5) == []
