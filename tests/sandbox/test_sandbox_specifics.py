"""Provider-specific behaviour: namirial histories, seven batches, lisoloo limits and counts,
roycetalk's trailing slash and batch routes."""

from __future__ import annotations

import httpx
import pytest
from sandbox_support import client
from sms_status.testing import FakeClock, Sandbox

# -- namirial ------------------------------------------------------------------------------------

T0 = FakeClock.DEFAULT_START


def _history(sb: Sandbox, route: str, value: str, **params: object) -> httpx.Response:
    with client(sb) as c:
        return c.get(f"/api/messagestatus/{route}/{value}", params=params)  # type: ignore[arg-type]


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200
    return [item["message"]["id"] for item in response.json()["messages"]]


def test_namirial_history_is_newest_first(namirial_sandbox: Sandbox) -> None:
    sb = namirial_sandbox
    for i in (3, 1, 2):
        sb.add_message(f"m{i}", phone="+391234", reference_key="order-9", sent_at=T0 - 100 + i)
    sb.add_message("other", phone="+399999", sent_at=T0)
    assert _ids(_history(sb, "phonenumber", "%2B391234")) == ["m3", "m2", "m1"]
    assert _ids(_history(sb, "phonenumber", "+391234")) == ["m3", "m2", "m1"]
    assert _ids(_history(sb, "reference", "order-9", count=2)) == ["m3", "m2"]
    body = _history(sb, "phonenumber", "+391234").json()["messages"][0]["message"]
    assert body["providerAcceptanceAt"] == "2026-02-13T10:28:23Z"
    assert body["reference"]["key"] == "order-9"


def test_namirial_history_counts_are_capped_at_100(namirial_sandbox: Sandbox) -> None:
    sb = namirial_sandbox
    for i in range(130):
        sb.add_message(f"m{i:03d}", phone="+1555", sent_at=T0 - 1000 + i)
    assert len(_ids(_history(sb, "phonenumber", "+1555"))) == 50  # default
    assert len(_ids(_history(sb, "phonenumber", "+1555", count=100))) == 100
    newest = _ids(_history(sb, "phonenumber", "+1555", count=1000))
    assert len(newest) == 100
    assert newest[0] == "m129"
    assert newest[-1] == "m030"
    assert _history(sb, "phonenumber", "+1555", count=3).request.url.params["count"] == "3"
    assert sb.requests[-2].query_params == {"count": ["1000"]}


def test_namirial_empty_history(namirial_sandbox: Sandbox) -> None:
    r = _history(namirial_sandbox, "phonenumber", "+0000")
    assert (r.status_code, r.content) == (200, b'{"messages":[]}')


@pytest.mark.parametrize(("mode", "expected"), [("strict", ["m1"]), ("inclusive", ["m2", "m1"])])
def test_namirial_send_date_strict_or_inclusive(mode: str, expected: list[str]) -> None:
    with Sandbox("namirial", clock=FakeClock(), history_before=mode).serve() as sb:
        sb.add_message("m1", phone="+1", sent_at="2026-02-01T00:00:00Z")
        sb.add_message("m2", phone="+1", sent_at="2026-02-02T00:00:00Z")
        sb.add_message("m3", phone="+1", sent_at="2026-02-03T00:00:00Z")
        r = _history(sb, "phonenumber", "+1", sendDate="2026-02-02T00:00:00Z")
        assert _ids(r) == expected


@pytest.mark.sms_sandbox(history_before="inclusive")
def test_namirial_marker_options_reach_the_fixture(namirial_sandbox: Sandbox) -> None:
    assert namirial_sandbox.options["history_before"] == "inclusive"


def test_namirial_default_send_date_is_now_inclusive(
    namirial_sandbox: Sandbox, sandbox_clock: FakeClock
) -> None:
    sb = namirial_sandbox
    sb.add_message("now", phone="+1")
    sb.add_message("future", phone="+1", sent_at=sandbox_clock.now() + 60)
    assert _ids(_history(sb, "phonenumber", "+1")) == ["now"]


def test_namirial_out_of_range_query_lenient_by_default(namirial_sandbox: Sandbox) -> None:
    sb = namirial_sandbox
    sb.add_message("a", phone="+1", sent_at=T0 - 2)
    sb.add_message("b", phone="+1", sent_at=T0 - 1)
    assert _ids(_history(sb, "phonenumber", "+1", count=0)) == ["b"]
    assert _ids(_history(sb, "phonenumber", "+1", count="abc")) == ["b", "a"]
    assert _ids(_history(sb, "phonenumber", "+1", sendDate="yesterday")) == ["b", "a"]


def test_namirial_out_of_range_query_rejected_on_request() -> None:
    with Sandbox("namirial", clock=FakeClock(), invalid_query="reject").serve() as sb:
        for params in ({"count": 0}, {"count": "x"}, {"sendDate": "not-a-date"}):
            r = _history(sb, "phonenumber", "+1", **params)
            assert (r.status_code, r.content) == (400, b"")
        assert _history(sb, "phonenumber", "+1", count=500).status_code == 200


def test_namirial_histories_do_not_count_as_polls(namirial_sandbox: Sandbox) -> None:
    handle = namirial_sandbox.add_message("m", phone="+1")
    _history(namirial_sandbox, "phonenumber", "+1")
    assert handle.polls == 0
    assert handle.status == "PROVIDER_ACCEPTANCE"


# -- seven ---------------------------------------------------------------------------------------


def _seven(sb: Sandbox, query: str, **kw: object) -> httpx.Response:
    with client(sb, **kw) as c:  # type: ignore[arg-type]
        return c.get("/api/status?" + query)


def test_seven_batch_lookup_is_one_request(seven_sandbox: Sandbox) -> None:
    sb = seven_sandbox
    sb.add_message("1001", statuses=("DELIVERED",))
    sb.add_message("1002", statuses=("BUFFERED",))
    r = _seven(sb, "msg_id=1001,1002")
    assert [(i["id"], i["status"]) for i in r.json()] == [
        ("1001", "DELIVERED"),
        ("1002", "BUFFERED"),
    ]
    assert len(sb.requests) == 1
    r = _seven(sb, "msg_id=1002%2C1001")
    assert [i["id"] for i in r.json()] == ["1002", "1001"]
    assert sb.requests[-1].query == "msg_id=1002%2C1001"


def test_seven_single_id_is_a_bare_object(seven_sandbox: Sandbox) -> None:
    seven_sandbox.add_message("1001", statuses=("DELIVERED",))
    body = _seven(seven_sandbox, "msg_id=1001").json()
    assert isinstance(body, dict)
    assert body["id"] == "1001"
    assert len(body["status_time"]) == len("2026-02-13 10:30:00.000")
    assert body["status_time"] == "2026-02-13 11:30:00.000"  # 10:30Z in Berlin (CET)


def test_seven_unknown_ids_are_left_out(seven_sandbox: Sandbox) -> None:
    seven_sandbox.add_message("1001", statuses=("DELIVERED",))
    body = _seven(seven_sandbox, "msg_id=999,1001,998").json()
    assert [i["id"] for i in body] == ["1001"]
    r = _seven(seven_sandbox, "msg_id=999,998")
    assert (r.status_code, r.json()) == (200, 901)
    r = _seven(seven_sandbox, "msg_id=999")
    assert (r.status_code, r.json()) == (200, 901)
    r = _seven(seven_sandbox, "")
    assert (r.status_code, r.json()) == (200, 901)


def test_seven_each_id_in_a_batch_is_a_poll(seven_sandbox: Sandbox) -> None:
    a = seven_sandbox.add_message("1")
    b = seven_sandbox.add_message("2")
    _seven(seven_sandbox, "msg_id=1,2")
    body = _seven(seven_sandbox, "msg_id=1,2").json()
    assert [i["status"] for i in body] == ["TRANSMITTED", "TRANSMITTED"]
    assert (a.polls, b.polls) == (2, 2)


def test_seven_fault_by_message_id_hits_batches_containing_it(seven_sandbox: Sandbox) -> None:
    seven_sandbox.add_message("1")
    seven_sandbox.add_message("2")
    seven_sandbox.inject_fault("server_error", message_id="2")
    assert _seven(seven_sandbox, "msg_id=1").status_code == 200
    assert _seven(seven_sandbox, "msg_id=1,2").status_code == 500


# -- lisoloo -------------------------------------------------------------------------------------


def test_lisoloo_121st_request_in_a_minute_is_limited(
    lisoloo_sandbox: Sandbox, sandbox_clock: FakeClock
) -> None:
    sb = lisoloo_sandbox
    sb.add_message("m1")
    with client(sb) as c:
        for i in range(120):
            assert c.get("/api/v1/lisoloo/sms-api/status/m1").status_code == 200, i
            sandbox_clock.advance(0.25)  # 120 requests over 30 s
        r = c.get("/api/v1/lisoloo/sms-api/status/m1")
        assert r.status_code == 429
        body = r.json()
        assert r.headers["retry-after"] == "30"
        assert (body["error_code"], body["retry_after"], body["status_code"]) == ("1301", 30, 429)
        assert body["retryable"] is True
        sandbox_clock.advance(0.5)  # the oldest request leaves the window a bit later
        assert c.get("/api/v1/lisoloo/sms-api/status/m1").status_code == 429
        sandbox_clock.advance(29.5)
        assert c.get("/api/v1/lisoloo/sms-api/status/m1").status_code == 200
        sandbox_clock.advance(60)
        assert all(c.get("/api/v1/lisoloo/sms-api/status/m1").status_code == 200 for _ in range(5))


def test_lisoloo_limit_is_per_key(lisoloo_sandbox: Sandbox) -> None:
    sb = lisoloo_sandbox
    sb.rate_limit = (2, 60.0)
    sb.add_tenant_key("sk_test_second", tenant="default")
    with client(sb) as c:
        assert [c.get("/api/v1/lisoloo/sms-api/status/x").status_code for _ in range(3)] == [
            404,
            404,
            429,
        ]
    with client(sb, key="sk_test_second") as c:
        assert c.get("/api/v1/lisoloo/sms-api/status/x").status_code == 404


@pytest.mark.sms_sandbox(rate_limit=None)
def test_lisoloo_limit_can_be_turned_off(lisoloo_sandbox: Sandbox) -> None:
    with client(lisoloo_sandbox) as c:
        assert all(c.get("/api/v1/lisoloo/sms-api/status/x").status_code == 404 for _ in range(130))


def test_telecom23_limit_is_off_by_default_and_configurable() -> None:
    assert Sandbox("telecom23").rate_limit is None
    with Sandbox("telecom23", clock=FakeClock(), rate_limit=(2, 1.0)).serve() as sb:
        with client(sb) as c:
            codes = [c.get("/api/v1/sms/status/x").status_code for _ in range(3)]
            last = c.get("/api/v1/sms/status/x")
        assert codes == [404, 404, 429]
        assert last.json()["error_code"] == "RATE_LIMIT_EXCEEDED"
        assert "retry-after" not in last.headers


def test_lisoloo_multi_recipient_counts(lisoloo_sandbox: Sandbox) -> None:
    sb = lisoloo_sandbox
    sb.add_message(
        "bulk",
        total_recipients=3,
        statuses=(
            "processing",
            {"status": "sent", "delivered": 1, "pending": 2},
            "partially_delivered",
        ),
    )
    with client(sb) as c:
        seen = [c.get("/api/v1/lisoloo/sms-api/status/bulk").json()["data"] for _ in range(3)]
    counts = [(d["status"], d["delivered"], d["failed"], d["pending"]) for d in seen]
    assert counts == [("processing", 0, 0, 3), ("sent", 1, 0, 2), ("partially_delivered", 2, 1, 0)]
    assert all(d["total_recipients"] == 3 for d in seen)


def test_lisoloo_derived_counts() -> None:
    from sms_status.testing.lisoloo import counts

    assert counts("partially_delivered", 3) == {"delivered": 2, "failed": 1, "pending": 0}
    assert counts("failed", 4) == {"delivered": 0, "failed": 4, "pending": 0}
    assert counts("delivered", 2) == {"delivered": 2, "failed": 0, "pending": 0}


# -- roycetalk -----------------------------------------------------------------------------------


def test_roycetalk_missing_trailing_slash_redirects(roycetalk_sandbox: Sandbox) -> None:
    with client(roycetalk_sandbox) as c:
        r = c.get("/api/v1/sms-api/messages/a%2Fb?x=1")
    assert r.status_code == 301
    assert r.headers["location"] == "/api/v1/sms-api/messages/a%2Fb/?x=1"


def test_roycetalk_batches_and_lists(roycetalk_sandbox: Sandbox) -> None:
    sb = roycetalk_sandbox
    sb.add_message("b1", batch_id="B", statuses=("delivered",))
    sb.add_message("b2", batch_id="B", statuses=("failed",))
    sb.add_message("solo", statuses=("sent",))
    with client(sb) as c:
        batch = c.get("/api/v1/sms-api/batches/B/").json()
        listed = c.get("/api/v1/sms-api/messages/", params={"batch_id": "B"}).json()
        everything = c.get("/api/v1/sms-api/messages/").json()
        missing = c.get("/api/v1/sms-api/batches/nope/")
    assert batch["data"]["total_messages"] == 2
    assert batch["data"]["status_counts"] == {"delivered": 1, "failed": 1}
    assert [m["id"] for m in listed["data"]] == ["b1", "b2"]
    assert "batch_id" not in listed["data"][0]
    assert {m["id"] for m in everything["data"]} >= {"b1", "b2", "solo"}
    assert missing.status_code == 404


def test_roycetalk_timestamps(roycetalk_sandbox: Sandbox, sandbox_clock: FakeClock) -> None:
    sb = roycetalk_sandbox
    sb.add_message("m", advance=5)
    with client(sb) as c:
        first = c.get("/api/v1/sms-api/messages/m/").json()["data"]
        sandbox_clock.advance(12)
        last = c.get("/api/v1/sms-api/messages/m/").json()["data"]
    assert (first["sent_at"], first["delivered_at"]) == (None, None)
    assert first["created_at"] == "2026-02-13T10:30:00.000000+00:00"
    assert last["sent_at"] == "2026-02-13T10:30:05.000000+00:00"
    assert last["delivered_at"] == "2026-02-13T10:30:10.000000+00:00"
    assert last["status_display"] == "Delivered"


def test_roycetalk_bearer_scheme_is_required(roycetalk_sandbox: Sandbox) -> None:
    url = roycetalk_sandbox.base_url + "/api/v1/sms-api/messages/x/"
    r = httpx.get(url, headers={"Authorization": roycetalk_sandbox.api_key})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "Authentication credentials were not provided."


# -- telecom23 -----------------------------------------------------------------------------------


def _signed(secret: str, path: str, timestamp: str) -> dict[str, str]:
    import hashlib
    import hmac

    message = f"GET|{path}|{timestamp}|".encode()
    return {
        "X-Timestamp": timestamp,
        "X-Signature": hmac.new(secret.encode(), message, hashlib.sha256).hexdigest(),
    }


@pytest.mark.sms_sandbox(signing_secret="s3cret")
def test_telecom23_request_signing(telecom23_sandbox: Sandbox, sandbox_clock: FakeClock) -> None:
    sb = telecom23_sandbox
    sb.add_message("m1")
    path = "/api/v1/sms/status/m1"
    now = str(int(sandbox_clock.now()))
    with client(sb) as c:
        assert c.get(path).json()["error_code"] == "SIGNATURE_REQUIRED"
        signed = _signed("s3cret", path, now)
        assert c.get(path, headers=signed).status_code == 200
        replayed = c.get(path, headers=signed)
        assert (replayed.status_code, replayed.json()["error_code"]) == (401, "INVALID_SIGNATURE")
        wrong = _signed("other", path, now)
        assert c.get(path, headers=wrong).json()["error_code"] == "INVALID_SIGNATURE"
        stale = _signed("s3cret", path, str(int(sandbox_clock.now()) - 301))
        assert c.get(path, headers=stale).json()["error_code"] == "INVALID_SIGNATURE"
    assert sb.requests[1].headers["x-signature"] == "***"


@pytest.mark.sms_sandbox(signing_secret="s3cret")
def test_a_signing_sandbox_on_a_fake_clock_serves_its_own_clients(
    telecom23_sandbox: Sandbox,
) -> None:
    # Its clients went unsigned (401 SIGNATURE_REQUIRED), and signed by hand they stamped
    # the time of day, which the sandbox judged by its FakeClock: INVALID_SIGNATURE, always.
    import asyncio

    sb = telecom23_sandbox
    sb.add_message("m1", statuses=("DELIVRD",))
    sb.add_message("m2", statuses=("DELIVRD",))  # (one path a second per signer: a pair once)
    with sb.connect() as sync_client:
        assert sync_client.get_status("m1").provider_status == "DELIVRD"

    async def look_up() -> str:
        async with sb.connect_async() as async_client:
            return (await async_client.get_status("m2")).provider_status

    assert asyncio.run(look_up()) == "DELIVRD"
    assert [r.status for r in sb.requests] == [200, 200]


def test_a_signing_secret_on_a_provider_that_signs_nothing_is_no_clients_concern() -> None:
    # Only telecom23 signs requests: another sandbox's secret (it checks none) must not make
    # its clients refuse to be made ("seven does not sign requests").
    with Sandbox("seven", signing_secret="s3cret", clock=FakeClock()).serve() as sb:
        sb.add_message("m1")
        with sb.connect(lookup="status") as seven:
            assert seven.get_status("m1").message_id == "m1"


def test_api_key_can_be_changed(telecom23_sandbox: Sandbox) -> None:
    sb = telecom23_sandbox
    old = sb.api_key
    sb.api_key = "sk_test_rotated"
    with client(sb) as c:
        assert c.get("/api/v1/sms/status/x").status_code == 404
    with client(sb, key=old) as c:
        assert c.get("/api/v1/sms/status/x").status_code == 401


def test_telecom23_a_path_it_does_not_have_is_no_unknown_message(
    telecom23_sandbox: Sandbox,
) -> None:
    # The docs' base URL ends in /api/v1: pasted as base_url, every lookup went to
    # /api/v1/api/v1/... and was answered as an unknown message id.
    import sms_status
    from sms_status.errors import NotFoundError

    telecom23_sandbox.add_message("m-1", statuses=("DELIVRD",))
    doubled = telecom23_sandbox.base_url + "/api/v1"
    client = sms_status.connect("telecom23", api_key=telecom23_sandbox.api_key, base_url=doubled)
    with client, pytest.raises(NotFoundError) as raised:
        client.get_status("m-1")
    assert "Message not found" not in str(raised.value)
    assert raised.value.body_excerpt == "Not Found"
