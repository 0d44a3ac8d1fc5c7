"""What `RedisStore` (`_redis`) keeps of a row, how a change moves the counters, and the
client it talks through."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, Final, cast

from sms_status._redis_kind import copied_client
from sms_status.tracking._model import Counts, Rest, Row
from sms_status.tracking._redis_scripts import SCHEMA_VERSION, STORE_VERSION
from sms_status.tracking._rules import EARLY_PUSH_TTL
from sms_status.tracking._store import ApplyEarly, Change

log = logging.getLogger("sms_status.tracking")

ATTEMPTS: Final = 3
"""Tries of one call when the connection fails (a restart, a failover), with a short pause;
a timeout (a server that stopped answering) is raised at once."""
STAGING_TTL: Final = 3600.0
"""Seconds a large `add_many`'s staged rows live in Redis if the process adding dies."""
PURGE_CHUNK: Final = 1_000
CACHE_LIMIT: Final = 5_000


def read_with_id(client: Any, prefix: str, read: Callable[[Any], object]) -> list[Any]:
    """The store's id, schema and writer, and what `read` asks of a pipeline, in one round
    trip (one slot: one node, in order): for `read_of`."""
    pipe = client.pipeline(transaction=False)
    pipe.hmget(prefix + "meta", "id", "schema", "written_by")
    read(pipe)
    return list(pipe.execute())


def read_of(answers: list[Any], store_id: str, where: str) -> Any:
    """What `read_with_id` read, if from the store this worker opened (StoreLostError) and
    one no newer tracker has raised the schema of since (StoreVersionError)."""
    (found, schema, written_by), value = answers
    if found is None or text(found) != store_id:
        raise store_lost(where)
    if schema is not None:
        check_schema(schema, written_by, name=where, reads=SCHEMA_VERSION)
    return value


# The fields of a row, in the order they are stored (a JSON list).
FIELDS: Final = (
    "provider",
    "message_id",
    "tag",
    "added_at",
    "deadline_at",
    "next_poll_at",
    "interval",
    "polls",
    "known",
    "report",
    "source",
    "state",
    "is_final",
    "updated_at",
    "settled_at",
    "reason",
    "delivery",
    "handover_at",
    "failures",
    "due_since",
)


def text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def encode(row: Row, version: int, write_id: str) -> str:
    values = [getattr(row, name) for name in FIELDS]
    return f"{version}:{write_id}:{json.dumps(values, separators=(',', ':'))}"


def decode(value: object) -> tuple[int, Row]:
    version, _, rest = text(value).partition(":")
    _, _, data = rest.partition(":")
    values = json.loads(data)
    if len(values) == len(FIELDS) - 2:  # written by schema 1: no `failures`, `due_since`
        values += [0, None]
    fields = dict(zip(FIELDS, values, strict=True))
    fields["known"] = bool(fields["known"])
    fields["is_final"] = bool(fields["is_final"])
    return int(version), Row(**fields)


def time_arg(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def counters(row: Row | None) -> Counter[str]:
    """The counters a row adds to: `counts()` sums them."""
    tags = Counter[str]()
    if row is None:
        return tags
    if row.next_poll_at is not None:
        tags["in_flight"] += 1
    if row.reason is not None:
        tags[f"s|{row.reason}|{row.state or 'unknown'}"] += 1
    if row.handover_at is not None:
        tags["awaiting"] += 1
    return tags


def delta(old: Row | None, new: Row) -> str:
    before, after = counters(old), counters(new)
    return ",".join(
        [f"+{t}" for t in (after - before).elements()]
        + [f"-{t}" for t in (before - after).elements()]
    )


def done_at(row: Row) -> str:
    return time_arg(row.settled_at) if row.settled and row.handover_at is None else ""


def valid_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    try:
        seconds = float(value)
    except OverflowError:  # an int no float holds: as bad as inf
        seconds = float("inf")
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{name} must be a finite number of seconds > 0")
    return seconds


def own_client(redis_client: Any, timeout: float) -> tuple[Any, bool]:
    """A client on the same server as `redis_client`, with socket timeouts (a hang becomes an
    error) and without redis-py's own retries (the store retries, knowing what is safe to
    send again). The caller's client is never changed. A client whose pool cannot be copied
    (a cluster client, say) is used as it is: it must not resend commands itself."""
    problem = _cluster_problem(redis_client)
    if problem is not None:
        raise ValueError(
            f"a RedisCluster client {problem}: build it with retry=Retry(NoBackoff(), 0) "
            "(redis-py 6 and later; before, cluster_error_retry_attempts=0) and a "
            "socket_timeout; the store retries what is safe to send again"
        )
    pool = getattr(redis_client, "connection_pool", None)
    kwargs: object = getattr(pool, "connection_kwargs", None)
    if not isinstance(kwargs, dict) or getattr(pool, "connection_class", None) is None:
        return redis_client, False
    own = copied_client(pool, timeout=timeout, at_most=False, resends=False, decode_responses=True)
    return own, True


def early_changes(
    early: list[Any], now: float, apply_early: ApplyEarly
) -> Iterator[tuple[str, Change]]:
    """The changes the early pushes a script returned (key, "<received at> <report>", ...)
    make to their rows: `apply_early`, or nothing for one kept past `EARLY_PUSH_TTL` (its
    key is dropped all the same)."""
    for i in range(0, len(early), 2):
        received_at, _, report = text(early[i + 1]).partition(" ")
        expired = float(received_at) + EARLY_PUSH_TTL < now
        yield text(early[i]), _early_change(apply_early, report, expired)


def _early_change(apply_early: ApplyEarly, report: str, expired: bool) -> Change:
    def change(row: Row) -> Row | None:
        return None if expired else apply_early(row, report)

    return change


def noting(key: str, change: Change, unchanged: set[str]) -> Change:
    """`change`, noting in `unchanged` whether its last call left `key`'s row as it was."""

    def apply(row: Row) -> Row | None:
        new = change(row)
        if new is None:
            unchanged.add(key)
        else:
            unchanged.discard(key)
        return new

    return apply


def new_token(store_id: str = "") -> str:
    """A worker token: the id of the store it works on (its scripts check it), then its own."""
    return f"{store_id}/{os.getpid()}-{secrets.token_hex(6)}"


def where(client: Any) -> str:
    found: object = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    if isinstance(found, dict):
        kwargs = cast(dict[str, Any], found)
        if kwargs.get("path"):
            return f"unix:{kwargs['path']}"
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
    nodes: object = getattr(getattr(client, "nodes_manager", None), "startup_nodes", None)
    if isinstance(nodes, dict) and nodes:  # a cluster client: the nodes it was given
        return "cluster " + ", ".join(sorted(cast(dict[str, object], nodes)))
    return type(client).__name__


def _cluster_problem(redis_client: Any) -> str | None:
    """What makes a cluster client, used as it is, unfit for the store, or None. redis-py 6
    and later count the resends in `retry`, 5 in `cluster_error_retry_attempts`."""
    if not hasattr(redis_client, "nodes_manager"):
        return None
    count_retries = getattr(getattr(redis_client, "retry", None), "get_retries", None)
    retries: object = count_retries() if callable(count_retries) else 0
    if retries or getattr(redis_client, "cluster_error_retry_attempts", 0):
        # A claim whose answer was lost, sent again under the same worker token, would leave
        # the first claim's ids held by this worker, unpolled, for as long as it lives.
        return "that retries commands itself could send a claim twice"
    settings = getattr(redis_client.nodes_manager, "connection_kwargs", None)
    if isinstance(settings, dict) and cast(dict[str, Any], settings).get("socket_timeout") is None:
        return "without a socket_timeout would wait for ever on a node that stopped answering"
    return None


class StoreUnavailableError(RuntimeError):
    """The tracker's Redis did not answer (down, unreachable, or too slow), or refused the
    call (full, a replica, wrong credentials: the message says what to do). Nothing is
    lost: each change is atomic, so it happened entirely or not at all; call again once
    Redis is back (a `run()` that raised this can simply be started again)."""


class StoreLostError(RuntimeError):
    """The tracker's Redis no longer holds the store: restarted without persistence, flushed,
    or its keys evicted (any `maxmemory-policy` but `noeviction`). Nothing tracked there can
    be trusted: calling again would go on with an empty (or partial) store, so this is not a
    `StoreUnavailableError`, and this store object stays lost. Once Redis keeps its data,
    open the store again (a new `RedisStore` and `Tracker`) and add the ids again
    (docs/tracking-many-workers.md)."""


def store_lost(where: str) -> StoreLostError:
    return StoreLostError(
        f"the tracker's store is gone from its Redis at {where}: restarted without "
        "persistence, flushed, or its keys evicted; what it tracked is lost: once that Redis "
        "keeps its data (appendonly yes, maxmemory-policy noeviction), open the store again "
        "(a new RedisStore and Tracker) and add the ids again"
    )


_REFUSALS = {
    "OOM": "it is full: free memory or raise maxmemory (it must keep noeviction)",
    "READONLY": "it is a replica (after a failover, say): point the client at the primary",
    "MASTERDOWN": "its primary is down: call again once it is back",
    "LOADING": "it is loading its data after a restart: call again in a moment",
    "NOREPLICAS": "too few replicas answer (min-replicas-to-write): call again once they do",
    "NOPERM": "its ACL does not let this user run the store's commands: fix the ACL",
}


def refusal(exc: BaseException) -> str | None:
    """What to do about a Redis that answered but refused the command (a script's error
    carries the server's code after its own words), or None."""
    import redis
    from redis.exceptions import AuthorizationError

    if isinstance(exc, (redis.AuthenticationError, AuthorizationError)):
        return "it refused the credentials: fix the password (or the ACL user)"
    if not isinstance(exc, redis.ResponseError):
        return None
    text = str(exc)
    for code, advice in _REFUSALS.items():
        if text.startswith(code) or f"-{code}" in text or f" {code} " in text:
            return advice
    return None


def warn_if_it_may_evict(client: Any, where: str) -> None:
    """A Redis that may evict the store's keys loses tracked ids without a word (the store
    notices a flush or a restart without persistence, `StoreLostError`, not rows evicted one
    by one): warned once, at open. Some hosts refuse INFO: then nothing is said."""
    try:
        memory: object = client.info("memory")
    except Exception:  # INFO disabled, a node that did not answer: the calls will tell
        return
    policy = (
        cast(dict[str, object], memory).get("maxmemory_policy")
        if isinstance(memory, dict)
        else None
    )
    if isinstance(policy, str) and policy != "noeviction":
        log.warning(
            "the tracker's Redis at %s runs with maxmemory-policy %s: it may evict the "
            "store's keys, and tracked ids with them; run it with noeviction "
            "(docs/tracking-many-workers.md)",
            where,
            policy,
        )


def staging_lost(where: str) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"the tracker's Redis at {where} dropped the ids staged for add_many (evicted or "
        "expired): some were stored, the rest not; add them all again (ids stored already "
        "are not added twice), and run that Redis with maxmemory-policy noeviction"
    )


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the server (a cluster's node) could not be reached or did not
    answer: the store's `StoreUnavailableError`. A cluster client's "cannot be
    connected" carries the connection error or timeout as its cause; its other errors (keys
    of two slots in one transaction, say) are bugs to raise as they are."""
    import redis
    from redis.exceptions import ClusterError, SlotNotCoveredError

    lost = (redis.ConnectionError, redis.TimeoutError)
    return isinstance(exc, (*lost, ClusterError, SlotNotCoveredError)) or isinstance(
        exc.__cause__, lost
    )


def timed_out(exc: BaseException) -> bool:
    """A timeout: the command may have run (a cluster client reports one as "cannot be
    connected", caused by it)."""
    import redis

    return isinstance(exc, redis.TimeoutError) or isinstance(exc.__cause__, redis.TimeoutError)


def retried(call: Callable[[], Any], where: str, *, attempts: int, note: str = "") -> Any:
    """`call()`, made again (up to `attempts` times, a short pause between) if the connection
    fails; a timeout (a server that stopped answering) is raised at once. `note`: what the
    error says of a call that failed (before "call again once it is back")."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:  # redis-py's, when the server did not answer
            if "STORE_LOST" in str(exc) and not unavailable(exc):
                raise store_lost(where) from None
            if STORE_VERSION in str(exc) and not unavailable(exc):  # a rolling upgrade
                schema, _, written_by = str(exc).partition(STORE_VERSION)[2].strip().partition(" ")
                check_schema(schema, written_by, name=where, reads=SCHEMA_VERSION)
            advice = refusal(exc)
            if advice is not None:  # it answered: sending again would change nothing
                raise StoreUnavailableError(
                    f"the tracker's Redis at {where} refused the call ({type(exc).__name__}: "
                    f"{exc}); {note}{advice}"
                ) from exc
            if not unavailable(exc):
                raise
            if attempt + 1 == attempts or timed_out(exc):
                raise StoreUnavailableError(
                    f"the tracker's Redis at {where} did not answer "
                    f"({type(exc).__name__}: {exc}); {note}call again once it is back"
                ) from exc
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def counts_of(raw: dict[Any, Any]) -> Counts:
    """`Counts` from the store's counters hash (`in_flight`, `awaiting`, `s|reason|state`)."""
    settled: list[tuple[str, str | None, int]] = []
    in_flight = awaiting = 0
    for field, count in raw.items():
        name, number = text(field), int(count)
        if name == "in_flight":
            in_flight = number
        elif name == "awaiting":
            awaiting = number
        elif name.startswith("s|") and number:
            _, reason, state = name.split("|", 2)
            settled.append((reason, state, number))
    return Counts.of(in_flight=in_flight, awaiting_handover=awaiting, settled=settled)


_REST = re.compile(r"(\d+) (\d+) (\d+\.?\d*) \S+")
"""A `rests` value, as the scripts' pattern reads it."""


def rest_of(ends_ms: object, in_a_row: object, length: object, left_ms: object) -> Rest:
    """A rest as the REST script returns it."""
    ends, left = int(text(ends_ms)) / 1000, int(text(left_ms)) / 1000
    return Rest(ends, int(text(in_a_row)), float(text(length)), left)


def rests_of(now_ms: object, fields: list[Any]) -> dict[str, Rest]:
    """The `rests` hash, its fields and values in turn, as `Rest`s left from `now_ms` (the
    server's clock); a value not of the layout the scripts read is skipped, as they skip it."""
    found: dict[str, Rest] = {}
    now = int(text(now_ms))
    for provider, value in zip(fields[::2], fields[1::2], strict=True):
        laid_out = _REST.fullmatch(text(value))
        if laid_out is not None:
            ends, in_a_row, length = laid_out.groups()
            left = (int(ends) - now) / 1000
            found[text(provider)] = Rest(int(ends) / 1000, int(in_a_row), float(length), left)
    return found


def opened(call: Callable[..., Any], schema_script: Any, reads: int, client: Any, name: str) -> str:
    """The store `schema_script` opens (made, if new): its schema checked against the one
    this version `reads`, a Redis that may evict its keys warned of; its id."""
    from sms_status import __version__

    schema, by, store_id = call(schema_script, reads, __version__, secrets.token_hex(8))
    check_schema(schema, by, name=name, reads=reads)
    warn_if_it_may_evict(client, where(client))
    return text(store_id)


def check_schema(schema: object, written_by: object, name: str, reads: int) -> None:
    """Refuse a store a newer tracker wrote (`SCHEMA` returned its schema and writer)."""
    from sms_status import __version__
    from sms_status.tracking._sqlite import StoreVersionError

    if int(text(schema)) > reads:
        raise StoreVersionError(
            f"the Redis store {name!r} has tracker schema {text(schema)} (written by "
            f"sms-status {text(written_by) or 'newer'}); sms-status {__version__} reads "
            f"schema {reads} and older: upgrade sms-status on every tracker that "
            f"shares this store"
        )
