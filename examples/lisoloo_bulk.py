"""Lisoloo: many lookups under one shared budget of 120 requests a minute per key."""

from __future__ import annotations

import sms_status

MESSAGE_IDS = ["507f1f77bcf86cd799439011", "507f1f77bcf86cd799439099"]


def main() -> None:
    # One limiter for every client of this key (here, one sync and one async would share it).
    budget = sms_status.TokenBucket.for_limit(sms_status.RateLimit(requests=120, per=60.0))
    with sms_status.connect("lisoloo", rate_limiter=budget) as client:
        for report in client.get_statuses(MESSAGE_IDS):
            if report.error is not None:  # one unknown id never costs the others their result
                print(f"{report.message_id}: {type(report.error).__name__}")
            elif report.recipients is not None:
                counts = report.recipients
                print(
                    f"{report.message_id}: {report.state}, {counts.delivered}/{counts.total}"
                    f" delivered, {counts.failed} failed, {counts.pending} pending"
                )


if __name__ == "__main__":
    main()
