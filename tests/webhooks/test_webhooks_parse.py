"""webhooks.parse: the docs' payloads read into the polling vocabulary; every tampering refused."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sms_status import DeliveryState, webhooks
from sms_status._registry import load_provider
from sms_status.errors import (
    InvalidWebhookError,
    MalformedWebhookError,
    SmsStatusError,
    WebhookReplayError,
    WebhookSignatureError,
)
from webhook_support import (
    LISOLOO_CREDENTIALS,
    NOW,
    SECRET,
    SEVEN_URL,
    basic,
    dump,
    seven_headers,
    spec_example,
    telecom23_headers,
)
from webhook_support import parse_signed as _parse
from webhook_support import signed_seven as _seven
from webhook_support import signed_telecom23 as _telecom23

# -- the docs' example payloads ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "status", "expected"),
    [
        ("telecom23", "UNDELIV", (DeliveryState.UNDELIVERED, True)),
        ("telecom23", "NEWSTAT", (DeliveryState.UNRECOGNIZED, False)),
        ("seven", "BUFFERED", (DeliveryState.SENT, False)),
        ("seven", "SOMETHING_NEW", (DeliveryState.UNRECOGNIZED, False)),
    ],
)
def test_statuses_map_through_the_polling_table(
    provider: str, status: str, expected: tuple[DeliveryState, bool]
) -> None:
    if provider == "telecom23":
        payload = spec_example("telecom23", "deliveryReport", "delivered")
        payload["status"] = status
        body = dump(payload)
        headers = telecom23_headers(SECRET, body, NOW)
    else:
        payload = spec_example("seven", "dlr", "dlr")
        payload["data"]["status"] = status
        body = dump(payload)
        headers = seven_headers(SECRET, body, NOW, SEVEN_URL)
    report = webhooks.parse(
        provider, body=body, headers=headers, secret=SECRET, url=SEVEN_URL, now=NOW
    ).report
    assert (report.state, report.is_final) == expected
    assert report.provider_status == status


# -- tampering --------------------------------------------------------------------------------


def test_a_signed_payload_naming_no_message_is_malformed() -> None:
    # Found by the fuzz test below: an authentic delivery with message_id "" was a report
    # that no polled report or stored message could ever be matched to.
    payload = spec_example("telecom23", "deliveryReport", "delivered")
    payload["message_id"] = ""
    body = dump(payload)
    with pytest.raises(MalformedWebhookError, match="names no message"):
        _parse("telecom23", body, telecom23_headers(SECRET, body, NOW))


def _same_event(one: webhooks.WebhookEvent, other: webhooks.WebhookEvent) -> bool:
    return (one.provider, one.kind, one.event_id, one.report.to_dict()) == (
        other.provider,
        other.kind,
        other.event_id,
        other.report.to_dict(),
    )


@pytest.mark.parametrize("provider", ["telecom23", "seven"])
def test_header_names_are_case_insensitive(provider: str) -> None:
    body, headers = _telecom23() if provider == "telecom23" else _seven()
    as_sent = _parse(provider, body, headers)
    for transform in (str.lower, str.upper, str.title):
        renamed = {transform(k): v for k, v in headers.items()}
        assert set(renamed) != set(headers) or transform is str.title
        assert _same_event(_parse(provider, body, renamed), as_sent)
    # and the names are the documented ones: without them, nothing verifies
    with pytest.raises(WebhookSignatureError):
        _parse(provider, body, {f"X-Not-{k}": v for k, v in headers.items()})


@pytest.mark.parametrize("provider", ["telecom23", "seven"])
def test_spaces_around_header_values_are_not_part_of_them(provider: str) -> None:
    # A framework that passes them on (httptools does) had telecom23's timestamp and
    # seven's nonce signed with them: a genuine delivery refused as a forgery.
    body, headers = _telecom23() if provider == "telecom23" else _seven()
    padded = {name: f" \t{value}\t " for name, value in headers.items()}
    assert _same_event(_parse(provider, body, padded), _parse(provider, body, headers))


@pytest.mark.parametrize("provider", ["telecom23", "seven"])
def test_a_changed_body_is_refused(provider: str) -> None:
    body, headers = _telecom23() if provider == "telecom23" else _seven()
    tampered = body.replace(b"DELIVRD", b"UNDELIV").replace(b"DELIVERED", b"REJECTED")
    assert tampered != body
    with pytest.raises(WebhookSignatureError, match="does not match"):
        _parse(provider, tampered, headers)
    # Re-serialised JSON (same data, other bytes) is not the signed body either.
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    with pytest.raises(WebhookSignatureError):
        _parse(provider, reserialised, headers)


@pytest.mark.parametrize("provider", ["telecom23", "seven"])
def test_another_secret_is_refused_and_never_shown(provider: str) -> None:
    body, headers = _telecom23() if provider == "telecom23" else _seven()
    with pytest.raises(WebhookSignatureError) as caught:
        _parse(provider, body, headers, secret="whsec_other_7a7a7a")
    shown = str(caught.value) + repr(caught.value) + repr(caught.value.args)
    assert "whsec" not in shown
    assert headers[next(k for k in headers if k.lower().endswith("signature"))] not in shown


@pytest.mark.parametrize(
    ("provider", "header"),
    [
        ("telecom23", "X-Webhook-Signature"),
        ("telecom23", "X-Webhook-Timestamp"),
        ("seven", "X-Signature"),
        ("seven", "X-Timestamp"),
        ("seven", "X-Nonce"),
    ],
)
def test_a_missing_header_is_refused(provider: str, header: str) -> None:
    body, headers = _telecom23() if provider == "telecom23" else _seven()
    del headers[header]
    with pytest.raises(WebhookSignatureError):
        _parse(provider, body, headers)


@pytest.mark.parametrize("provider", ["telecom23", "seven"])
@pytest.mark.parametrize("offset", [-301, 301, -10_000, 10_000])
def test_stale_or_future_timestamps_are_refused(provider: str, offset: int) -> None:
    body, headers = _telecom23() if provider == "telecom23" else _seven()
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        _parse(provider, body, headers, now=NOW + offset)


@pytest.mark.parametrize("provider", ["telecom23", "seven"])
def test_timestamps_inside_the_tolerance_are_accepted_both_ways(provider: str) -> None:
    body, headers = _telecom23() if provider == "telecom23" else _seven()
    for offset in (-300, 300, -59, 59):
        _parse(provider, body, headers, now=NOW + offset)
    with pytest.raises(WebhookSignatureError):
        _parse(provider, body, headers, now=NOW + 61, tolerance=60)


@pytest.mark.parametrize("provider", ["telecom23", "seven", "lisoloo", "namirial"])
def test_the_same_delivery_twice_is_a_replay(provider: str) -> None:
    guard = webhooks.MemoryReplayGuard()
    if provider == "telecom23":
        body, headers = _telecom23()
    elif provider == "seven":
        body, headers = _seven()
    elif provider == "lisoloo":
        body, headers = (
            dump(spec_example("lisoloo", "smsEvent", "delivered")),
            basic(LISOLOO_CREDENTIALS),
        )
    else:
        body, headers = dump(spec_example("namirial", "statusUpdate", "statusUpdate")), {}
    secret = {"lisoloo": LISOLOO_CREDENTIALS, "namirial": None}.get(provider, SECRET)
    first = _parse(provider, body, headers, secret=secret, replay_guard=guard)
    with pytest.raises(WebhookReplayError):
        _parse(provider, body, headers, secret=secret, replay_guard=guard)
    assert isinstance(first, webhooks.WebhookEvent)


def test_a_provider_retry_is_not_a_replay_and_keeps_its_event_id() -> None:
    guard = webhooks.MemoryReplayGuard()
    body = dump(spec_example("telecom23", "deliveryReport", "delivered"))
    first = _parse("telecom23", body, telecom23_headers(SECRET, body, NOW), replay_guard=guard)
    retry = _parse(
        "telecom23",
        body,
        telecom23_headers(SECRET, body, NOW + 10),
        now=NOW + 10,
        replay_guard=guard,
    )
    assert first.event_id == retry.event_id
    body, headers = _seven()
    _parse("seven", body, headers, replay_guard=guard)
    _parse("seven", body, seven_headers(SECRET, body, NOW, SEVEN_URL), replay_guard=guard)


@pytest.mark.parametrize("provider", ["lisoloo", "namirial"])
def test_a_delivery_not_stored_is_forgotten_by_its_replay_key_so_its_retry_is_taken(
    provider: str,
) -> None:
    # These retry with the same bytes: a parse() user whose store failed (a 500) met the
    # retry as a WebhookReplayError, answered 200 as the docs say, and lost the report; the
    # key to forget was nowhere to be had.
    guard = webhooks.MemoryReplayGuard()
    if provider == "lisoloo":
        body = dump(spec_example("lisoloo", "smsEvent", "delivered"))
        headers, secret = basic(LISOLOO_CREDENTIALS), LISOLOO_CREDENTIALS
    else:
        body, headers, secret = (
            dump(spec_example("namirial", "statusUpdate", "statusUpdate")),
            {},
            None,
        )
    first = _parse(provider, body, headers, secret=secret, replay_guard=guard)
    assert first.replay_key.startswith(f"{provider}:")
    guard.discard(first.replay_key)  # not stored: answered 500
    retry = _parse(provider, body, headers, secret=secret, replay_guard=guard)
    assert retry == first  # the key is no part of an event's equality
    with pytest.raises(WebhookReplayError):
        _parse(provider, body, headers, secret=secret, replay_guard=guard)


def test_a_refused_delivery_is_not_remembered_by_the_guard() -> None:
    guard = webhooks.MemoryReplayGuard()
    body, headers = _telecom23()
    with pytest.raises(WebhookSignatureError):
        _parse("telecom23", body, headers, now=NOW + 1000, replay_guard=guard)
    assert len(guard) == 0


@pytest.mark.parametrize(
    ("provider", "payload"),
    [
        ("telecom23", b"not json"),
        ("telecom23", b"[1, 2]"),
        ("telecom23", b'{"status": "DELIVRD"}'),
        ("telecom23", b'{"message_id": 7, "status": "DELIVRD"}'),
        ("telecom23", b'{"message_id": "m", "status": 7}'),
        ("seven", b'{"data": {"msg_id": "1"}, "webhook_event": "dlr"}'),
        ("seven", b'{"data": {"msg_id": "1", "status": "DELIVERED"}, "webhook_event": "sms_mo"}'),
        ("telecom23", b"\xff\xfe"),
        ("telecom23", b'{"message_id": "m", "status": "DELIVRD"} x'),
        ("telecom23", b'{"message_id": "m", "status": "DELIVRD"}\x0b'),
        ("telecom23", '{"message_id": "m", "status": "DELIVRD"}\u00a0'.encode()),
        ("telecom23", b'{"message_id": "m", "status": "DELIVRD"}{}'),
    ],
)
def test_an_authentic_body_that_does_not_fit_is_malformed(provider: str, payload: bytes) -> None:
    if provider == "telecom23":
        headers = telecom23_headers(SECRET, payload, NOW)
    else:
        headers = seven_headers(SECRET, payload, NOW, SEVEN_URL)
    with pytest.raises(MalformedWebhookError):
        _parse(provider, payload, headers)


def test_json_whitespace_after_an_authentic_body_is_read() -> None:
    payload = b'{"message_id": "m", "status": "DELIVRD"} \r\n\t'
    event = _parse("telecom23", payload, telecom23_headers(SECRET, payload, NOW))
    assert (event.report.message_id, event.report.provider_status) == ("m", "DELIVRD")


def test_namirial_and_lisoloo_malformed_bodies() -> None:
    with pytest.raises(MalformedWebhookError):
        webhooks.parse(
            "namirial", body=b'{"id": "x", "type": "STATUS_UPDATE"}', headers={}, secret=None
        )
    with pytest.raises(MalformedWebhookError):
        webhooks.parse(
            "lisoloo",
            body=b'{"event_type": "sms.sent"}',
            headers=basic(LISOLOO_CREDENTIALS),
            secret=LISOLOO_CREDENTIALS,
        )


def test_bad_arguments_are_value_or_type_errors() -> None:
    body, headers = _telecom23()
    with pytest.raises(ValueError, match="unknown provider"):
        webhooks.parse("nope", body=body, headers=headers, secret=SECRET)
    with pytest.raises(ValueError, match="secret"):
        webhooks.parse("telecom23", body=body, headers=headers, secret=None)
    with pytest.raises(ValueError, match="secret=None"):
        webhooks.parse("namirial", body=body, headers={}, secret="something")
    with pytest.raises(ValueError, match="user:password"):
        webhooks.parse("lisoloo", body=body, headers={}, secret="nocolon")
    with pytest.raises(ValueError, match="url="):
        webhooks.parse("seven", body=body, headers=headers, secret=SECRET)
    with pytest.raises(TypeError, match="raw bytes"):
        webhooks.parse("telecom23", body=body.decode(), headers=headers, secret=SECRET)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="url must"):  # not a WebhookSignatureError
        webhooks.parse("seven", body=body, headers={}, secret=SECRET, url=b"https://x/")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="url must"):
        webhooks.parse("seven", body=body, headers={}, secret=SECRET, url="/hooks/seven")
    for tolerance in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="tolerance"):
            webhooks.parse(
                "telecom23", body=body, headers=headers, secret=SECRET, tolerance=tolerance
            )
    for now in (float("nan"), float("inf")):  # nan: a delivery of any age passed
        with pytest.raises(ValueError, match="now must be a finite time"):
            webhooks.parse("telecom23", body=body, headers=headers, secret=SECRET, now=now)


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        (None, "headers must have items()"),
        ([("X-Webhook-Signature", "sha256=00")], "headers must have items()"),
        ({b"x-webhook-signature": b"sha256=00"}, "header names must be str"),
        ({"x-webhook-signature": b"sha256=00"}, "header values must be str"),
        ({"x-webhook-signature": ["sha256=00"]}, "header values must be str"),
    ],
    ids=["None", "a list of pairs", "bytes names", "bytes values", "lists of values"],
)
def test_headers_of_the_wrong_kind_are_a_type_error(headers: object, says: str) -> None:
    # None or a list of pairs raised AttributeError; bytes names (a dict of an ASGI scope's
    # pairs) read as missing: a genuine delivery refused, "the header is missing".
    body, _ = _telecom23()
    with pytest.raises(TypeError, match=says):
        webhooks.parse("telecom23", body=body, headers=headers, secret=SECRET)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        InvalidWebhookError("x", provider="seven"),
        WebhookSignatureError("the signature does not match", provider="telecom23"),
        WebhookReplayError("seen before", provider="seven"),
        MalformedWebhookError("not json", provider="lisoloo"),
    ],
)
def test_webhook_errors_pickle_and_deepcopy(error: InvalidWebhookError) -> None:
    for clone in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):
        assert type(clone) is type(error)
        assert (clone.message, clone.provider, str(clone)) == (
            error.message,
            error.provider,
            str(error),
        )
        assert isinstance(clone, SmsStatusError)


# -- whatever an authentic sender puts in the body, only our errors come out ----------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=20,
)


# Wall-clock deadlines mean nothing on a loaded machine; the examples count is what matters.
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mutated(provider: str, webhook: str, example: str) -> st.SearchStrategy[bytes]:
    """The docs' example with some keys replaced by arbitrary JSON, or arbitrary bytes."""
    base = spec_example(provider, webhook, example)

    def mutate(changes: dict[str, Any]) -> bytes:
        value = copy.deepcopy(base)
        for key, new in changes.items():
            target = (
                value.get("data")
                if key.startswith("data.") and isinstance(value.get("data"), dict)
                else value
            )
            target[key.removeprefix("data.")] = new
        return json.dumps(value).encode()

    keys = [*base, *(f"data.{k}" for k in (base.get("data") or {}))]
    return st.one_of(
        st.dictionaries(st.sampled_from(keys), json_values, max_size=3).map(mutate),
        st.binary(max_size=64),
        json_values.map(lambda v: json.dumps(v).encode()),
    )


@FUZZ
@given(body=_mutated("telecom23", "deliveryReport", "delivered"))
def test_telecom23_any_signed_body_is_a_report_or_malformed(body: bytes) -> None:
    _only_our_errors("telecom23", body, telecom23_headers(SECRET, body, NOW))


@FUZZ
@given(body=_mutated("seven", "dlr", "dlr"))
def test_seven_any_signed_body_is_a_report_or_malformed(body: bytes) -> None:
    # Our signer hashes the body as the js-client does, after a UTF-8 decode (invalid bytes
    # become U+FFFD); parse hashes the raw bytes, as a sender does. They agree on UTF-8.
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        assume(False)
    _only_our_errors("seven", body, seven_headers(SECRET, body, NOW, SEVEN_URL))


@FUZZ
@given(body=_mutated("lisoloo", "smsEvent", "delivered"))
def test_lisoloo_any_authenticated_body_is_a_report_or_malformed(body: bytes) -> None:
    _only_our_errors("lisoloo", body, basic(LISOLOO_CREDENTIALS), secret=LISOLOO_CREDENTIALS)


@FUZZ
@given(body=_mutated("namirial", "statusUpdate", "statusUpdate"))
def test_namirial_any_body_is_a_report_or_malformed(body: bytes) -> None:
    _only_our_errors("namirial", body, {}, secret=None)


def _only_our_errors(provider: str, body: bytes, headers: dict[str, str], **kwargs: Any) -> None:
    """Whatever an authentic sender puts in the body: a MalformedWebhookError, or an event
    that is a well-formed report of this provider, read the same way every time."""
    try:
        event = _parse(provider, body, headers, **kwargs)
    except MalformedWebhookError:
        return
    report = event.report
    assert (event.provider, report.provider) == (provider, provider)
    assert isinstance(report.message_id, str)
    assert report.message_id
    assert isinstance(event.event_id, str)
    assert event.event_id
    assert isinstance(event.kind, str)
    assert event.kind
    assert isinstance(report.state, DeliveryState)
    assert isinstance(report.is_final, bool)
    table = load_provider(provider).statuses
    if report.provider_status in table:  # a known status maps through the polling table
        assert (report.state, report.is_final) == table[report.provider_status]
    elif provider != "lisoloo":  # lisoloo's event types map through its event table
        assert (report.state, report.is_final) == (DeliveryState.UNRECOGNIZED, False)
    for moment in (report.created_at, report.sent_at, report.delivered_at, report.updated_at):
        assert moment is None or moment.tzinfo is not None
    json.dumps(report.to_dict())  # JSON-safe, whatever came in
    assert _same_event(_parse(provider, body, headers, **kwargs), event)  # deterministic


def test_payloads_are_read_through_the_generated_models() -> None:
    from sms_status_lisoloo.models import WebhookEvent as LisolooEvent
    from sms_status_namirial.models import WebhookEvent as NamirialEvent
    from sms_status_seven.models import DlrWebhook
    from sms_status_telecom23.models import DeliveryWebhook

    body = dump(spec_example("telecom23", "deliveryReport", "delivered"))
    raw = _parse("telecom23", body, telecom23_headers(SECRET, body, NOW)).report.raw
    assert isinstance(raw, DeliveryWebhook)
    body = dump(spec_example("seven", "dlr", "dlr"))
    assert isinstance(
        _parse("seven", body, seven_headers(SECRET, body, NOW, SEVEN_URL)).report.raw, DlrWebhook
    )
    body = dump(spec_example("lisoloo", "smsEvent", "delivered"))
    raw = _parse("lisoloo", body, basic(LISOLOO_CREDENTIALS), secret=LISOLOO_CREDENTIALS).report.raw
    assert isinstance(raw, LisolooEvent)
    body = dump(spec_example("namirial", "statusUpdate", "statusUpdate"))
    assert isinstance(_parse("namirial", body, {}, secret=None).report.raw, NamirialEvent)


def test_json_nested_thousands_deep_is_malformed_not_a_recursion_error() -> None:
    deep = b"[" * 30_000 + b"]" * 30_000  # within the body cap
    with pytest.raises(MalformedWebhookError):
        webhooks.parse("namirial", body=deep, headers={}, secret=None)


@pytest.mark.parametrize("message_id", ["x\ud800", "a\x00b", ".."])
def test_a_pushed_message_id_no_lookup_could_send_is_malformed(message_id: str) -> None:
    payload = spec_example("namirial", "statusUpdate", "statusUpdate")
    payload["message"]["id"] = message_id
    body = json.dumps(payload).encode()  # a lone surrogate goes as "\ud800"
    with pytest.raises(MalformedWebhookError, match="message id"):
        webhooks.parse("namirial", body=body, headers={}, secret=None)


def test_a_secret_with_a_lone_surrogate_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError, match="Unicode") as caught:
        webhooks.app("telecom23", secret="whsec_\udcff_sekrit", on_report=print)
    assert "sekrit" not in str(caught.value)


def test_a_seven_header_a_server_decoded_with_surrogateescape_fails_the_signature() -> None:
    # aiohttp hands header bytes that are not UTF-8 over as lone surrogates ("\xff" as
    # "\udcff"): seven's nonce went into the signed text, whose encoding raised a
    # UnicodeEncodeError (a 500 from a receiver catching InvalidWebhookError).
    body = dump(spec_example("seven", "dlr", "dlr"))
    headers = seven_headers(SECRET, body, NOW, SEVEN_URL)
    headers["X-Nonce"] += "\udcff"
    with pytest.raises(WebhookSignatureError, match="does not match"):
        _parse("seven", body, headers, url=SEVEN_URL)


def test_names_a_sender_chose_are_logged_escaped_and_cut(caplog: pytest.LogCaptureFixture) -> None:
    # namirial's webhooks are unsigned: anyone can send one. An unknown field's name went
    # into the log as it came, so a newline forged a second log line.
    payload = spec_example("namirial", "statusUpdate", "statusUpdate")
    forged = "x\nCRITICAL sms_status.webhooks: forged \x1b[31m" + "y" * 500
    payload["message"][forged] = 1
    with caplog.at_level("WARNING", logger="sms_status"):
        webhooks.parse("namirial", body=dump(payload), headers={}, secret=None)
    [warning] = [r.getMessage() for r in caplog.records if "does not describe" in r.getMessage()]
    assert "\n" not in warning
    assert "\x1b" not in warning
    assert "forged" in warning
    assert len(warning) < 300


def test_new_long_status_values_at_every_delivery_hold_little_memory() -> None:
    # Each warning is logged once per value for the life of the process: a sender choosing
    # a new 60 KB status at every delivery made the receiver keep each one (~600 MB).
    import tracemalloc

    payload = spec_example("namirial", "statusUpdate", "statusUpdate")
    bodies = []
    for n in range(200):
        payload["message"]["status"] = f"{n}-" + "S" * 50_000
        bodies.append(dump(payload))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for body in bodies:
            event = webhooks.parse("namirial", body=body, headers={}, secret=None)
            assert event.report.state is DeliveryState.UNRECOGNIZED
        del event
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 1_000_000, held  # 200 x 50 KB: 10 MB before


def test_a_pushed_cost_is_the_exact_decimal_of_the_json_number() -> None:
    body = dump(spec_example("telecom23", "deliveryReport", "delivered"))
    body = body.replace(b'"cost": 0.0085', b'"cost": 0.008500000000000000123')
    assert b"000123" in body
    event = _parse("telecom23", body, telecom23_headers(SECRET, body, NOW))
    assert str(event.report.cost) == "0.008500000000000000123"


def test_a_pushed_cost_no_decimal_holds_is_read_as_its_float() -> None:
    # Valid JSON: an InvalidOperation escaped parse(), and the receiver answered 500.
    body = dump(spec_example("telecom23", "deliveryReport", "delivered"))
    body = body.replace(b'"cost": 0.0085', b'"cost": 0e9999999999999999999')
    event = _parse("telecom23", body, telecom23_headers(SECRET, body, NOW))
    assert str(event.report.cost) == "0.0"
