"""When a provider's polling rests after a 429 (or a 503 with Retry-After), for every worker.

A rest lasts the longer of the round's longest Retry-After and 1 s doubled over the 429s in
a row, at most `max_interval`. Kept by one worker only, the others went on polling through
it, each counting its own 429s: four workers on one `RedisStore` sent five times the
requests of one during a storm. So each rest is also written to the store (`Store.rest`,
the later end kept), and every look reads the store's (`Store.rests`): a worker rests as
long as the longest rest any worker took, and counts on from the highest count.
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
        """By provider: the latest rest this worker took or read."""
        self._read: dict[str, float] = {}
        """By provider: the end of the latest rest read from the store, as written."""
        self._answered: set[str] = set()
        """Providers that answered since their last rest: their next 429 starts a new row."""

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
        """Take the rests other workers wrote to the store, where they end later: on this
        worker's clock at most `max_interval` from now (a worker whose clock runs ahead
        wrote the end by its own)."""
        latest = self._clock() + self._max_interval
        for provider, rest in self._store.rests().items():
            if rest.until <= self._read.get(provider, float("-inf")):
                continue  # read before (its end may have been cut to this clock's)
            self._read[provider] = rest.until
            until = min(rest.until, latest)
            known = self._known.get(provider)
            if known is None or until > known.until:
                self._known[provider] = rest._replace(until=until)
                self._answered.discard(provider)

    def after(self, provider: str, reports: Sequence[StatusReport]) -> bool:
        """After a round's lookups: a rest if any of them said so (`limits`; True), taken
        by this worker and written to the store."""
        if any(r.error is None or isinstance(r.error, NotFoundError) for r in reports):
            self._answered.add(provider)  # a 429 beside an answer is no longer a row
        errors = [r.error for r in reports if isinstance(r.error, ApiError) and limits(r.error)]
        if not errors:
            return False
        now = self._clock()
        known = self._known.get(provider)
        in_a_row = 0
        if (
            known is not None
            and provider not in self._answered
            and now <= known.until + known.length
        ):
            in_a_row = known.in_a_row  # else polled nothing for a while: a new row
        self._answered.discard(provider)
        # A flat pause kept a provider that says only "slow down" at a request a second for
        # as long as it did (each id's own retry keeping ids due).
        pause = RATE_LIMIT_PAUSE * 2.0 ** min(in_a_row, 30)
        # The longest Retry-After of the round (an async poll meets several), if longer.
        # Capped: a Retry-After of 1e300 (or a date years away) must not stop this
        # provider's polling for good; `max_interval` is the longest rest anyway.
        retry_after = max(error.retry_after or 0.0 for error in errors)
        length = min(max(retry_after, pause), self._max_interval)
        until = max(self.until(provider, now), now + length)
        self._known[provider] = rest = Rest(until, in_a_row + 1, length)
        self._store.rest(provider, rest)
        log.warning("%s: %s; polling rests %.1f s", provider, errors[0].error_code, length)
        return True
