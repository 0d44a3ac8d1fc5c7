"""Clients of several providers together, as an app that polls more than one holds them.

Each of these once failed type checking: mypy joined two providers' clients to `object`
(`list[object]`, with no `close()`), and a tracker refused clients keyed by `ProviderKey`.
"""

# pyright: reportUnnecessaryTypeIgnoreComment=error

from __future__ import annotations

from typing import assert_type

import sms_status
from sms_status import AsyncStatusClient, ProviderKey, StatusClient, pacing, tracking
from sms_status.errors import MalformedResponseError


def close_every_client() -> None:
    clients = [sms_status.connect("telecom23"), sms_status.connect("seven")]
    for client in clients:
        client.close()


def poll_each(message_ids: dict[str, str]) -> None:
    by_key = {"namirial": sms_status.connect("namirial"), "lisoloo": sms_status.connect("lisoloo")}
    for key, client in by_key.items():
        print(client.get_status(message_ids[key]).state)
    with tracking.Tracker("deliveries.db", on_final=print, clients=by_key) as tracker:
        tracker.run()


def clients_keyed_by_provider_key() -> None:
    clients: dict[ProviderKey, StatusClient] = {"seven": sms_status.connect("seven")}
    with tracking.Tracker("deliveries.db", on_final=print, clients=clients) as tracker:
        tracker.run()


async def async_clients_keyed_by_provider_key() -> None:
    clients: dict[ProviderKey, AsyncStatusClient] = {"seven": sms_status.connect_async("seven")}
    async with tracking.AsyncTracker("deliveries.db", on_final=print, clients=clients) as t:
        await t.run()


async def close_every_async_client() -> None:
    for client in [sms_status.connect_async("telecom23"), sms_status.connect_async("namirial")]:
        await client.aclose()


def a_malformed_reply_always_has_its_status(client: StatusClient) -> bool:
    try:
        client.get_status("77232007287")
    except MalformedResponseError as exc:
        assert_type(exc.status_code, int)
        return exc.status_code >= 500
    return False


async def book_a_slot_on_either_kind_of_limiter(client: AsyncStatusClient) -> float:
    limiter = client.rate_limiter
    if pacing.is_async(limiter):
        return await limiter.reserve()
    return limiter.reserve()


def the_version() -> str:
    from sms_status import __version__

    return __version__


def connect_with(options: sms_status.ClientOptions) -> StatusClient:
    # The reference page's "import sms_status gives every name on this page": these two too.
    return sms_status.connect("telecom23", **options)


async def connect_async_with(options: sms_status.AsyncClientOptions) -> None:
    async with sms_status.connect_async("seven", **options) as client:
        await client.get_status("77232007287")
