"""The skeleton `nox -s new_provider` writes for a new provider: one template per file,
formatted with `key`, `name` and `cls` (scripts/new_provider.py fills them in). Every fact
in them is invented and marked SKELETON; docs/adding-a-provider.md says what replaces it.
"""

SPEC = """\
openapi: 3.1.0
info:
  title: {name} — message status
  version: "1"
  description: |
    SKELETON written by `nox -s new_provider`: replace every fact here (paths, auth, statuses,
    fields, errors, examples) with what {name}'s public documentation says, cite its pages
    in `info.contact.url`, then `nox -s generate`. docs/adding-a-provider.md walks through it.
  contact:
    name: {name} docs
    url: https://{key}.invalid/docs
  license:
    name: Description written by sms-status from the provider's public docs (MIT)
    identifier: MIT
servers:
  - url: https://api.{key}.invalid
security:
  - ApiKeyAuth: []
tags:
  - name: status
    description: Delivery status of sent messages.
paths:
  /v1/messages/{{message_id}}/status:
    get:
      tags: [status]
      operationId: getMessageStatus
      summary: Get message status
      description: The current delivery status of one message.
      parameters:
        - name: message_id
          in: path
          required: true
          description: The id returned when the message was sent.
          schema:
            type: string
          example: msg-0001
      responses:
        "200":
          description: The message and its current status.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/MessageStatusResponse"
              examples:
                delivered:
                  summary: A delivered message
                  value:
                    id: msg-0001
                    status: delivered
                    updated_at: "2026-02-13T10:30:00Z"
        "401":
          description: Missing or invalid API key.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Error"
              examples:
                unauthorized:
                  summary: A wrong key
                  value:
                    code: UNAUTHORIZED
                    message: Invalid API key
        "404":
          description: No message with this id.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Error"
              examples:
                not_found:
                  summary: An unknown id
                  value:
                    code: NOT_FOUND
                    message: Message not found
components:
  securitySchemes:
    ApiKeyAuth:
      type: apiKey
      in: header
      name: X-Api-Key
      description: The account's API key.
  schemas:
    MessageStatus:
      type: string
      description: Delivery status of a message.
      enum: [queued, sent, delivered, failed]
      x-finality:
        queued: not final
        sent: not final
        delivered: final
        failed: final
    MessageStatusResponse:
      type: object
      required: [id, status]
      properties:
        id:
          type: string
          description: The message id.
        status:
          $ref: "#/components/schemas/MessageStatus"
        updated_at:
          type: string
          format: date-time
          description: When the status last changed.
    Error:
      type: object
      required: [code, message]
      properties:
        code:
          type: string
          description: Machine-readable error code.
        message:
          type: string
          description: Human-readable explanation.
"""

GENERATOR = """\
# openapi-python-client settings for {key} (shared ones: generator/common.yaml).
project_name_override: sms-status-{key}
package_name_override: sms_status_{key}
# This distribution's version: per-distribution (docs/versioning.md); change it with
# `nox -s bump -- {key} <major|minor|patch>`, which also moves the pin and uv.lock.
package_version_override: "0.1.0"
"""

OVERLAY = '''\
"""{name} (`{key}`): GET /v1/messages/{{message_id}}/status.

SKELETON written by `nox -s new_provider`: replace its facts with the provider's (cite the
public pages here), keeping STATUSES equal to the spec's enum and x-finality.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sms_status import _fields as f
from sms_status._provider import Cadence, Provider, endpoint_request, header_key
from sms_status._pushed import (
    Pushed,
    PushedRequest,
    Webhook,
    event_id_of,
    fresh,
    hmac_sha256_hex,
    matches,
)
from sms_status.errors import MissingProviderError, WebhookSignatureError
from sms_status.report import DeliveryState as S
from sms_status.report import StatusReport

try:
    from sms_status_{key} import AuthenticatedClient
    from sms_status_{key}.api.status import get_message_status
    from sms_status_{key}.models import MessageStatusResponse
except ModuleNotFoundError as exc:  # pragma: no cover - exercised by the packaging test
    raise MissingProviderError("{key}") from exc

KEY = "{key}"
soft = f.Secondary(KEY)

STATUSES = {{
    "queued": (S.PENDING, False),
    "sent": (S.SENT, False),
    "delivered": (S.DELIVERED, True),
    "failed": (S.FAILED, True),
}}

SPEC_PARAMETERS = {{
    "getMessageStatus.message_id": "exposed: get_status(message_id)",
}}
"""Every parameter of specs/{key}.yaml: how the overlay exposes it, or why it does not."""


class {cls}ErrorCode(StrEnum):
    """The error codes of the spec's `Error.code`."""

    UNAUTHORIZED = "UNAUTHORIZED"
    NOT_FOUND = "NOT_FOUND"


def error_code(body: object) -> str | None:
    return f.error_code_in(f.json_object(body).get("code"))


def error_message(body: object) -> str | None:
    message = f.json_object(body).get("message")
    return message if isinstance(message, str) and message else None


def read_status(message_id: str, body: object) -> StatusReport:
    raw = MessageStatusResponse.from_dict(f.as_dict(body, "body"))
    provider_status = f.required_str(raw.status, "status")
    updated_at = soft.timestamp(raw.updated_at, "updated_at")
    return PROVIDER.report(
        message_id,
        provider_status,
        raw,
        delivered_at=updated_at if provider_status == "delivered" else None,
        updated_at=updated_at,
    )


def verify_webhook(request: PushedRequest) -> str:
    """SKELETON: `X-Webhook-Signature` = hex HMAC-SHA256(secret,
    "{{X-Webhook-Timestamp}}.{{body}}"). Replace with the provider's documented scheme,
    cited (an unsigned provider: `unsigned` from sms_status._pushed, and
    webhooks="unsigned" in its registry entry)."""
    signature = request.headers.get("x-webhook-signature")
    if signature is None:
        raise WebhookSignatureError("the X-Webhook-Signature header is missing", provider=KEY)
    timestamp = request.headers.get("x-webhook-timestamp")
    fresh(request, timestamp)
    assert timestamp is not None
    assert request.secret is not None
    expected = hmac_sha256_hex(request.secret, timestamp.encode() + b"." + request.body)
    if not matches(expected, signature.strip().lower()):
        raise WebhookSignatureError("the signature does not match", provider=KEY)
    return f"{{timestamp}}:{{signature.strip().lower()}}"


def read_webhook(body: dict[str, Any]) -> Pushed:
    """SKELETON: the pushed body is the status object itself, read by `read_status` (so its
    secondary fields read as polling reads them)."""
    report = read_status(f.required_str(body.get("id"), "id"), body)
    return Pushed(report=report, event_id=event_id_of(report, report.updated_at), kind="status")


PROVIDER = Provider(
    key=KEY,
    origin="https://api.{key}.invalid",
    credentials=header_key("X-Api-Key"),
    client_class=AuthenticatedClient,
    status_request=endpoint_request(get_message_status),
    read_status=read_status,
    statuses=STATUSES,
    error_codes={cls}ErrorCode,
    error_code_from_body=error_code,
    error_message_from_body=error_message,
    # SKELETON: the provider's documented polling advice, cited.
    cadence=Cadence(intervals=(5.0, 10.0, 30.0), default_timeout=300.0, source="skeleton"),
    webhook=Webhook(verify=verify_webhook, read=read_webhook),
)
'''

SANDBOX = '''\
"""{name} sandbox (specs/{key}.yaml).

Routes: ``status`` ``GET /v1/messages/{{message_id}}/status``. Auth: ``X-Api-Key``; missing or
wrong -> 401 ``{{"code": "UNAUTHORIZED", ...}}``; unknown id -> 404 ``{{"code": "NOT_FOUND"}}``.
SKELETON written by `nox -s new_provider`: serve exactly what the spec says.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final

from sms_status.testing._base import (
    Ctx,
    Example,
    FakeWebhook,
    MessageView,
    ProviderDef,
    Reply,
    RetryPolicy,
    RouteDef,
    apply_fields,
    dump_json,
    iso_z,
)

KEY: Final = "{key}"
DEFAULT_STATUSES: Final = ("queued", "sent", "delivered")
TIME_FIELDS: Final = ("updated_at",)
ERROR_CODES: Final[Mapping[int, str]] = {{401: "UNAUTHORIZED", 404: "NOT_FOUND"}}


def error(ctx: Ctx, status: int, code: str | None) -> Reply:
    code = code or ERROR_CODES.get(status, f"HTTP_{{status}}")
    return Reply.json({{"code": code, "message": f"Error {{status}}"}}, status)


def present_key(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-api-key")


def auth_error(ctx: Ctx, presented: str | None) -> Reply:
    return Reply.json({{"code": "UNAUTHORIZED", "message": "Invalid API key"}}, 401)


def rate_limited(ctx: Ctx, retry_after: str | None) -> Reply:
    return error(ctx, 429, None)


def render(view: MessageView) -> dict[str, Any]:
    body = {{"id": view.id, "status": view.status, "updated_at": iso_z(view.changed_at)}}
    return apply_fields(body, view.fields, times=TIME_FIELDS, fmt=iso_z)


def get_status(ctx: Ctx) -> Reply:
    view = ctx.lookup(ctx.params["message_id"])
    if view is None:
        return Reply.json({{"code": "NOT_FOUND", "message": "Message not found"}}, 404)
    if view.verbatim is not None:
        return Reply.json(view.verbatim)
    return Reply.json(render(view))


def render_webhook(view: MessageView) -> list[tuple[str, bytes]]:
    """SKELETON: the status object, once per change."""
    return [("status", dump_json(render(view)))]


def sign_webhook(secret: str | None, url: str, body: bytes, now: float) -> dict[str, str]:
    """SKELETON: hex HMAC-SHA256(secret, "{{timestamp}}.{{body}}"), as the overlay verifies it."""
    if secret is None:
        return {{}}
    timestamp = str(int(now))
    mac = hmac.new(secret.encode(), f"{{timestamp}}.".encode() + body, hashlib.sha256)
    return {{"X-Webhook-Timestamp": timestamp, "X-Webhook-Signature": mac.hexdigest()}}


WEBHOOK: Final = FakeWebhook(
    render=render_webhook,
    sign=sign_webhook,
    retry=RetryPolicy(3, (10.0, 60.0)),  # SKELETON: the provider's documented retries
)

EXAMPLES: Final = (
    Example(
        id="msg-0001",
        status="delivered",
        body={{"id": "msg-0001", "status": "delivered", "updated_at": "2026-02-13T10:30:00Z"}},
    ),
)

PROVIDER: Final = ProviderDef(
    key=KEY,
    routes=(RouteDef("status", "/v1/messages/{{message_id}}/status", get_status),),
    default_statuses=DEFAULT_STATUSES,
    present_key=present_key,
    auth_error=auth_error,
    error=error,
    rate_limited=rate_limited,
    unknown_path=lambda ctx: Reply.json({{"code": "NOT_FOUND", "message": "Not found"}}, 404),
    examples=EXAMPLES,
    secret_headers=frozenset({{"x-api-key"}}),
    webhook=WEBHOOK,
)
'''

FIXTURE = '''

@pytest.fixture
def {key}_sandbox(
    request: pytest.FixtureRequest, _sms_sandbox_servers: _Servers, sandbox_clock: FakeClock
) -> Iterator[Sandbox]:
    """A started {name} sandbox (``X-Api-Key: sandbox.api_key``)."""
    yield from _sandbox("{key}", request, _sms_sandbox_servers, sandbox_clock)
'''

CLIENT_FIXTURE = '''

@pytest.fixture
def {key}_client({key}_sandbox: Sandbox) -> Iterator[StatusClient]:
    """A blocking client of ``{key}_sandbox``, on the sandbox clock."""
    yield from _client({key}_sandbox)
'''

INTEGRATION = '''\
"""{key} over its sandbox: the documented path, the key header, the error bodies.

SKELETON written by `nox -s new_provider`: extend with the provider's own quirks.
"""

from __future__ import annotations

import pytest
import sms_status
from sms_status import DeliveryState
from sms_status.errors import AuthenticationError, NotFoundError


def test_a_message_is_read_over_the_documented_path({key}_sandbox, connect):
    {key}_sandbox.add_message("m-1", statuses=("queued", "delivered"))
    with connect({key}_sandbox) as client:
        report = client.get_status("m-1")
    assert report.provider_status == "queued"
    assert report.state is DeliveryState.PENDING
    assert not report.is_final
    (request,) = {key}_sandbox.requests
    assert request.raw_path == "/v1/messages/m-1/status"


def test_a_wrong_key_is_an_authentication_error({key}_sandbox):
    client = sms_status.connect("{key}", api_key="nope", base_url={key}_sandbox.base_url)
    with client, pytest.raises(AuthenticationError) as caught:
        client.get_status("m-1")
    assert caught.value.status_code == 401
    assert caught.value.error_code == "UNAUTHORIZED"


def test_an_unknown_id_is_not_found({key}_sandbox, connect):
    with connect({key}_sandbox) as client, pytest.raises(NotFoundError) as caught:
        client.get_status("nope")
    assert caught.value.error_code == "NOT_FOUND"


def test_its_signed_webhooks_parse_and_agree_with_polling({key}_sandbox, sandbox_webhooks, connect):
    {key}_sandbox.add_message("m-2", statuses=("queued", "delivered"), advance=5)
    queued, delivered = sandbox_webhooks({key}_sandbox, 2, secret="whsec_skeleton")
    assert [queued.report.provider_status, delivered.report.provider_status] == [
        "queued",
        "delivered",
    ]
    with connect({key}_sandbox) as client:
        polled = client.get_status("m-2")
    assert delivered.report.state is polled.state is DeliveryState.DELIVERED
    assert delivered.report.updated_at == polled.updated_at
'''
