"""The committed generated clients, exercised over a real loopback HTTP server.

Each provider's test serves the spec's own 200 example (the docs' payload) at the documented
path, calls the generated `sync_detailed`, and checks the typed models against the example
and the request against the documented auth header and path. Then the generator
customisations (generator/README.md): open enums, a token-free repr, and the layout of each
distribution (py.typed, PROVENANCE.json, name and the version the root extra pins).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import re
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sms_status._registry import PROVIDERS

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "sk_test_S3CR3T_t0k3n_never_printed"
UTC = dt.UTC


# --- a real loopback HTTP server (127.0.0.1, ephemeral port) --------------------------------
@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # raw, still percent-encoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names


@dataclass
class Loopback:
    """Serves canned responses by raw path and records every request it receives."""

    base_url: str = ""
    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def serve(
        self, path: str, body: bytes, status: int = 200, content_type: str = "application/json"
    ) -> None:
        self.routes[path] = (status, content_type, body)

    @property
    def last(self) -> Recorded:
        assert self.requests, "the server received no request"
        return self.requests[-1]


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    state = Loopback()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            target = urlsplit(self.path)
            state.requests.append(
                Recorded(
                    method="GET",
                    path=target.path,
                    query=parse_qs(target.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                )
            )
            status, content_type, body = state.routes.get(target.path, (404, "text/plain", b""))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# (auth_header_name, prefix) as documented by each provider's security scheme.
AUTH = {
    "telecom23": ("X-API-Key", ""),
    "namirial": ("X-Api-Key", ""),
    "roycetalk": ("Authorization", "Bearer"),
    "lisoloo": ("app-key", ""),
    "seven": ("X-Api-Key", ""),
}


@cache
def spec(provider: str) -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.safe_load((ROOT / "specs" / f"{provider}.yaml").read_text())
    return loaded


def example(provider: str, path: str, name: str, code: str = "200") -> Any:
    media = spec(provider)["paths"][path]["get"]["responses"][code]["content"]["application/json"]
    return media["examples"][name]["value"]


def client_for(provider: str, base_url: str) -> Any:
    module = importlib.import_module(f"sms_status_{provider}")
    header, prefix = AUTH[provider]
    return module.AuthenticatedClient(
        base_url=base_url, token=TOKEN, prefix=prefix, auth_header_name=header
    )


def assert_authenticated(provider: str, loopback: Loopback) -> None:
    header, prefix = AUTH[provider]
    expected = f"{prefix} {TOKEN}" if prefix else TOKEN
    assert loopback.last.headers.get(header.lower()) == expected


_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def normalise(value: Any) -> Any:
    """JSON with ISO 8601 date-times as datetimes, so `Z` and `+00:00` compare equal."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        return dt.datetime.fromisoformat(value)
    return value


# --- one test per provider: the docs' example, parsed into typed models ----------------------


def test_telecom23_parses_the_docs_example(loopback: Loopback) -> None:
    from sms_status_telecom23.api.status import get_message_status
    from sms_status_telecom23.models import MessageStatus, StatusResponse

    body = example("telecom23", "/api/v1/sms/status/{message_id}", "delivered")
    message_id = body["message"]["message_id"]
    loopback.serve(f"/api/v1/sms/status/{message_id}", json.dumps(body).encode())

    with client_for("telecom23", loopback.base_url) as client:
        response = get_message_status.sync_detailed(message_id, client=client)

    assert response.status_code == 200
    parsed = response.parsed
    assert isinstance(parsed, StatusResponse)
    assert parsed.status is True
    message = parsed.message
    assert message.status is MessageStatus.DELIVRD
    assert message.message_id == "api_42_1743667200123456789_a3f8b2c1d9e45f67"
    assert message.telecom_message_id == "6946d0f5-040b-106e-42c7-49026f2b5bc1"
    assert message.recipient == "+14155551234"
    assert message.segments == 1
    assert message.sender_id == "MyApp"
    assert message.status_code == "000"
    assert message.cost == 0.0085
    assert message.created_at == dt.datetime(2026, 2, 13, 10, 30, 0, tzinfo=UTC)
    assert message.delivered_at == dt.datetime(2026, 2, 13, 10, 30, 4, tzinfo=UTC)
    assert normalise(parsed.to_dict()) == normalise(body)

    assert loopback.last.method == "GET"
    assert loopback.last.path == f"/api/v1/sms/status/{message_id}"
    assert_authenticated("telecom23", loopback)


def _check_namirial_message(details: Any) -> None:
    from sms_status_namirial.models import Channel, MessageStatus

    assert details.id == "011d9d6e-b5b9-4cb9-be13-2bc336a923ce"
    assert details.status is MessageStatus.DELIVERED
    assert details.channel is Channel.SMS
    assert details.provider_acceptance_at == dt.datetime(2026, 2, 4, 6, 54, 35, tzinfo=UTC)
    assert details.status_changed_at == dt.datetime(2026, 2, 4, 6, 54, 55, tzinfo=UTC)
    assert (details.reference.service, details.reference.action, details.reference.key) == (
        "DIGITALSIGN",
        "AUTH",
        "EXT_KEY",
    )
    assert details.provider.name == "PROVIDER1"
    assert details.provider.status == "delivered"
    assert details.provider.code == "0"
    assert details.sms.segments == 1


def test_namirial_parses_all_three_endpoints(loopback: Loopback) -> None:
    from sms_status_namirial.api.status import (
        get_message_status,
        get_message_status_by_phone_number,
        get_message_status_by_reference,
    )
    from sms_status_namirial.models import MessageListResponse, MessageStatusResponse

    by_id = example("namirial", "/api/messagestatus/{messageid}", "delivered")
    by_phone = example("namirial", "/api/messagestatus/phonenumber/{phonenumber}", "delivered")
    by_ref = example("namirial", "/api/messagestatus/reference/{referencekey}", "delivered")
    message_id = by_id["message"]["id"]
    loopback.serve(f"/api/messagestatus/{message_id}", json.dumps(by_id).encode())
    # `+` is percent-encoded in a path segment by the generated client.
    loopback.serve("/api/messagestatus/phonenumber/%2B1234567890", json.dumps(by_phone).encode())
    loopback.serve("/api/messagestatus/reference/EXT_KEY", json.dumps(by_ref).encode())

    with client_for("namirial", loopback.base_url) as client:
        one = get_message_status.sync_detailed(message_id, client=client)
        assert loopback.last.path == f"/api/messagestatus/{message_id}"
        assert_authenticated("namirial", loopback)

        phone = get_message_status_by_phone_number.sync_detailed("+1234567890", client=client)
        assert loopback.last.path == "/api/messagestatus/phonenumber/%2B1234567890"
        assert loopback.last.query == {"count": ["50"]}  # the documented default is always sent
        assert_authenticated("namirial", loopback)

        ref = get_message_status_by_reference.sync_detailed(
            "EXT_KEY",
            client=client,
            count=1,
            send_date=dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
        )
        assert loopback.last.path == "/api/messagestatus/reference/EXT_KEY"
        assert loopback.last.query["count"] == ["1"]
        assert dt.datetime.fromisoformat(loopback.last.query["sendDate"][0]) == dt.datetime(
            2026, 12, 31, 23, 59, 59, tzinfo=UTC
        )
        assert_authenticated("namirial", loopback)

    assert one.status_code == 200
    assert isinstance(one.parsed, MessageStatusResponse)
    _check_namirial_message(one.parsed.message)
    assert normalise(one.parsed.to_dict()) == normalise(by_id)
    for response, body in ((phone, by_phone), (ref, by_ref)):
        assert response.status_code == 200
        assert isinstance(response.parsed, MessageListResponse)
        assert len(response.parsed.messages) == 1
        _check_namirial_message(response.parsed.messages[0].message)
        assert normalise(response.parsed.to_dict()) == normalise(body)


def test_namirial_parses_the_empty_list(loopback: Loopback) -> None:
    from sms_status_namirial.api.status import get_message_status_by_phone_number
    from sms_status_namirial.models import MessageListResponse

    body = example("namirial", "/api/messagestatus/phonenumber/{phonenumber}", "empty")
    loopback.serve("/api/messagestatus/phonenumber/%2B1234567890", json.dumps(body).encode())
    with client_for("namirial", loopback.base_url) as client:
        response = get_message_status_by_phone_number.sync_detailed("+1234567890", client=client)
    assert isinstance(response.parsed, MessageListResponse)
    assert response.parsed.messages == []


def test_roycetalk_parses_the_docs_example(loopback: Loopback) -> None:
    from sms_status_roycetalk.api.status import get_message_status
    from sms_status_roycetalk.models import MessageStatus, MessageStatusResponse

    body = example("roycetalk", "/api/v1/sms-api/messages/{message_id}/", "delivered")
    message_id = body["data"]["id"]
    path = f"/api/v1/sms-api/messages/{message_id}/"
    loopback.serve(path, json.dumps(body).encode())

    with client_for("roycetalk", loopback.base_url) as client:
        response = get_message_status.sync_detailed(message_id, client=client)

    assert response.status_code == 200
    parsed = response.parsed
    assert isinstance(parsed, MessageStatusResponse)
    assert parsed.success is True
    data = parsed.data
    assert data.id == "f2672215-c20b-452a-9b6b-1ba51884c55e"
    assert data.status is MessageStatus.DELIVERED
    assert data.status_display == "Delivered"
    assert data.recipient_phone == "+254712345678"
    assert data.sms_units_consumed == 1
    assert data.created_at == dt.datetime(2025, 11, 28, 13, 49, 13, 265444, tzinfo=UTC)
    assert data.delivered_at == dt.datetime(2025, 11, 28, 13, 49, 20, 789012, tzinfo=UTC)
    assert data.provider_message_id == "8290842"
    assert data.metadata.client_ref == "order-12345"
    assert parsed.meta.api_version == "v1"
    assert parsed.errors == []
    assert normalise(parsed.to_dict()) == normalise(body)

    assert loopback.last.path == path  # the trailing slash is part of the documented path
    assert_authenticated("roycetalk", loopback)


def test_lisoloo_parses_the_docs_example(loopback: Loopback) -> None:
    from sms_status_lisoloo.api.status import get_message_status
    from sms_status_lisoloo.models import MessageStatus, MessageStatusResponse

    body = example("lisoloo", "/api/v1/lisoloo/sms-api/status/{message_id}", "delivered")
    message_id = body["data"]["message_id"]
    path = f"/api/v1/lisoloo/sms-api/status/{message_id}"
    loopback.serve(path, json.dumps(body).encode())

    with client_for("lisoloo", loopback.base_url) as client:
        response = get_message_status.sync_detailed(message_id, client=client)

    assert response.status_code == 200
    parsed = response.parsed
    assert isinstance(parsed, MessageStatusResponse)
    assert parsed.status_code == 200
    data = parsed.data
    assert data.message_id == "507f1f77bcf86cd799439011"
    assert data.status is MessageStatus.DELIVERED
    assert (data.total_recipients, data.delivered, data.failed, data.pending) == (1, 1, 0, 0)
    assert data.created_at == dt.datetime(2026, 5, 27, 10, 15, 0, tzinfo=UTC)
    assert data.updated_at == dt.datetime(2026, 5, 27, 10, 15, 8, tzinfo=UTC)
    assert normalise(parsed.to_dict()) == normalise(body)

    assert loopback.last.path == path
    assert_authenticated("lisoloo", loopback)


def test_seven_parses_the_list_and_the_bare_object(loopback: Loopback) -> None:
    from sms_status_seven.api.status import get_status
    from sms_status_seven.models import DeliveryStatus, StatusReport

    listed = example("seven", "/api/status", "list")
    single = example("seven", "/api/status", "single")

    with client_for("seven", loopback.base_url) as client:
        loopback.serve("/api/status", json.dumps(listed).encode())
        many = get_status.sync_detailed(client=client, msg_id="77232007287,77232007195")
        assert loopback.last.path == "/api/status"
        assert loopback.last.query == {"msg_id": ["77232007287,77232007195"]}
        assert_authenticated("seven", loopback)

        loopback.serve("/api/status", json.dumps(single).encode())
        one = get_status.sync_detailed(client=client, msg_id="77232007287")
        assert loopback.last.query == {"msg_id": ["77232007287"]}
        assert_authenticated("seven", loopback)

    assert many.status_code == 200
    assert isinstance(many.parsed, list)
    assert [type(r) for r in many.parsed] == [StatusReport, StatusReport]
    assert [(r.id, r.status, r.status_time) for r in many.parsed] == [
        ("77232007287", DeliveryStatus.DELIVERED, "2024-02-16 15:43:16.905"),
        ("77232007195", DeliveryStatus.DELIVERED, "2024-02-16 15:42:19.989"),
    ]
    assert [r.to_dict() for r in many.parsed] == listed

    assert one.status_code == 200
    assert isinstance(one.parsed, StatusReport)
    assert one.parsed.status is DeliveryStatus.DELIVERED
    assert one.parsed.to_dict() == single


def test_seven_passes_a_numeric_error_code_in_a_200_through(loopback: Loopback) -> None:
    from sms_status_seven.api.status import get_status

    loopback.serve(
        "/api/status", json.dumps(example("seven", "/api/status", "invalidApiKey")).encode()
    )
    with client_for("seven", loopback.base_url) as client:
        response = get_status.sync_detailed(client=client, msg_id="77232007287")
    assert response.status_code == 200
    assert response.parsed == 900


def test_base_url_may_carry_a_proxy_prefix(loopback: Loopback) -> None:
    from sms_status_telecom23.api.status import get_message_status

    body = example("telecom23", "/api/v1/sms/status/{message_id}", "delivered")
    loopback.serve("/proxy/api/v1/sms/status/abc", json.dumps(body).encode())
    with client_for("telecom23", f"{loopback.base_url}/proxy") as client:
        response = get_message_status.sync_detailed("abc", client=client)
    assert response.status_code == 200
    assert loopback.last.path == "/proxy/api/v1/sms/status/abc"


# --- generator customisations (generator/README.md) ------------------------------------------

def _generated_enums() -> list[tuple[str, str]]:
    """Every enum of every generated client's models (a listed few missed a new one)."""
    import enum

    found = []
    for provider in PROVIDERS:
        models = importlib.import_module(f"sms_status_{provider}.models")
        for name in models.__all__:
            value = getattr(models, name)
            if isinstance(value, type) and issubclass(value, enum.Enum):
                found.append((provider, name))
    return found


GENERATED_ENUMS = _generated_enums()


def test_the_status_enums_are_among_the_generated_ones() -> None:
    assert {
        ("telecom23", "MessageStatus"),
        ("namirial", "MessageStatus"),
        ("namirial", "Channel"),
        ("roycetalk", "MessageStatus"),
        ("lisoloo", "MessageStatus"),
        ("seven", "DeliveryStatus"),
    } <= set(GENERATED_ENUMS)


@pytest.mark.parametrize(
    ("provider", "enum_name"), GENERATED_ENUMS, ids=[f"{p}-{e}" for p, e in GENERATED_ENUMS]
)
def test_an_unknown_enum_value_becomes_unrecognized(provider: str, enum_name: str) -> None:
    enum = getattr(importlib.import_module(f"sms_status_{provider}.models"), enum_name)
    new: object = 987654 if issubclass(enum, int) else "SOMETHING_NEW"
    member = enum(new)  # no ValueError
    assert isinstance(member, enum)
    assert member.name == "UNRECOGNIZED"
    assert member.value == new
    assert str(member) == str(new)
    assert member == new
    assert member not in list(enum)
    # Documented values still resolve to their real members.
    for known in enum:
        assert enum(known.value) is known
        assert known.name != "UNRECOGNIZED"


def test_an_unknown_status_on_the_wire_does_not_raise(loopback: Loopback) -> None:
    from sms_status_telecom23.api.status import get_message_status
    from sms_status_telecom23.models import MessageStatus, StatusResponse

    body = example("telecom23", "/api/v1/sms/status/{message_id}", "delivered")
    body["message"]["status"] = "SCHEDULED"  # a state the spec does not list
    loopback.serve("/api/v1/sms/status/x", json.dumps(body).encode())
    with client_for("telecom23", loopback.base_url) as client:
        response = get_message_status.sync_detailed("x", client=client)
    assert isinstance(response.parsed, StatusResponse)
    status = response.parsed.message.status
    assert isinstance(status, MessageStatus)
    assert (status.name, status.value) == ("UNRECOGNIZED", "SCHEDULED")
    assert response.parsed.to_dict()["message"]["status"] == "SCHEDULED"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_repr_never_shows_the_token(provider: str) -> None:
    client = client_for(provider, "http://127.0.0.1:9")
    assert TOKEN not in repr(client)
    client.get_httpx_client()  # writes the auth header into the client's headers
    client.get_async_httpx_client()
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
    assert TOKEN not in repr(client.with_headers({"X-Extra": "1"}))
    assert TOKEN not in repr(client.with_timeout(httpx.Timeout(5.0)))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unset_stays_the_one_unset_across_pickling_and_copies(provider: str) -> None:
    # A report's `raw` crossing a process pool came back with a copy of UNSET: `is UNSET`,
    # as the generated models' users test for an absent field, was False.
    import copy
    import pickle

    types = importlib.import_module(f"sms_status_{provider}.types")
    assert pickle.loads(pickle.dumps(types.UNSET)) is types.UNSET
    assert copy.deepcopy([types.UNSET])[0] is types.UNSET


@cache
def root_pins() -> dict[str, str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras: dict[str, list[str]] = pyproject["project"]["optional-dependencies"]
    pins = {}
    for key in PROVIDERS:
        # The extra pins its client exactly (and also brings the sandbox's dependencies).
        [requirement] = [r for r in extras[key] if r.startswith(f"sms-status-{key}")]
        name, _, version = requirement.partition("==")
        assert name == f"sms-status-{key}", requirement
        pins[key] = version
    return pins


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_generated_distribution_layout(provider: str) -> None:
    dist = ROOT / "generated" / provider
    package = dist / f"sms_status_{provider}"
    assert (package / "py.typed").is_file()

    pyproject = tomllib.loads((dist / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == f"sms-status-{provider}"
    assert pyproject["project"]["version"] == root_pins()[provider]
    assert pyproject["tool"]["uv"]["build-backend"]["module-name"] == f"sms_status_{provider}"

    provenance = json.loads((dist / "PROVENANCE.json").read_text())
    assert provenance["spec"] == f"specs/{provider}.yaml"
    assert provenance["spec_sha256"] == _sha256(ROOT / "specs" / f"{provider}.yaml")
    generator = ROOT / "generator"
    assert provenance["config_sha256"] == {
        name: _sha256(generator / name) for name in ("common.yaml", f"{provider}.yaml")
    }
    templates = generator / "templates"
    assert provenance["templates_sha256"] == {
        p.relative_to(templates).as_posix(): _sha256(p) for p in sorted(templates.rglob("*.jinja"))
    }
    assert provenance["generator"].startswith("openapi-python-client ")

    # The tests above exercise the committed code, not some other installed copy.
    module = importlib.import_module(f"sms_status_{provider}")
    assert Path(module.__file__ or "").resolve().is_relative_to(package.resolve())
