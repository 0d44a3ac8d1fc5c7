"""namirial over its sandbox: history pages, the 100 cap, strict and inclusive "before"."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

PHONE = "+14155550123"


def seed_history(sandbox, count: int, per_second: int) -> list[str]:  # type: ignore[no-untyped-def]
    base = datetime(2026, 2, 4, 6, 0, tzinfo=UTC)
    ids = []
    for i in range(count):
        message_id = f"h-{i:04d}"
        sandbox.add_message(
            message_id,
            statuses=("DELIVERED",),
            phone=PHONE,
            reference_key="order-7",
            sent_at=(base + timedelta(seconds=i // per_second)).isoformat(),
        )
        ids.append(message_id)
    return ids[::-1]  # newest first


def test_count_above_100_is_capped_before_sending(namirial_sandbox, connect):
    seed_history(namirial_sandbox, 120, per_second=1)
    with connect(namirial_sandbox) as client:
        page = client.history_by_phone(PHONE, count=500)
    assert len(page) == 100
    (request,) = namirial_sandbox.requests
    assert request.query_params["count"] == ["100"]


def test_count_below_1_and_bad_numbers_never_reach_the_server(namirial_sandbox, connect):
    with connect(namirial_sandbox) as client:
        with pytest.raises(ValueError, match="at least 1"):
            client.history_by_phone(PHONE, count=0)
        with pytest.raises(ValueError, match=r"E\.164"):
            client.history_by_phone("0041 79 123")
    assert namirial_sandbox.requests == []


@pytest.mark.slow  # 5-6.5 s with page_size 7
@pytest.mark.parametrize("before", ["strict", "inclusive"])
@pytest.mark.parametrize("page_size", [100, 7])
def test_walking_all_history_yields_each_message_once_newest_first(
    request, sandbox_clock, page_size, before
):
    import sms_status
    from sms_status.testing import Sandbox

    with Sandbox("namirial", clock=sandbox_clock, history_before=before).serve() as sandbox:
        # Four messages per second: page edges fall inside a shared timestamp.
        expected = seed_history(sandbox, 250, per_second=4)
        client = sms_status.connect("namirial", api_key=sandbox.api_key, base_url=sandbox.base_url)
        with client:
            walked = [
                r.message_id for r in client.iter_history_by_phone(PHONE, page_size=page_size)
            ]
            limited = [r.message_id for r in client.iter_history_by_reference("order-7", limit=30)]
    assert sorted(walked) == sorted(expected)
    assert len(walked) == len(set(walked))
    assert limited == walked[:30]


def test_async_history_walk_matches_the_sync_one(namirial_sandbox, connect, connect_async):
    seed_history(namirial_sandbox, 60, per_second=3)
    with connect(namirial_sandbox) as client:
        sync_ids = [r.message_id for r in client.iter_history_by_phone(PHONE, page_size=9)]

    async def walk() -> list[str]:
        async with connect_async(namirial_sandbox) as client:
            return [r.message_id async for r in client.iter_history_by_phone(PHONE, page_size=9)]

    assert asyncio.run(walk()) == sync_ids
    assert len(sync_ids) == 60


def test_its_unsigned_webhook_reads_like_the_status_endpoint(namirial_sandbox, sandbox_webhooks):
    namirial_sandbox.add_message("0b9d6e00-0000-4000-8000-00000000000a", advance=5)
    sent, delivered = sandbox_webhooks(namirial_sandbox, 2)  # none for PROVIDER_ACCEPTANCE
    assert [sent.kind, delivered.kind] == ["STATUS_UPDATE", "STATUS_UPDATE"]
    assert [sent.report.provider_status, delivered.report.provider_status] == ["SENT", "DELIVERED"]
    assert delivered.report.is_final
