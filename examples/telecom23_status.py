"""23 Telecom: look up one message; match errors on their code; log every retry."""

from __future__ import annotations

import sys

import sms_status
from sms_status.errors import AuthenticationError, NotFoundError, SmsStatusError
from sms_status.providers.telecom23 import Telecom23ErrorCode

MESSAGE_ID = "api_42_1743667200123456789_a3f8b2c1d9e45f67"
UNKNOWN_ID = "api_42_1743667200123456789_0000000000000000"


def describe(client: sms_status.StatusClient, message_id: str) -> str:
    try:
        report = client.get_status(message_id)
    except NotFoundError:
        return f"{message_id}: no such message on this account"
    except AuthenticationError as err:
        if err.error_code == Telecom23ErrorCode.API_KEY_EXPIRED:
            return "the API key has expired: rotate it"
        raise
    delivered = report.delivered_at.isoformat() if report.delivered_at else "not yet"
    return (
        f"{message_id}: {report.state} (final: {report.is_final}), "
        f"delivered {delivered}, cost {report.cost}"
    )


def log_retry(event: sms_status.RetryEvent) -> None:
    print(f"retry {event.attempt} in {event.delay:.1f} s after {event.error}", file=sys.stderr)


def main() -> int:
    with sms_status.connect("telecom23", on_retry=log_retry) as client:
        try:
            print(describe(client, MESSAGE_ID))
            print(describe(client, UNKNOWN_ID))
        except SmsStatusError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
