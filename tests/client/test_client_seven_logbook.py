"""seven on its logbook (one id a request): the async client looks ids up concurrently."""

from __future__ import annotations

import asyncio

import httpx
from client_support import connect_async, example, json_response

IDS = ["90000000001", "90000000002", "90000000003", "90000000004"]


def test_async_logbook_lookups_run_concurrently() -> None:
    template = example("seven", "200", "delivered", "/api/journal/outbound")[0]

    async def scenario() -> list[str]:
        in_flight = 0
        two_at_once = asyncio.Event()

        async def handler(request: httpx.Request) -> httpx.Response:
            nonlocal in_flight
            assert request.url.path == "/api/journal/outbound"
            in_flight += 1
            try:
                if in_flight >= 2:
                    two_at_once.set()
                # One request at a time waits here alone until the timeout fails its id.
                await asyncio.wait_for(two_at_once.wait(), timeout=10)
            finally:
                in_flight -= 1
            return json_response([{**template, "id": request.url.params["id"]}])

        async with connect_async(
            "seven", handler, lookup="logbook", concurrency=4, max_retries=0
        ) as client:
            reports = await client.get_statuses(IDS)
        assert all(r.error is None for r in reports), [r.error for r in reports]
        return [r.message_id for r in reports]

    assert asyncio.run(scenario()) == IDS
