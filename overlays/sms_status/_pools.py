"""The async client's connection pools: several small httpx pools instead of one large one.

httpcore walks its whole pool on every request, so one pool of 16 connections costs far more
CPU than four pools of four (benchmarks/: ~2x the bulk throughput). Bulk lookups are spread
over ceil(concurrency / 4) httpx clients, taking turns (`_drivers.AsyncDriver`), `client.api`'s
client first. Every request is built by `api`'s client (base URL, headers, key, timeouts):
the others only lend their connections, so there is one configuration, not copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from sms_status._transports import default_ssl_context, never_cookies, no_cookies

CONNECTIONS_PER_POOL = 4
"""Connections per httpx client in the async client's pool of clients."""


def pools(
    api_client: httpx.AsyncClient,
    concurrency: int,
    *,
    transport: httpx.AsyncBaseTransport | None,
    connection: Mapping[str, Any],
) -> list[httpx.AsyncClient]:
    """`api_client`, then the clients that lend it their connections: enough pools of
    `CONNECTIONS_PER_POOL` for `concurrency` requests in flight. `transport` and `connection`
    (proxy=, verify=) are the ones `api_client` was made with."""
    count = -(-concurrency // CONNECTIONS_PER_POOL)
    # The default CAs as `api_client` has them: loaded once per process, not once per pool.
    options = {**connection, "verify": connection.get("verify", True)}
    if options["verify"] is True and count > 1:
        options["verify"] = default_ssl_context()
    lenders = [
        httpx.AsyncClient(
            transport=transport,
            limits=httpx.Limits(max_connections=CONNECTIONS_PER_POOL),
            cookies=no_cookies(),
            **options,
        )
        for _ in range(count - 1)
    ]
    for lender in lenders:
        never_cookies(lender, no_cookies())
    return [api_client, *lenders]
