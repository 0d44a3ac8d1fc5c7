"""seven.io: many ids at once, printed as JSON lines.

seven deprecated its batched status endpoint (up to 100 ids a request, still the default, with
a DeprecationWarning); `lookup="logbook"` uses its successor, one id a request, `concurrency`
at once.
"""

from __future__ import annotations

import asyncio
import json

import sms_status

MESSAGE_IDS = ["77232007287", "77232007195", "77232000000"]


async def main() -> None:
    async with sms_status.connect_async("seven", lookup="logbook", concurrency=8) as client:
        reports = await client.get_statuses(MESSAGE_IDS)
    for report in reports:
        print(json.dumps(report.to_dict()))


if __name__ == "__main__":
    asyncio.run(main())
