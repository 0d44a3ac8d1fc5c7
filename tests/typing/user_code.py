"""User-style code against the public API; `assert_type` pins every public return type."""

# pyright: reportUnnecessaryTypeIgnoreComment=error

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from decimal import Decimal
from typing import assert_type

import httpx
import sms_status
import sms_status_namirial
import sms_status_seven
import sms_status_telecom23
from sms_status import DeliveryState, RecipientCounts, StatusReport
from sms_status.errors import (
    ApiError,
    AuthenticationError,
    MalformedResponseError,
    MissingProviderError,
    NotFoundError,
    RateLimitError,
    SmsStatusError,
    TransportError,
)
from sms_status.providers.lisoloo import LisolooErrorCode
from sms_status.providers.seven import SevenErrorCode
from sms_status.providers.telecom23 import Telecom23ErrorCode
from sms_status_telecom23.types import Unset


def check_one(api_key: str) -> str:
    with sms_status.connect("telecom23", api_key=api_key, timeout=5.0, max_retries=1) as client:
        assert_type(client, sms_status.StatusClient[sms_status_telecom23.AuthenticatedClient])
        try:
            report = client.get_status("api_42_1743667200123456789_a3f8b2c1d9e45f67")
        except AuthenticationError as err:
            if err.error_code == Telecom23ErrorCode.INVALID_API_KEY:
                return "rotate the key"
            raise
        except RateLimitError as err:
            assert_type(err.retry_after, float | None)
            return "later"
        except NotFoundError:
            return "unknown message"
        except (MalformedResponseError, TransportError) as err:
            assert_type(err, MalformedResponseError | TransportError)
            return "try again"
        assert_type(report, StatusReport)
        assert_type(report.state, DeliveryState)
        assert_type(report.is_final, bool)
        assert_type(report.cost, Decimal | None)
        assert_type(report.delivered_at, datetime | None)
        assert_type(report.recipients, RecipientCounts | None)
        assert_type(report.error, SmsStatusError | None)
        assert_type(report.to_dict(), dict[str, object])
        match report.state:
            case DeliveryState.DELIVERED | DeliveryState.READ:
                return "arrived"
            case DeliveryState.UNRECOGNIZED:
                return f"new status {report.provider_status}"
            case _:
                return "final" if report.is_final else "in flight"


def error_fields(err: ApiError) -> tuple[int, str, str, bool, str]:
    return (err.status_code, err.error_code, err.provider, err.retryable, err.body_excerpt)


def codes_are_strings(err: ApiError) -> bool:
    return err.error_code in (LisolooErrorCode.RATE_LIMIT_EXCEEDED, SevenErrorCode.INVALID_API_KEY)


def poll(client: sms_status.StatusClient) -> StatusReport:
    def show(report: StatusReport) -> None:
        print(report.state)

    final = client.wait_for_final("m1", timeout=60.0, on_update=show)
    assert_type(final, StatusReport)
    many = client.get_statuses(["m1", "m2"])
    assert_type(many, list[StatusReport])
    return final


def history(api_key: str) -> list[str]:
    with sms_status.connect("namirial", api_key=api_key) as client:
        assert_type(client, sms_status.HistoryClient[sms_status_namirial.AuthenticatedClient])
        page = client.history_by_phone("+14155551234", count=100, before=None)
        assert_type(page, list[StatusReport])
        walk = client.iter_history_by_reference("order-42", page_size=50, limit=500)
        assert_type(walk, Iterator[StatusReport])
        return [r.message_id for r in walk] + [r.message_id for r in page]


async def bulk(api_key: str, ids: list[str]) -> int:
    async with sms_status.connect_async("seven", api_key=api_key, concurrency=8) as client:
        assert_type(client, sms_status.AsyncStatusClient[sms_status_seven.AuthenticatedClient])
        reports = await client.get_statuses(ids)
        assert_type(reports, list[StatusReport])
        one = await client.wait_for_final(ids[0])
        assert_type(one, StatusReport)
        return sum(r.is_delivered for r in reports)


async def async_history(api_key: str) -> int:
    async with sms_status.connect_async("namirial", api_key=api_key) as client:
        assert_type(client, sms_status.AsyncHistoryClient[sms_status_namirial.AuthenticatedClient])
        walk = client.iter_history_by_phone("+14155551234")
        assert_type(walk, AsyncIterator[StatusReport])
        return len([r async for r in walk])


def missing_extra() -> str:
    try:
        sms_status.connect("seven", api_key="k")
    except MissingProviderError as err:
        as_import_error: ImportError = err  # it is an ImportError too
        return f"{err.install_command} ({as_import_error.name})"
    return ""


def shared_limiter(api_key: str) -> None:
    limiter = sms_status.TokenBucket.for_limit(sms_status.RateLimit(requests=120, per=60.0))
    sync_client = sms_status.connect("lisoloo", api_key=api_key, rate_limiter=limiter)
    async_client = sms_status.connect_async("lisoloo", api_key=api_key, rate_limiter=limiter)
    sync_client.close()
    asyncio.run(async_client.aclose())
    booked: float | None = limiter.reserve_within(5.0)  # None: no slot within 5 s, none booked
    print(booked)


def typed_raw_fields(api_key: str) -> str | None:
    """Fields the unified report does not carry, typed from the generated models."""
    from sms_status_namirial.models import MessageDetails
    from sms_status_seven.models import JournalEntry
    from sms_status_telecom23.models import StatusResponse

    with sms_status.connect("namirial", api_key=api_key) as client:
        details = client.get_status("011d9d6e-b5b9-4cb9-be13-2bc336a923ce").raw_as(MessageDetails)
        assert_type(details, MessageDetails)
        assert_type(details.status_changed_at, datetime)
    with sms_status.connect("telecom23", api_key=api_key) as client:
        response = client.get_status("api_42_1").raw_as(StatusResponse)
        assert_type(response.message.sender_id, str | None | Unset)
    with sms_status.connect("seven", api_key=api_key, lookup="logbook") as client:
        entry = client.get_status("77232007287").raw_as(JournalEntry)
        mccmnc = entry.mccmnc
        return mccmnc if isinstance(mccmnc, str) else None


def client_options(api_key: str, mine: httpx.Client, mine_async: httpx.AsyncClient) -> None:
    with sms_status.connect(
        "telecom23", api_key=api_key, timeout=httpx.Timeout(5.0, connect=2.0), http_client=mine
    ) as client:
        quick = client.with_options(timeout=None, max_retries=0)
        assert_type(quick, sms_status.StatusClient[sms_status_telecom23.AuthenticatedClient])
        assert_type(quick.get_status("m1"), StatusReport)
    from_env = sms_status.connect("namirial", proxy="http://proxy.internal:3128", verify=False)
    assert_type(
        from_env.with_options(timeout=2.5),
        sms_status.HistoryClient[sms_status_namirial.AuthenticatedClient],
    )
    from_env.close()
    sms_status.connect_async("seven", api_key=api_key, http_client=mine_async, timeout=None)
    sms_status.connect("seven", api_key=api_key, http_client=mine_async)  # type: ignore[call-overload]
    sms_status.connect("seven", api_key=api_key, proxy=3128)  # type: ignore[call-overload]


def share_a_sync_clients_budget(api_key: str) -> float:
    # The README shares one client's limiter with another: typed as the sync/async union,
    # this failed type checking on correct code.
    first = sms_status.connect("lisoloo", api_key=api_key)
    with first, sms_status.connect("lisoloo", api_key=api_key, rate_limiter=first.rate_limiter):
        return first.rate_limiter.reserve()
