"""Replay every example of every spec through the sandbox, and reach every documented status.

200 examples: GET the example's own id and get the example back byte-for-byte. Error examples:
trigger the documented condition and get the same body (per-request fields of Lisoloo's
envelope, ``timestamp``/``request_id``, are compared by type). Then every documented status
code of every operation is reached (with faults where needed) and its body validated against
the spec's schema for it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sandbox_support import (
    AUTH,
    all_examples,
    client,
    compact,
    schema_validator,
    spec,
    strict_equal,
)
from sms_status.testing import PROVIDER_KEYS, Sandbox

PER_REQUEST = frozenset({"timestamp", "request_id"})


def _fill(path: str, **values: str) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def _request_for(sb: Sandbox, path: str, status: str, name: str, value: Any) -> httpx.Response:
    """Bring about the condition an example shows."""
    key = sb.key
    wrong = {"telecom23": "401", "namirial": "403", "roycetalk": "403", "lisoloo": "401"}
    with client(sb) as c, client(sb, key="definitely-wrong") as bad:
        if key == "seven":
            if value == 900:
                return bad.get("/api/status", params={"msg_id": "77232007287"})
            if value == 901:
                return c.get("/api/status", params={"msg_id": "404404404"})
            if path == "/api/journal/outbound":
                journal_id = value[0]["id"] if value else "404404404"
                return c.get(path, params={"id": journal_id})
            ids = [item["id"] for item in value] if isinstance(value, list) else [value["id"]]
            return c.get("/api/status?msg_id=" + ",".join(ids))
        if status == wrong[key]:
            if key == "lisoloo" and value["error_code"] != "1001":
                sb.inject_fault(
                    "error", status=401, code=value["error_code"], fields={"details": []}
                )
                return c.get(_fill(path, message_id="any"))
            return bad.get(_fill(path, message_id="m", messageid="m"))
        if status == "404":
            return c.get(_fill(path, message_id="no-such-id", messageid="no-such-id"))
        if status == "429":
            sb.rate_limit = (1, 30.0)
            c.get(_fill(path, message_id="any"))
            return c.get(_fill(path, message_id="any"))
        assert status == "200", (key, path, status, name)
        if key == "namirial" and "messages" in value:
            if not value["messages"]:
                return c.get(_fill(path, phonenumber="+0000000", referencekey="no-such-ref"))
            message = value["messages"][0]["message"]
            return c.get(
                _fill(path, phonenumber="%2B1234567890", referencekey=message["reference"]["key"])
            )
        body = value["data"] if "data" in value else value["message"]
        message_id = body.get("message_id") or body["id"]
        return c.get(_fill(path, message_id=message_id, messageid=message_id))


def _same_modulo_per_request(actual: Any, expected: Any) -> bool:
    if not isinstance(expected, dict) or not isinstance(actual, dict):
        return strict_equal(actual, expected)
    if actual.keys() != expected.keys():
        return False
    for k in expected:
        if k in PER_REQUEST:
            if type(actual[k]) is not type(expected[k]):
                return False
        elif not strict_equal(actual[k], expected[k]):
            return False
    return True


@pytest.mark.parametrize(
    ("key", "path", "status", "media", "name", "value"),
    all_examples(),
    ids=[f"{e[0]}:{e[1]}:{e[2]}:{e[4]}" for e in all_examples()],
)
def test_spec_example_is_replayed(
    request: pytest.FixtureRequest,
    key: str,
    path: str,
    status: str,
    media: str,
    name: str,
    value: Any,
) -> None:
    sb: Sandbox = request.getfixturevalue(f"{key}_sandbox")
    response = _request_for(sb, path, status, name, value)
    expected_status = 200 if status == "default" else int(status)
    assert response.status_code == expected_status
    assert response.headers["content-type"] == media
    if status == "200":
        assert response.content == compact(value)
    else:
        assert _same_modulo_per_request(response.json(), value), response.text
    if key == "lisoloo" and status == "429":
        assert response.headers["retry-after"] == str(response.json()["retry_after"])


# -- every documented status code is reachable ---------------------------------------------------


def _documented() -> list[tuple[str, str, str]]:
    out = []
    for key in PROVIDER_KEYS:
        for path, item in spec(key)["paths"].items():
            for status in item["get"]["responses"]:
                out.append((key, path, str(status)))
    return out


def _response_schema(key: str, path: str, status: str) -> tuple[str | None, str | None]:
    """(media type, JSON pointer of the schema) documented for a response, if it has a body."""
    response = spec(key)["paths"][path]["get"]["responses"][status]
    if "$ref" in response:
        return None, None
    content = response.get("content")
    if not content:
        return None, None
    media = next(iter(content))
    escaped = path.replace("~", "~0").replace("/", "~1")
    return (
        media,
        f"#/paths/{escaped}/get/responses/{status}/content/{media.replace('/', '~1')}/schema",
    )


@pytest.mark.parametrize(("key", "path", "status"), _documented(), ids=str)
def test_every_documented_status_is_reachable(
    request: pytest.FixtureRequest, key: str, path: str, status: str
) -> None:
    sb: Sandbox = request.getfixturevalue(f"{key}_sandbox")
    # Each fake's own lookup fields only: another provider's would be served as extra keys.
    own = {"namirial": {"phone": "+1", "reference_key": "r"}, "roycetalk": {"batch_id": "b"}}
    sb.add_message("m-1", **own.get(key, {}))
    values = {
        "message_id": "m-1",
        "messageid": "m-1",
        "phonenumber": "+1",
        "referencekey": "r",
        "batch_id": "b",
    }
    url = _fill(path, **values) + ("?msg_id=m-1" if key == "seven" else "")
    headers = AUTH[key](sb.api_key)
    if status in ("401", "403") and not (key == "telecom23" and status == "403"):
        headers = AUTH[key]("wrong")
    elif status == "404":
        url = _fill(path, **{k: "nope" for k in values})
    elif status == "default":
        sb.inject_fault("error", status=503, code="700")
    elif status != "200":
        sb.inject_fault("error", status=int(status))
    response = httpx.get(sb.base_url + url, headers=headers)
    assert response.status_code == (503 if status == "default" else int(status))
    media, pointer = _response_schema(key, path, status)
    if pointer is None:
        assert response.content == b"", "no body is documented"
        return
    assert response.headers["content-type"] == media
    schema_validator(key, pointer).validate(response.json())
