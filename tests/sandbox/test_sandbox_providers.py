"""Every provider's sandbox over real loopback sockets: auth, seeds, lifecycles, 404s, faults."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sandbox_support import (
    AUTH,
    client,
    compact,
    examples,
    is_not_found,
    status_of,
    status_path,
)
from sms_status.testing import DEMO_KEYS, PROVIDER_KEYS, FakeClock, Sandbox

LIFECYCLES = {
    "telecom23": ("pending", "sent", "DELIVRD"),
    "namirial": ("PROVIDER_ACCEPTANCE", "SENT", "DELIVERED"),
    "roycetalk": ("pending", "sent", "delivered"),
    "lisoloo": ("pending", "sent", "delivered"),
    "seven": ("ACCEPTED", "TRANSMITTED", "DELIVERED"),
}


@pytest.fixture(params=PROVIDER_KEYS)
def sb(request: pytest.FixtureRequest) -> Sandbox:
    sandbox: Sandbox = request.getfixturevalue(f"{request.param}_sandbox")
    return sandbox


def get(sb: Sandbox, raw_id: str, *, key: str | None = None, **kw: object) -> httpx.Response:
    with client(sb, key=key, **kw) as c:  # type: ignore[arg-type]
        return c.get(status_path(sb.key, raw_id))


# -- auth --------------------------------------------------------------------------------------


AUTH_FAILURES = {
    "telecom23": (
        401,
        {"status": False, "error_code": "INVALID_API_KEY", "description": "Invalid API key"},
    ),
    "namirial": (403, None),
    "roycetalk": (403, {"success": False, "error": {"message": "Invalid API key"}}),
    "seven": (200, 900),
}


def test_wrong_key_answers_the_documented_auth_error(sb: Sandbox) -> None:
    response = get(sb, "m1", key="wrong-key")
    if sb.key == "lisoloo":
        body = response.json()
        assert response.status_code == 401
        assert body["error_code"] == "1001"
        assert body["status_code"] == 401
        assert body["success"] is False
        assert body["retryable"] is False
        return
    status, body = AUTH_FAILURES[sb.key]
    assert response.status_code == status
    if body is None:
        assert response.content == b""
    else:
        assert response.json() == body


def test_missing_key_is_refused_too(sb: Sandbox) -> None:
    with httpx.Client(base_url=sb.base_url) as c:
        response = c.get(status_path(sb.key, "m1"))
    expected_status = {"telecom23": 401, "namirial": 403, "roycetalk": 403, "lisoloo": 401}
    if sb.key == "seven":
        assert (response.status_code, response.content) == (200, b"900")
    else:
        assert response.status_code == expected_status[sb.key]
    if sb.key == "telecom23":
        assert response.json()["error_code"] == "UNAUTHORIZED"


def test_demo_key_is_the_default(sb: Sandbox) -> None:
    assert sb.api_key == DEMO_KEYS[sb.key]


def test_seven_accepts_a_bearer_key(seven_sandbox: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {seven_sandbox.api_key}"}
    r = httpx.get(seven_sandbox.base_url + "/api/status?msg_id=77232007287", headers=headers)
    assert r.json()["id"] == "77232007287"


# -- seeds ---------------------------------------------------------------------------------------


def test_seed_examples_served_byte_for_byte(sb: Sandbox) -> None:
    for path, status, _media, _name, value in examples(sb.key):
        if status != "200" or "{" not in path or not isinstance(value, dict):
            continue
        if "messages" in value:  # namirial histories: see the example replay test
            continue
        # The id sits in `data`, in `message`, or (a new provider's flat body) at the top.
        message = value.get("data") or value.get("message") or value
        raw_id = message.get("message_id") or message.get("id")
        response = get(sb, raw_id)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.content == compact(value)


# -- lifecycles ----------------------------------------------------------------------------------


def test_lifecycle_moves_one_step_per_poll(sb: Sandbox) -> None:
    handle = sb.add_message("m1")
    seen = [status_of(sb.key, get(sb, "m1").json()) for _ in range(4)]
    first, second, last = LIFECYCLES[sb.key]
    assert seen == [first, second, last, last]
    assert handle.polls == 4
    assert handle.status == last


def test_lifecycle_follows_the_clock(sb: Sandbox, sandbox_clock: FakeClock) -> None:
    sb.add_message("m1", statuses=("a", "b", "c"), advance=10)
    assert status_of(sb.key, get(sb, "m1").json()) == "a"
    assert status_of(sb.key, get(sb, "m1").json()) == "a"  # polls do not move it
    sandbox_clock.advance(10)
    assert status_of(sb.key, get(sb, "m1").json()) == "b"
    sandbox_clock.advance(25)
    assert status_of(sb.key, get(sb, "m1").json()) == "c"
    sandbox_clock.advance(1000)
    assert status_of(sb.key, get(sb, "m1").json()) == "c"


def test_unknown_status_strings_are_served(sb: Sandbox) -> None:
    sb.add_message("m1", statuses=("WHATEVER_NEW",))
    assert status_of(sb.key, get(sb, "m1").json()) == "WHATEVER_NEW"


@pytest.mark.sandbox_serves_off_spec  # an extra key, on purpose
def test_fields_override_rendering(sb: Sandbox) -> None:
    sb.add_message("m1", statuses=("x",), extra_key="extra")
    body = get(sb, "m1").json()
    inner = body if sb.key == "seven" else body["data"] if "data" in body else body["message"]
    assert inner["extra_key"] == "extra"


# -- 404 and tenants -----------------------------------------------------------------------------


def test_unknown_id_is_not_found(sb: Sandbox) -> None:
    assert is_not_found(sb.key, get(sb, "no-such-id"))


def test_cross_tenant_ids_are_not_found(sb: Sandbox) -> None:
    sb.add_tenant_key("sk_test_other_tenant", tenant="acme")
    sb.add_message("theirs", tenant="acme")
    sb.add_message("mine")
    assert is_not_found(sb.key, get(sb, "theirs"))
    assert get(sb, "theirs", key="sk_test_other_tenant").status_code == 200
    assert is_not_found(sb.key, get(sb, "mine", key="sk_test_other_tenant"))


def test_same_id_in_two_tenants_are_two_messages(sb: Sandbox) -> None:
    sb.add_tenant_key("k2", tenant="t2")
    sb.add_message("m", statuses=("one",))
    sb.add_message("m", statuses=("two",), tenant="t2")
    assert status_of(sb.key, get(sb, "m").json()) == "one"
    assert status_of(sb.key, get(sb, "m", key="k2").json()) == "two"


def test_unknown_path_and_method(sb: Sandbox) -> None:
    headers = AUTH[sb.key](sb.api_key)
    r = httpx.get(sb.base_url + "/nope/nothing/here", headers=headers)
    assert r.status_code == 404
    r = httpx.post(sb.base_url + status_path(sb.key, "m1"), headers=headers)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"


# -- request log ---------------------------------------------------------------------------------


def test_request_log_keeps_the_raw_path_and_decodes_the_id(sb: Sandbox) -> None:
    sb.add_message("a/b", statuses=("x",))
    response = get(sb, "a%2Fb")
    assert response.status_code == 200
    (recorded,) = sb.requests
    expected = status_path(sb.key, "a%2Fb")
    raw, _, query = expected.partition("?")
    assert recorded.raw_path == raw
    assert recorded.query == query
    assert recorded.status == 200
    assert recorded.method == "GET"
    assert recorded.route == "status"
    if sb.key == "seven":
        assert recorded.query_params == {"msg_id": ["a/b"]}
    else:
        assert recorded.path == raw.replace("%2F", "/")


def test_request_log_masks_secrets(sb: Sandbox) -> None:
    get(sb, "m1")
    (recorded,) = sb.requests
    values = " ".join(recorded.headers.values())
    assert sb.api_key not in values
    name = next(iter(AUTH[sb.key]("x"))).lower()
    assert recorded.headers[name] == "***"
    sb.clear_requests()
    assert sb.requests == []


def test_reset_forgets_everything_but_the_examples(sb: Sandbox) -> None:
    sb.add_message("m1")
    sb.inject_fault("server_error", times=None)
    get(sb, "m1")
    sb.reset()
    assert sb.requests == []
    assert sb.faults == []
    assert is_not_found(sb.key, get(sb, "m1"))


# -- faults --------------------------------------------------------------------------------------


def test_rate_limit_fault_uses_the_provider_defaults(sb: Sandbox) -> None:
    sb.add_message("m1")
    sb.inject_fault("rate_limit")
    r = get(sb, "m1")
    assert r.status_code == 429
    if sb.key == "telecom23":
        assert "retry-after" not in r.headers
        assert r.json()["error_code"] == "RATE_LIMIT_EXCEEDED"
    elif sb.key == "lisoloo":
        assert r.headers["retry-after"] == "30"
        body = r.json()
        assert (body["error_code"], body["retry_after"], body["retryable"]) == ("1301", 30, True)
    elif sb.key == "namirial":
        assert r.content == b""
    elif sb.key == "seven":
        assert r.content == b"700"
    else:
        assert r.json()["success"] is False
    assert get(sb, "m1").status_code == 200  # times=1: expired


@pytest.mark.parametrize(
    ("body", "retry_after"), [("html", None), ("empty", None), ("json", "7"), ("empty", "12")]
)
def test_rate_limit_fault_variants(sb: Sandbox, body: str, retry_after: str | None) -> None:
    sb.inject_fault("rate_limit", body=body, retry_after=retry_after)
    r = get(sb, "m1")
    assert r.status_code == 429
    assert r.headers.get("retry-after") == retry_after
    if body == "html":
        assert r.headers["content-type"].startswith("text/html")
        assert b"<html>" in r.content
    elif body == "empty":
        assert r.content == b""
    if sb.key == "lisoloo" and body == "json":
        assert r.json()["retry_after"] == 7


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_fault(sb: Sandbox, status: int) -> None:
    sb.inject_fault("server_error", status=status)
    r = get(sb, "m1")
    assert r.status_code == status
    if sb.key == "telecom23" and status == 500:
        assert r.json()["error_code"] == "DB_ERROR"
    if sb.key == "lisoloo":
        assert r.json()["error_code"] in ("1401", "1402")


def test_proxy_502_html_fault(sb: Sandbox) -> None:
    sb.inject_fault("proxy_502_html")
    r = get(sb, "m1")
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("text/html")
    assert b"502 Bad Gateway" in r.content


def test_truncated_json_fault(sb: Sandbox) -> None:
    sb.add_message("m1")
    sb.inject_fault("truncated_json", message_id="m1")
    r = get(sb, "m1")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)


def test_wrong_types_fault(sb: Sandbox) -> None:
    sb.add_message("m1")
    sb.inject_fault("wrong_types")
    r = get(sb, "m1")
    assert r.status_code == 200
    assert not isinstance(status_of(sb.key, r.json()), str)


def test_wrong_types_fault_on_named_fields(telecom23_sandbox: Sandbox) -> None:
    sb = telecom23_sandbox
    sb.add_message("m1", statuses=("DELIVRD",))
    sb.inject_fault("wrong_types", fields=("segments", "cost"))
    message = get(sb, "m1").json()["message"]
    assert (message["segments"], message["cost"], message["status"]) == ("1", "0.0085", "DELIVRD")


def test_unknown_status_fault(sb: Sandbox) -> None:
    sb.add_message("m1")
    sb.inject_fault("unknown_status", value="QUANTUM_ENTANGLED")
    assert status_of(sb.key, get(sb, "m1").json()) == "QUANTUM_ENTANGLED"
    assert status_of(sb.key, get(sb, "m1").json()) == LIFECYCLES[sb.key][1]


@pytest.mark.parametrize("status", [499, 520, 299])
def test_status_code_fault(sb: Sandbox, status: int) -> None:
    sb.add_message("m1")
    sb.inject_fault("status_code", status=status)
    r = get(sb, "m1")
    assert r.status_code == status
    assert status_of(sb.key, r.json()) == LIFECYCLES[sb.key][0]  # the real body, odd status


def test_status_code_fault_with_a_body(sb: Sandbox) -> None:
    sb.inject_fault(
        "status_code", status=520, body="<h1>origin error</h1>", content_type="text/html"
    )
    r = get(sb, "m1")
    assert (r.status_code, r.text) == (520, "<h1>origin error</h1>")


def test_stall_fault_outlasts_the_client_timeout(sb: Sandbox) -> None:
    sb.add_message("m1")
    sb.inject_fault("stall", seconds=3)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        get(sb, "m1", timeout=0.3)
    assert time.monotonic() - started < 2
    assert get(sb, "m1").status_code == 200


def test_reset_fault_cuts_the_body(sb: Sandbox) -> None:
    sb.add_message("m1")
    sb.inject_fault("reset")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        get(sb, "m1")
    assert sb.requests[-1].fault == "reset"
    assert get(sb, "m1").status_code == 200


def test_not_json_fault(sb: Sandbox) -> None:
    sb.inject_fault("not_json")
    r = get(sb, "m1")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_fault_matching_by_id_route_and_times(sb: Sandbox) -> None:
    sb.add_message("m1")
    sb.add_message("m2")
    fault = sb.inject_fault("server_error", message_id="m2", times=2)
    assert get(sb, "m1").status_code == 200
    assert get(sb, "m2").status_code == 500
    assert get(sb, "m2").status_code == 500
    assert get(sb, "m2").status_code == 200
    assert (fault.hits, fault.active) == (2, False)
    forever = sb.inject_fault("proxy_502_html", route="status", times=None)
    assert all(get(sb, "m1").status_code == 502 for _ in range(5))
    forever.cancel()
    assert get(sb, "m1").status_code == 200


def test_faults_apply_in_injection_order(sb: Sandbox) -> None:
    sb.inject_fault("status_code", status=520)
    sb.inject_fault("proxy_502_html")
    assert [get(sb, "m1").status_code for _ in range(3)] == [520, 502, *[get(sb, "m1").status_code]]


def test_error_fault_gives_documented_errors(
    telecom23_sandbox: Sandbox, lisoloo_sandbox: Sandbox
) -> None:
    telecom23_sandbox.inject_fault("error", status=402)
    body = get(telecom23_sandbox, "m1").json()
    assert body["error_code"] == "INSUFFICIENT_BALANCE"
    lisoloo_sandbox.inject_fault("error", status=401, code="1004")
    r = get(lisoloo_sandbox, "m1")
    assert (r.status_code, r.json()["error_code"], r.json()["message"]) == (
        401,
        "1004",
        "App suspended",
    )


def test_bad_fault_arguments_are_refused(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        sb.inject_fault("meteor")
    with pytest.raises(ValueError, match="unknown route"):
        sb.inject_fault("stall", route="nowhere")
    with pytest.raises(ValueError, match="times"):
        sb.inject_fault("stall", times=0)
    with pytest.raises(ValueError, match="status"):
        sb.inject_fault("status_code")
