"""When a provider's polling rests after a 429 (or a 503 with Retry-After), for every worker.

A rest lasts the longer of the round's longest Retry-After and 1 s doubled over the 429s in
a row, at most `max_interval`; an answered lookup starts the row over. Kept by one worker
only, the others went on polling through it, each counting its own 429s: four workers on
one `RedisStore` sent five times the requests of one during a storm. So each rest is
written to the store (`Store.rest`: the later end holds), as is an answer that ends a row
(`rest_over`), and every look reads the store's (`Store.rests`): every worker rests as one.
Ends are on the trackers' clocks, as due times are; one read from the store is cut to its
length from now, so a worker whose clock runs behind or ahead holds the others no longer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sms_status.errors import ApiError, NotFoundError, RateLimitError
from sms_status.report import StatusReport
from sms_status.tracking._store import Rest, Store

log = logging.getLogger("sms_status.tracking")

RATE_LIMIT_PAUSE = 1.0
"""Seconds a provider rests after a 429 (at least; a longer Retry-After wins): each 429 in
a row doubles it (up to `max_interval`), an answered lookup starts it over."""


def limits(error: BaseException | None) -> bool:
    """A 429, or any failed lookup that says when to come back (a 503 in maintenance with
    Retry-After): the provider's polling rests."""
    return isinstance(error, RateLimitError) or (
        isinstance(error, ApiError) and error.retry_after is not None
    )


class Rests:
    """The rests of each provider, as this worker knows them (its own and the store's)."""

    def __init__(self, store: Store, clock: Callable[[], float], max_interval: float) -> None:
        self._store = store
        self._clock = clock
        self._max_interval = max_interval
        self._known: dict[str, Rest] = {}
        self._seen: dict[str, tuple[float, int]] = {}
        """By provider: the store's rest last taken (its end and count), not taken again
        (its end may have been cut, below)."""

    def resting(self, provider: str, now: float) -> bool:
        """Until the rest's end, the end itself included (ids due then join the queue
        behind those that waited: `rules.rest`)."""
        rest = self._known.get(provider)
        return rest is not None and rest.until >= now

    def until(self, provider: str, now: float) -> float:
        """When `provider`'s rest ends (`now` if it does not rest)."""
        rest = self._known.get(provider)
        return now if rest is None else rest.until

    def next_end(self, now: float) -> float | None:
        """The earliest end of a rest still running."""
        return min((r.until for r in self._known.values() if r.until > now), default=None)

    def read(self) -> None:
        """The store's rests, every worker's: the store keeps the latest of each provider."""
        rests = self._store.rests()
        if rests:
            now = self._clock()
            for provider, rest in rests.items():
                self._take(provider, rest, now)

    def after(self, provider: str, reports: Sequence[StatusReport]) -> bool:
        """After a round's lookups: a rest if any of them said so (`limits`; True), taken
        by this worker and written to the store."""
        known = self._known.get(provider)
        if known is not None and known.in_a_row and any(map(_answered, reports)):
            self._known[provider] = known = known._replace(in_a_row=0)
            self._store.rest_over(provider)  # for every worker: once a row of 429s
        errors = [r.error for r in reports if isinstance(r.error, ApiError) and limits(r.error)]
        if not errors:
            return False
        now = self._clock()
        in_a_row = 0
        if known is not None and now <= known.until + known.length:
            in_a_row = known.in_a_row  # else polled nothing for a while: a new row
        # A flat pause kept a provider that says only "slow down" at a request a second for
        # as long as it did (each id's own retry keeping ids due).
        pause = RATE_LIMIT_PAUSE * 2.0 ** min(in_a_row, 30)
        # The longest Retry-After of the round (an async poll meets several), if longer.
        # Capped: a Retry-After of 1e300 (or a date years away) must not stop this
        # provider's polling for good; `max_interval` is the longest rest anyway.
        retry_after = max(error.retry_after or 0.0 for error in errors)
        length = min(max(retry_after, pause), self._max_interval)
        until = max(self.until(provider, now), now + length)
        self._take(
            provider, self._store.rest(provider, Rest(until, in_a_row + 1, length), now), now
        )
        log.warning("%s: %s; polling rests %.1f s", provider, errors[0].error_code, length)
        return True

    def _take(self, provider: str, rest: Rest, now: float) -> None:
        """Take a rest the store holds, once: its end cut to its length from now on this
        worker's clock (another's may run behind or ahead), and to `max_interval`."""
        if self._seen.get(provider) == (rest.until, rest.in_a_row):
            return
        self._seen[provider] = (rest.until, rest.in_a_row)
        length = min(rest.length, self._max_interval)
        self._known[provider] = rest._replace(until=min(rest.until, now + length), length=length)


def _answered(report: StatusReport) -> bool:
    """The provider answered the lookup (a "not found" too)."""
    return report.error is None or isinstance(report.error, NotFoundError)
