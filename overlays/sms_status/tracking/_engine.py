"""What a tracker does, written once for `Tracker` and `AsyncTracker`.

`Engine` holds the store, the clock and the per-provider schedules; its `run` is a generator
that yields effects — `Poll` ids, `HandOver` an outcome to `on_final`, `Wait` — and receives
their results, as the clients' flows do (`sms_status._flows`). The two trackers only carry
effects out, by blocking or by awaiting.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import partial

from sms_status import _validation
from sms_status._pushed import kept as merge_rule
from sms_status._registry import load_provider
from sms_status.errors import AuthenticationError, MissingProviderError
from sms_status.report import StatusReport
from sms_status.tracking import _rules as rules
from sms_status.tracking._effects import Effect, Flow, HandOver, Poll, Polled, Unpolled, Wait
from sms_status.tracking._group import GroupCommit
from sms_status.tracking._model import (
    Counts,
    Row,
    Tracked,
    decode_report,
    encode_report,
    outcome_of,
    tracked_of,
)
from sms_status.tracking._rests import Outages, OwnRests, Rests, limits
from sms_status.tracking._store import Change, Push, Store

log = logging.getLogger("sms_status.tracking")

__all__ = ["Effect", "Engine", "Flow", "HandOver", "Poll", "Unpolled", "Wait"]

BATCH = 500
"""Rows read from the store per look (due polls, due hand-overs): memory stays flat."""
IDLE_LOOK = 1.0
"""Real seconds between looks at the store when nothing is due in this process: another
process (a webhook receiver calling `ingest`) may have recorded an outcome meanwhile."""
PURGE_EVERY = 60.0
POLL_ROUND = 100
"""Due ids polled before their answers are recorded (in one transaction)."""
REFUSED_REST = 60.0
"""Seconds a provider whose key was refused (or that has no client) is not polled: its ids
wait that long (their deadlines still settle them) while the other providers are polled."""


class Engine:
    """A tracker's state outside its store: settings, schedules, rate-limit pauses."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float],
        deadline: float,
        max_interval: float,
        poll_step: int,
        webhooks: Iterable[str] = (),
    ) -> None:
        if isinstance(webhooks, str):
            raise TypeError("webhooks is a collection of provider keys, not one string")
        self.webhooks = frozenset(rules.valid_provider(key) for key in webhooks)
        """Providers whose webhooks the user receives: polled as a safety net from the start."""
        self.store = store
        self.clock = clock
        self.deadline = rules.valid_deadline(deadline)
        self.max_interval = rules.valid_deadline(max_interval, "max_interval")
        self.poll_step = poll_step  # ids per `Poll` for providers looked up one a request
        self.stopping = threading.Event()
        self.woken = threading.Event()
        self.closed = False  # its tracker closed: the store with it (`_open`)
        self._schedules: dict[str, rules.Schedule] = {}
        self._separators: dict[str, str | None] = {}
        self._rests = Rests(store, clock, self.max_interval)
        self._unreachable: set[str] = set()  # providers no lookup reached, this look
        self._outages = Outages(alone=isinstance(store, OwnRests))
        self._pushes: GroupCommit[Push, bool] = GroupCommit(store.push_many)
        self._settled_reports: dict[str, StatusReport] = {}
        """Reports polls just settled with, by key, until their hand-over (at most a round's)."""

    def schedule(self, provider: str) -> rules.Schedule:
        found = self._schedules.get(provider)
        if found is None:
            found = rules.Schedule(load_provider(provider).cadence, self.max_interval)
            self._schedules[provider] = found
        return found

    def _separator(self, provider: str) -> str | None:
        if provider not in self._separators:
            batch = load_provider(provider).batch
            self._separators[provider] = batch.separator if batch is not None else None
        return self._separators[provider]

    # -- add, ingest, look -------------------------------------------------------------------

    def add(
        self,
        provider: object,
        message_ids: Iterable[object],
        *,
        tag: object,
        deadline: object,
    ) -> int:
        self._open()
        key = rules.valid_provider(provider)
        label = rules.valid_tag(tag)
        seconds = self.deadline if deadline is None else rules.valid_deadline(deadline)
        separator = self._separator(key)
        if isinstance(message_ids, str | bytes):
            raise TypeError("message_ids must be an iterable of ids, not one string")
        now = self.clock()
        schedule = self.schedule(key)
        # Webhooks are arriving for this provider: a push will most likely settle these ids,
        # so their first poll is the safety net's, not the cadence's.
        first = schedule.max_interval if self._pushes_live(key, now) else schedule.first_wait
        # Checked as the store reads them (a chunk at a time, staged: SQLite in a temporary
        # table, Redis in a list): a bad id raises before anything is stored, and a million
        # ids never sit in a list here. Each is added when read (a generator may yield them
        # as messages are sent), those read within a second of each other at one time, so
        # that their polls stay in one batch.
        added_at = rules.AddedAt(self.clock, now)
        rows = (
            rules.new_row(
                key,
                _validation.message_id(i, separator=separator),
                tag=label,
                now=added_at(),
                deadline=seconds,
                first=first,
            )
            for i in message_ids
        )
        new = self.store.insert(rows, now=now, apply_early=self._early(now))
        self.woken.set()
        return new

    def _pushes_live(self, provider: str, now: float) -> bool:
        """Whether `provider`'s webhooks arrive: named in `webhooks`, or a push of it was
        seen within `max_interval`."""
        if provider in self.webhooks:
            return True
        last = self.store.last_push(provider)
        return last is not None and now - last <= self.max_interval

    def _early(self, now: float) -> Callable[[Row, str], Row | None]:
        def apply(row: Row, report: str) -> Row | None:
            found = decode_report(report)
            assert found is not None
            at = max(now, row.added_at)  # an id `add_many` read later than `now` (`AddedAt`)
            changed = rules.apply_push(row, found, at, self.schedule(row.provider))
            _log_settled(changed, "an early push")
            return changed

        return apply

    def ingest(self, item: object) -> bool:
        return self.ingest_many([item])[0]

    def ingest_many(self, items: Iterable[object]) -> list[bool]:
        """Every pushed report in one store transaction (shared with concurrent callers'):
        whether each changed the store. All are checked before any is written."""
        self._open()
        pushes: list[Push] = []
        settled: list[list[Row]] = []  # per push, the row it settled (if it did)
        is_report: list[bool] = []  # per item: False for a failed lookup (nothing to write)
        now = self.clock()
        for item in items:
            report = getattr(item, "report", item)
            if not isinstance(report, StatusReport):
                raise TypeError(
                    "ingest() takes a webhooks.WebhookEvent or a StatusReport, "
                    f"not {type(item).__name__}"
                )
            is_report.append(report.error is None)
            if report.error is not None:
                continue
            # As add() checks it (the provider's batch separator too): never storable.
            separator = self._separator(rules.valid_provider(report.provider))
            _validation.message_id(report.message_id, separator=separator)
            seen: list[Row] = []
            settled.append(seen)
            pushes.append(self._push(report, now, seen))
        # Concurrent ingests (a receiver's threads) share one transaction: group commit.
        results = iter(self._pushes.submit_many(pushes) if pushes else ())
        written = [next(results) if pushed else False for pushed in is_report]
        for seen in settled:
            for row in seen:
                _log_settled(row, "a push")
        if any(written) and not self.woken.is_set():  # (set() takes a lock: skip it when set)
            self.woken.set()
        return written

    def _push(self, report: StatusReport, now: float, settled: list[Row]) -> Push:
        """The store write of one pushed report; `settled` gets the row it settled."""
        provider = rules.valid_provider(report.provider)
        schedule = self.schedule(provider)

        def change(row: Row) -> Row | None:
            settled.clear()  # a store may retry a change (compare-and-set): the last one counts
            changed = rules.apply_push(row, report, now, schedule)
            if changed is not None and changed.settled:
                settled.append(changed)
            return changed

        def keep_early(current: str | None) -> str | None:
            # As for a tracked id: the first final stands (a second, conflicting final does
            # not replace it); otherwise `webhooks.merge` picks the report to keep.
            if current is not None:
                kept = decode_report(current)
                assert kept is not None
                if kept.is_final or merge_rule(kept, report) is kept:
                    return None
            return encode_report(report)

        return (provider, report.message_id, change, keep_early, now)

    def get(self, provider: object, message_id: object) -> Tracked | None:
        self._open()
        key = rules.valid_provider(provider)
        if not isinstance(message_id, str):
            raise TypeError(f"message id must be a str, not {type(message_id).__name__}")
        row = self.store.get(key, message_id)
        return None if row is None else tracked_of(row)

    def counts(self) -> Counts:
        self._open()
        return self.store.counts()

    def _open(self) -> None:  # a closed tracker's store raised its own (sqlite3) errors
        if self.closed:
            raise RuntimeError("this tracker is closed")

    def stop(self) -> None:
        self.stopping.set()
        self.woken.set()

    # -- run ---------------------------------------------------------------------------------

    def run(self, *, until_idle: bool) -> Flow:
        """Hand over what is recorded, poll what is due, wait; until idle or stopped."""
        last_purge = float("-inf")
        while not self.stopping.is_set():
            now = self.clock()
            if now - last_purge >= PURGE_EVERY:
                self.store.purge(now)
                last_purge = now
            worked = False
            if len(self._settled_reports) > BATCH:
                self._settled_reports.clear()  # their hand-overs are not due yet (a raise)
            handovers = self.store.handovers_due(now, BATCH)
            if handovers:
                worked = True
                yield from self._hand_over(handovers)
                if self.stopping.is_set():
                    return
            groups, rested, refusal = self._due(now)
            # A resting provider's due ids moved: look again.
            worked = worked or rested or bool(groups)
            yield from self._poll_rounds(groups, refusal)
            if self.stopping.is_set():
                return
            if worked:
                continue
            wake = self.store.next_wake()
            if wake is None and until_idle:
                return
            now = self.clock()
            if wake is not None and wake <= now:  # due, but its provider rests (429)
                wake = self._rests.next_end(now) or now + 1.0
            yield Wait(IDLE_LOOK if wake is None else max(0.0, wake - now))

    def _due(self, now: float) -> tuple[list[tuple[str, list[str]]], bool, Exception | None]:
        """The due ids to poll, by provider in rounds; whether a resting provider's were
        given back (more may be due behind them); a missing extra's error (`_refused`)."""
        due = self.store.due(now, BATCH, self._early(now))
        if due:
            self._rests.read()  # another worker's rest, maybe
        groups: list[tuple[str, list[str]]] = []
        rested = False
        refusal: Exception | None = None
        for provider, grouped in itertools.groupby(
            sorted(due, key=lambda r: r.provider), key=lambda r: r.provider
        ):
            rows = list(grouped)
            if self._rests.resting(provider, now):
                self._give_back(provider, [r.message_id for r in rows])
                rested = True
                continue
            try:
                self.schedule(provider)  # the look's first load of the provider
            except MissingProviderError as exc:  # its extra is not installed on this host
                refused = self._refused(provider, exc)  # each such provider rests
                refusal = refusal or refused
                self._give_back(provider, [r.message_id for r in rows])
                continue
            if self._pushes_live(provider, now):
                rows = self._defer_young(provider, rows, now)
            ids = [r.message_id for r in rows]
            groups.extend(
                (provider, ids[i : i + POLL_ROUND]) for i in range(0, len(ids), POLL_ROUND)
            )
        return groups, rested, refusal

    def _give_back(self, provider: str, message_ids: list[str], tried: Sequence[str] = ()) -> None:
        """Ids `due()` returned that are not polled now, passed to `change()` (`RedisStore`
        releases its claims there): while `provider` rests, due at the rest's end, or past
        their deadline settled (`rules.rest`), so other providers' ids, behind them in
        `due()`'s order, are polled meanwhile; out of reach this look, `Outages.untried`;
        else unchanged. `tried`: those whose lookup was refused, queued behind the others
        (an id refused on its own, a 403 for another account's message, would otherwise go
        first at every rest's end, and starve them)."""
        if not message_ids:
            return
        now, refused = self.clock(), set(tried)
        until, resting = self._rests.until(provider, now), self._rests.resting(provider, now)

        def rest(row: Row) -> Row | None:
            return rules.rest(row, until, now, polled=row.message_id in refused)

        change: Change = rest if resting else _unchanged
        if not resting and provider in self._unreachable:
            change = self._outages.untried(provider, now, self.max_interval)
        for row in self.store.change(provider, message_ids, change):
            _log_settled(row, "its deadline, while its provider rested or was out of reach")

    def _defer_young(self, provider: str, rows: list[Row], now: float) -> list[Row]:
        """Webhooks arrive for `provider`: ids added less than `max_interval` ago (before the
        first push was seen, on the cadence) wait for theirs (`rules.waits_for_push`); the
        rest are polled."""
        schedule = self.schedule(provider)
        young = {r.message_id for r in rows if rules.waits_for_push(r, now, schedule)}
        if young:
            self.store.change(
                provider, list(young), lambda row: rules.defer_for_push(row, now, schedule)
            )
        return [r for r in rows if r.message_id not in young]

    def _poll_rounds(
        self, groups: list[tuple[str, list[str]]], refusal: Exception | None = None
    ) -> Flow:
        """Poll each round. A provider refused in one (`_refused`), or before (`refusal`), is
        raised once the other providers' rounds were polled and the outcomes due handed
        over; the refusal is this run's own (several runs may share the engine)."""
        self._unreachable.clear()
        for provider, ids in groups:
            refusal = (yield from self._poll(provider, ids)) or refusal
            if self.stopping.is_set():
                break
        if refusal is not None:
            if not self.stopping.is_set():
                yield from self._hand_over(self.store.handovers_due(self.clock(), BATCH))
            raise refusal

    def _refused(self, provider: str, error: Exception) -> Exception:
        """`provider` cannot be polled now (its key was refused, or it has no client): it
        rests `REFUSED_REST` on this worker, so that the other providers' ids, behind its
        in `due()`'s order, are polled; `run()` raises `error` once the look is done."""
        self._rests.refuse(provider, self.clock() + REFUSED_REST)
        log.error(
            "%s cannot be polled (%s: %s); its ids wait %g s, other providers are polled",
            provider,
            type(error).__name__,
            error,
            REFUSED_REST,
        )
        return error

    def _poll(self, provider: str, message_ids: list[str]) -> Polled:
        """Poll one round of due ids (one request per batch, or per id), then record every
        answer in one transaction. A 429 ends the round: the rest waits for the pause; so
        does a step that could not reach the provider (`Outages`), or `stop()`.
        Returns the error that refused the provider (`_refused`), if one did."""
        if self._rests.resting(provider, self.clock()) or provider in self._unreachable:
            self._give_back(provider, message_ids)  # a 429 (or no answer) earlier in this look
            return None
        reports: list[StatusReport] = []
        refusal: Exception | None = None
        tried: list[str] = []  # the ids of a refused lookup
        try:
            batch = load_provider(provider).batch
            step = batch.max_ids if batch is not None else self.poll_step
            for start in range(0, len(message_ids), step):
                tried = message_ids[start : start + step]
                answered: Sequence[StatusReport] = yield Poll(provider, tried)
                reports.extend(answered)
                if self._rests.after(provider, answered):
                    break
                if self._outages.after(provider, answered):  # its other rounds: next look
                    self._unreachable.add(provider)
                if self.stopping.is_set() or provider in self._unreachable:
                    break
            tried = []
        except AuthenticationError as exc:
            refusal = self._refused(provider, exc)
        except Unpolled as exc:  # no lookup was made (a missing extra: `_due`)
            refusal, tried = self._refused(provider, exc.error), []
        except GeneratorExit:  # the run closed (cancelled) mid-round: what came is kept
            if reports:
                try:
                    self._record(provider, message_ids, reports, [])
                except Exception as exc:  # its store away, say: polled again, as before
                    log.warning("a cancelled poll round's answers were not recorded: %s", exc)
            raise
        if refusal is not None and not reports:  # nothing to record (nor, maybe, a provider)
            self._give_back(provider, message_ids, tried)
            return refusal
        self._record(provider, message_ids, reports, tried)
        return refusal

    def _record(
        self, provider: str, message_ids: list[str], reports: list[StatusReport], tried: list[str]
    ) -> None:
        """A round's answers, in one transaction; its other ids given back."""
        now = self.clock()
        by_id = {r.message_id: r for r in reports}
        schedule = self.schedule(provider)
        live = self._pushes_live(provider, now)

        until = self._rests.until(provider, now)
        rests = self._rests.resting(provider, now)

        def change(row: Row) -> Row | None:
            report = by_id.get(row.message_id)
            if report is None:
                return None
            if rests and limits(report.error):
                # The provider's answer, not the id's: no failure of its own; it queues
                # again for the rest's end.
                return rules.rest(row, until, now, polled=True)
            return rules.apply_poll(row, report, now, schedule, pushes_live=live)

        self._give_back(provider, [i for i in message_ids if i not in by_id], tried)  # a 429
        for row in self.store.change(provider, list(by_id), change):
            _log_settled(row, "a poll")
            report = by_id[row.message_id]
            if row.settled and row.source == "poll" and report.error is None:
                # Its hand-over comes next: the report need not be read back from the store.
                # (A failed lookup is not the row's report: a deadline keeps the last seen.)
                self._settled_reports[row.key] = report

    def _hand_over(self, rows: list[Row]) -> Flow:
        """Hand each outcome to `on_final`: its `delivery` + 1 is committed before the call,
        and its end (or its retry time, when it raised) after the return — together with
        the next one's start, so each hand-over costs one transaction."""
        finish: tuple[str, str, Change] | None = None
        try:
            for row in rows:
                begin = partial(rules.begin_handover, claimed=row.delivery)
                start = (row.provider, row.message_id, begin)
                started = self.store.apply([finish, start] if finish else [start])[-1]
                finish = None
                if started is None:
                    continue  # handed over meanwhile (another worker)
                delivery = started.delivery
                report = self._settled_reports.pop(started.key, None)
                error: BaseException | None = yield HandOver(outcome_of(started, report))
                finish = (row.provider, row.message_id, self._finish(row, delivery, error))
                if self.stopping.is_set():
                    return
        finally:
            # Also when the run is closed mid-way: a callback that returned is never handed
            # the same outcome again.
            if finish is not None:
                self.store.apply([finish])

    def _finish(self, row: Row, delivery: int, error: BaseException | None) -> Change:
        if error is None:
            return lambda r: rules.end_handover(r, delivery)
        log.error(
            "on_final raised for %s (delivery %d); handed over again later: %s: %s",
            row.key,
            delivery,
            type(error).__name__,
            error,
        )
        now = self.clock()
        return lambda r: rules.retry_handover(r, delivery, now)


def _unchanged(_row: Row) -> Row | None:
    return None


def _log_settled(row: Row | None, by: str) -> None:
    if row is not None and row.settled and row.delivery == 0:
        log.info(
            "%s settled: %s (%s, by %s, %d polls)",
            row.key,
            row.state or "unknown",
            row.reason,
            by,
            row.polls,
        )
