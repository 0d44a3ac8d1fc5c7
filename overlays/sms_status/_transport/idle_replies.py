"""httpcore pools whose idle connections never hand a reply glued to the last answer to the
next request: the httpx senders' (`httpx.py`, `deadline_sockets.py`).

A server that sends a second reply in the same write as an answer (a stale or duplicated
one) leaves it in h11's buffer, which httpcore keeps for the connection's next request: that
request reads it as its answer, another message's status. httpcore checks an idle
connection's socket only (bytes arriving later); these pools check what was read already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import httpx

if TYPE_CHECKING:
    import httpcore

Pool = TypeVar("Pool", "httpcore.ConnectionPool", "httpcore.AsyncConnectionPool")


def checking_idle_replies(pool: Pool) -> Pool:
    """`pool`, whose idle HTTP/1.1 connections expire once their parser holds bytes that
    came after the last answer (another reply glued to it, in the same read).

    h11 keeps such bytes for the connection's next request, which reads them as its answer:
    another message's status. httpcore checks only its socket for bytes arriving while idle
    (as `base.readable` does); this checks what was read already. (On the pool itself: its
    connections are made by `create_connection`, one per origin, proxies included.)"""
    make = pool.create_connection
    if getattr(make, "checks_idle_replies", False):
        # Once per pool: a user's client shared by a client per job was wrapped again at
        # each connect(), until a request went through a thousand wrappers (RecursionError).
        return pool

    def create_connection(origin: httpcore.Origin) -> Any:
        return _IdleChecked(make(origin))

    create_connection.checks_idle_replies = True  # type: ignore[attr-defined]
    pool.create_connection = create_connection  # type: ignore[method-assign]
    return pool


def check_idle_replies(http: httpx.Client | httpx.AsyncClient) -> None:
    """`checking_idle_replies` on the pools of httpx's own transports in `http` (the default
    one, and the environment's proxies'); a transport of the user's is left as it is."""
    transports: list[object] = [getattr(http, "_transport", None)]
    transports += getattr(http, "_mounts", {}).values()
    for transport in transports:
        # httpx's own classes exactly: a subclass of the user's may pool otherwise.
        if type(transport) in (httpx.HTTPTransport, httpx.AsyncHTTPTransport):
            pool = getattr(transport, "_pool", None)
            if pool is not None:
                checking_idle_replies(pool)


class _IdleChecked:
    """An httpcore connection (sync or async), expired while idle with bytes past its last
    answer in its parser; everything else is the connection's own."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def has_expired(self) -> bool:
        connection = self._connection
        return bool(connection.has_expired() or (connection.is_idle() and _holds_more(connection)))

    def __repr__(self) -> str:
        return repr(self._connection)


def _holds_more(connection: object) -> bool:
    # Down the layers (a proxy's connection holds the origin's) to the HTTP/1.1 one, if any.
    while connection is not None:
        state = getattr(connection, "_h11_state", None)
        if state is not None:
            return bool(state.trailing_data[0])
        connection = getattr(connection, "_connection", None)
    return False
