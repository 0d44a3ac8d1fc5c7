"""Namirial: every message sent to a phone number, and by reference key, newest first."""

from __future__ import annotations

import sms_status

PHONE = "+1234567890"
REFERENCE_KEY = "EXT_KEY"


def main() -> None:
    with sms_status.connect("namirial") as client:
        latest = client.history_by_phone(PHONE, count=10)
        print(f"latest {len(latest)} message(s) to {PHONE}:")
        for report in latest:
            print(
                f"  {report.message_id}  {report.state:<12} {report.channel}  {report.created_at}"
            )

        # Pages backwards by send date without gaps or duplicates; stops after `limit`.
        walked = list(client.iter_history_by_reference(REFERENCE_KEY, page_size=50, limit=500))
        delivered = sum(report.is_delivered for report in walked)
        print(f"reference {REFERENCE_KEY}: {len(walked)} message(s), {delivered} delivered")


if __name__ == "__main__":
    main()
