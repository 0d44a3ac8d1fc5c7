"""RoyceTalk: poll one message until it is final (5, 10, 30, 60 s apart), printing each change."""

from __future__ import annotations

import sys

import sms_status
from sms_status import StatusReport

MESSAGE_ID = "f2672215-c20b-452a-9b6b-1ba51884c55e"


def main() -> int:
    def show(report: StatusReport) -> None:
        print(f"  now {report.state} ({report.provider_status})")

    with sms_status.connect("roycetalk") as client:
        report = client.wait_for_final(MESSAGE_ID, timeout=120, on_update=show)
    if not report.is_final:
        print(f"{MESSAGE_ID}: still {report.state} after 120 s")
        return 2
    print(f"{MESSAGE_ID}: {report.state}, delivered at {report.delivered_at}")
    return 0 if report.is_delivered else 1


if __name__ == "__main__":
    sys.exit(main())
