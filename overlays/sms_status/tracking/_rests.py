"""When a provider's polling rests after a 429 (or a 503 with Retry-After), for every worker.

A rest lasts the longer of the round's longest Retry-After and 1 s doubled over the 429s in
a row, at most `max_interval`; an answered lookup ends it and starts the row over, and so
does a spell without a 429 as long as the last rest. Kept by each worker for itself, the
others went on polling through a rest, each counting its own 429s: four workers on one
`RedisStore` sent five times the requests of one during a storm. So the store applies these
rules (`next_rest`; `RedisStore` in one script, on the Redis server's clock, so workers whose
clocks disagree agree), and every worker reads the store's rests at each look.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from sms_status._request import BUDGET_HELD
from sms_status.errors import ApiError, NotFoundError, RateLimitError, TransportError
from sms_status.report import StatusReport
from sms_status.tracking import _rules
from sms_status.tracking._model import Rest

if TYPE_CHECKING:
    from sms_status.tracking._store import Change, Store

log = logging.getLogger("sms_status.tracking")

RATE_LIMIT_PAUSE = 1.0
"""Seconds a provider rests after a 429 (at least; a longer Retry-After wins): each 429 in
a row doubles it (up to `max_interval`), an answered lookup starts it over."""


def next_rest(held: Rest | None, now: float, retry_after: float, max_interval: float) -> Rest:
    """The rest after a 429 at `now` (the store's clock), from the one the store holds."""
    in_a_row = 0
    if held is not None and now <= held.ends + held.length:  # else a spell without a 429
        in_a_row = held.in_a_row
    # A flat pause kept a provider that says only "slow down" at a request a second for as
    # long as it did (each id's own retry keeping ids due). Capped: a Retry-After of 1e300
    # (or a date years away) must not stop polling for good.
    pause = RATE_LIMIT_PAUSE * 2.0 ** min(in_a_row, 30)
    length = min(max(retry_after, pause), max_interval)
    ends = max(now if held is None else held.ends, now + length)
    return Rest(ends, in_a_row + 1, length, ends - now)


def ended(held: Rest, now: float) -> Rest:
    """`held` after an answered lookup at `now`: over, and its row too."""
    ends = min(held.ends, now)
    return Rest(ends, 0, held.length, ends - now)


class OwnRests:
    """`Store`'s rests for a store that one worker runs on at a time (`SqliteStore`): kept
    in the store object, on the tracker's clock."""

    def _own_rests(self) -> dict[str, Rest]:
        found: dict[str, Rest] | None = self.__dict__.get("_rests_by_provider")
        if found is None:
            found = self.__dict__["_rests_by_provider"] = {}
        return found

    def rest(self, provider: str, retry_after: float, max_interval: float, now: float) -> Rest:
        rests = self._own_rests()
        rests[provider] = rest = next_rest(rests.get(provider), now, retry_after, max_interval)
        return rest

    def rest_over(self, provider: str, now: float) -> None:
        rests = self._own_rests()
        if provider in rests:
            rests[provider] = ended(rests[provider], now)

    def rests(self, now: float) -> dict[str, Rest]:
        return {p: r._replace(left=r.ends - now) for p, r in self._own_rests().items()}


def limits(error: BaseException | None) -> bool:
    """A 429, or any failed lookup that says when to come back (a 503 in maintenance with
    Retry-After): the provider's polling rests."""
    return isinstance(error, RateLimitError) or (
        isinstance(error, ApiError) and error.retry_after is not None
    )


class _Known(NamedTuple):
    until: float
    """When the rest ends, on this worker's clock."""
    in_a_row: int


class Rests:
    """The rests of each provider, as this worker knows them from the store."""

    def __init__(self, store: Store, clock: Callable[[], float], max_interval: float) -> None:
        self._store = store
        self._clock = clock
        self._max_interval = max_interval
        self._known: dict[str, _Known] = {}
        self._refused: dict[str, float] = {}
        """By provider: when this worker polls it again after it could not (`refuse`)."""
        self._seen: dict[str, tuple[float, int]] = {}
        """By provider: the store's rest last taken (its end and count): a rest's time left
        is put on this worker's clock once (which may be a test's, not the store's)."""

    def resting(self, provider: str, now: float) -> bool:
        """Until the rest's end, the end itself included (ids due then join the queue
        behind those that waited: `rules.rest`)."""
        ends = self._ends(provider)
        return ends is not None and ends >= now

    def until(self, provider: str, now: float) -> float:
        """When `provider`'s rest ends (`now` if it does not rest)."""
        ends = self._ends(provider)
        return now if ends is None else ends

    def _ends(self, provider: str) -> float | None:
        """The later end of the provider's rest and of its refusal, if either."""
        known = self._known.get(provider)
        ends = [] if known is None else [known.until]
        if provider in self._refused:
            ends.append(self._refused[provider])
        return max(ends, default=None)

    def refuse(self, provider: str, until: float) -> None:
        """`provider` is not polled by this worker until `until` (it cannot be): a
        rest of this worker's own, kept apart from the store's (a 429 is every worker's, and
        a rest read from the store does not end it)."""
        self._refused[provider] = max(until, self._refused.get(provider, until))

    def next_end(self, now: float) -> float | None:
        """The earliest end of a rest still running."""
        ends = [k.until for k in self._known.values()] + list(self._refused.values())
        return min((end for end in ends if end > now), default=None)

    def read(self) -> None:
        """The store's rests: every worker's."""
        now = self._clock()
        for provider, rest in self._store.rests(now).items():
            self._take(provider, rest, now)

    def after(self, provider: str, reports: Sequence[StatusReport]) -> bool:
        """After a round's lookups: a rest if any of them said so (`limits`; True), in the
        store for every worker. An answered one ends the rest the store holds."""
        now = self._clock()
        known = self._known.get(provider)
        if known is not None and known.in_a_row and any(map(_answered, reports)):
            self._store.rest_over(provider, now)  # once a row of 429s, by each worker
            self._known[provider] = _Known(min(known.until, now), 0)
        errors = [r.error for r in reports if isinstance(r.error, ApiError) and limits(r.error)]
        if not errors:
            return False
        if all(e.error_code == BUDGET_HELD for e in errors):
            # No slot of the shared rate budget soon: no answer of the provider's, so no rest
            # for every worker in the store (nor a longer one for each such round in a row):
            # this worker waits the slot window out.
            wait = min(max((e.retry_after or 0.0 for e in errors), default=0.0), self._max_interval)
            self.refuse(provider, now + wait)
            log.info(
                "%s: no slot of the rate budget within %g s; polls wait that long", provider, wait
            )
            return True
        # The longest Retry-After of the round (an async poll meets several); a NaN (from a
        # provider's own hook) is none.
        given = [e.retry_after for e in errors if e.retry_after is not None]
        retry_after = max((seconds for seconds in given if not math.isnan(seconds)), default=0.0)
        rest = self._store.rest(provider, retry_after, self._max_interval, now)
        self._take(provider, rest, now)
        log.warning("%s: %s; polling rests %.1f s", provider, errors[0].error_code, rest.left)
        return True

    def _take(self, provider: str, rest: Rest, now: float) -> None:
        """A rest the store holds, on this worker's clock; taken once (`_seen`)."""
        if self._seen.get(provider) == (rest.ends, rest.in_a_row):
            return
        self._seen[provider] = (rest.ends, rest.in_a_row)
        left = min(rest.left, self._max_interval)
        self._known[provider] = _Known(now + left, rest.in_a_row)


class Outages:
    """Providers that no lookup of a round reached, logged when that starts and when it
    ends: a tracker went on polling a provider it could not reach (a refused certificate, a
    name that does not resolve, a firewall) in silence until its ids' deadlines."""

    def __init__(self, *, alone: bool) -> None:
        self._failed_rounds: dict[str, int] = {}
        self._alone = alone  # the only worker on its store (`OwnRests`): its outage is all's

    def after(self, provider: str, reports: Sequence[StatusReport]) -> bool:
        """Whether no lookup of a round's step reached `provider` (`unreachable`)."""
        if unreachable(reports):
            failed = self._failed_rounds.get(provider, 0)
            if not failed:
                error = reports[0].error
                log.warning(
                    "%s: no lookup reached the provider (%s: %s); its ids are polled again "
                    "later, and settle by their deadlines if it stays out of reach",
                    provider,
                    type(error).__name__,
                    getattr(error, "message", error),
                )
            self._failed_rounds[provider] = failed + 1
            return True
        failed = self._failed_rounds.pop(provider, 0) if reports else 0
        if failed:
            log.warning(
                "%s: reached again, after %d rounds that did not reach it", provider, failed
            )
        return False

    def untried(self, provider: str, now: float, max_interval: float) -> Change:
        """What becomes of `provider`'s ids a round that did not reach it did not try
        (`rules.rest`): those past their deadline settle (left due, an outage settled them a
        lookup's timeout apart); the rest queue behind the ids already waiting, so the next
        look reaches those behind a full `BATCH` (another provider's too). On a store of this
        worker's alone they wait as a failed lookup's retry (doubling over such rounds in a
        row); on a shared one they stay due: another worker may reach the provider."""
        until = now
        if self._alone:
            failed = self._failed_rounds.get(provider, 1)
            retry = _rules.FAILED_LOOKUP_RETRY * 2.0 ** min(failed - 1, 30)
            until = now + min(retry, max_interval)
        return functools.partial(_rules.rest, until=until, now=now)


def unreachable(reports: Sequence[StatusReport]) -> bool:
    """No lookup of a poll step reached the provider (timeouts, resets, a refused
    certificate): the round ends there, its other ids wait for the next look. Each would
    cost a timeout of its own, holding up the other providers' polls, deadlines and
    hand-overs, and `stop()` (a sync round of 100 ids: 1,000 s with the default 10 s)."""
    return bool(reports) and all(isinstance(r.error, TransportError) for r in reports)


def _answered(report: StatusReport) -> bool:
    """The provider answered the lookup (a "not found" too)."""
    return report.error is None or isinstance(report.error, NotFoundError)
