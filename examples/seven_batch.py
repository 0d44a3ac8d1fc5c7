"""seven.io: many ids in batched requests (up to 100 per request), printed as JSON lines."""

from __future__ import annotations

import asyncio
import json

import sms_status

MESSAGE_IDS = ["77232007287", "77232007195", "77232000000"]


async def main() -> None:
    # The batched status endpoint is deprecated: lookup="status" keeps it while it answers
    # (the client moves to the logbook by itself when it is switched off).
    async with sms_status.connect_async("seven", lookup="status") as client:
        reports = await client.get_statuses(MESSAGE_IDS)
    for report in reports:
        print(json.dumps(report.to_dict()))


if __name__ == "__main__":
    asyncio.run(main())
