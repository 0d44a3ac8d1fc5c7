"""The replay guard's part in taking a delivery once: its key remembered before the report
(or, with a guard that can and acknowledge="after_report", claimed), forgotten when no
answer went out or the report failed (its retry must not be a replay), confirmed once a
claim's report was made. A guard that takes tokens (Redis) is given the attempt's own, so a
forget deletes only what this attempt wrote, never what another receiver remembered.

A guard in another store (Redis) is called in worker threads, and a forget or confirm
started there is finished there even if the request is cancelled meanwhile: the attempt is
held (`_once`), so its copies wait for the key's fate instead of reading it half done."""

from __future__ import annotations

import concurrent.futures
import contextlib
import inspect
import logging
import secrets
from collections.abc import Callable

import anyio
import anyio.lowlevel

from sms_status.webhooks._guards import MemoryReplayGuard, RedisReplayGuard, ReplayGuard
from sms_status.webhooks._handover import ThreadHandOver, in_thread, running_loop
from sms_status.webhooks._once import Attempt, Remembering, settled

logger = logging.getLogger("sms_status.webhooks")

BUSY = "busy"
"""A claim's answer for a delivery another receiver is reporting now (answered 503)."""

_Done = concurrent.futures.Future[None] | None  # set once a key's work in a thread is done


class ReplayKeys:
    """One receiver's calls of its replay guard (see the module docstring)."""

    def __init__(
        self, provider: str, guard: ReplayGuard, *, tolerance: float, after_report: bool
    ) -> None:
        self._provider = provider
        self._guard = guard
        self._ttl = 2 * tolerance
        # A guard that can forget (both of ours): see `forget`.
        self._discard: Callable[..., object] | None = getattr(guard, "discard", None)
        # "after_report", a guard that can claim (Redis): pending while reported, then seen.
        self._confirm: Callable[..., object] | None = getattr(guard, "confirm", None)
        claim = getattr(guard, "claim", None) if after_report else None
        self._claim: Callable[..., str] | None = claim if self._confirm else None
        # Each attempt's own token, where both the method that writes its key and `discard`
        # take one (`RedisReplayGuard`'s; a subclass of it written to the older signatures,
        # or a guard of the user's, none: a discard by a token the write did not store
        # would delete nothing, and the provider's retry would be a replay).
        writes = "claim" if self._claim is not None else "add"
        self._tokens = isinstance(guard, RedisReplayGuard) and all(
            _takes_token(getattr(guard, name, None)) for name in (writes, "discard")
        )
        self._remember_in_thread = ThreadHandOver(self._add_to_guard)
        self._key_in_thread = ThreadHandOver(
            self._settle_key, on_failure=lambda _attempt, _exc: forget_failed(provider)
        )
        self.hand_overs = (
            self._remember_in_thread,  # may forget a key, or post a report, after its add
            self._key_in_thread,
        )
        """Where keys are added, forgotten or confirmed in worker threads (`drain` waits)."""

    @property
    def claims(self) -> bool:
        """Whether a reported delivery's claim must be confirmed (`confirm_reported`)."""
        return self._claim is not None

    def _forget_key(self, attempt: Attempt) -> None:
        assert self._discard is not None
        if self._tokens:
            self._discard(attempt.key, token=attempt.token)
        else:
            self._discard(attempt.key)

    async def remember_or_fail(self, attempt: Attempt) -> bool | str | None:
        """True for a delivery new here (its key taken), False for a replay, BUSY, or None
        (logged) if the guard failed (its store is down, say): the delivery is answered 500
        and the provider retries."""
        try:
            return await self._remember(attempt)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception:
            logger.exception("the replay guard failed for %s; answered 500", self._provider)
            return None

    async def _remember(self, attempt: Attempt) -> bool | str:
        guard = self._guard
        if isinstance(guard, MemoryReplayGuard):
            return guard.add(attempt.key, ttl=self._ttl)
        remembering = Remembering(attempt)
        try:
            got = await in_thread(self._remember_in_thread, remembering)
            new = got if isinstance(got, str) else bool(got)
            if running_loop() is None:  # trio: a cancel waited for the thread; it lands here
                await anyio.lowlevel.checkpoint_if_cancelled()
        except BaseException:
            # Cancelled, no answer goes out: a key already added is forgotten here, one still
            # being added is forgotten by its thread after the add.
            if remembering.cancel():
                self.forget_now(attempt)
            raise
        return new

    def _add_to_guard(self, remembering: Remembering) -> bool | str:
        """In a worker thread: the replay guard's add, undone at once if the request that
        asked for it was cancelled meanwhile (its retry must not be taken for a replay)."""
        attempt = remembering.attempt
        if not remembering.begin():  # cancelled before its turn: nothing added
            return False
        try:
            added, claimed = self._take_key(attempt)
        except BaseException:
            # Its store may have taken the key before failing (Redis applied the SET, and
            # its reply timed out): this delivery is answered 500 and was not reported, so
            # its retry must not be a replay. Only what this attempt wrote is deleted.
            try:
                if self._discard is not None:
                    with contextlib.suppress(Exception):
                        self._forget_key(attempt)
            finally:
                if remembering.added(False):
                    attempt.release()
            raise
        if remembering.added(added):  # cancelled meanwhile: its copies wait for this
            try:
                if added and self._discard is not None:
                    self._forget_key(attempt)
            except Exception:
                forget_failed(self._provider)
            finally:
                attempt.release()
        return BUSY if claimed == BUSY else added

    def _take_key(self, attempt: Attempt) -> tuple[bool, str | None]:
        """The guard's add or claim of `attempt`'s key, with a token of its own where the
        guard takes one: whether it was taken, and the claim's answer."""
        if self._tokens:
            attempt.token = secrets.token_hex(16)
        guard = self._guard
        if self._claim is not None:
            if self._tokens and isinstance(guard, RedisReplayGuard):
                claimed = guard.claim(attempt.key, token=attempt.token)
            else:
                claimed = self._claim(attempt.key)
            return claimed == "new", claimed  # "busy" takes nothing either
        if self._tokens and isinstance(guard, RedisReplayGuard):
            return guard.add(attempt.key, ttl=self._ttl, token=attempt.token), None
        return bool(guard.add(attempt.key, ttl=self._ttl)), None

    async def confirm_reported(self, attempt: Attempt) -> None:
        """Its claim becomes "seen", in a worker thread that finishes it even if the request
        is cancelled meanwhile (its copies wait for it); a failure is logged."""
        confirmed = concurrent.futures.Future[None]()
        attempt.hold()
        self._key_in_thread.post((attempt, confirmed, True), None)
        await settled(confirmed)

    async def forget(self, attempt: Attempt) -> None:
        """Before a 500 (lisoloo's retry is the same body, so the same key): a guard that can
        forget must, or the retry is a replay. In a worker thread for a guard in another
        store, finished even if this request is cancelled meanwhile (its copies wait)."""
        if self._discard is None:
            return
        if isinstance(self._guard, MemoryReplayGuard):
            try:
                self._forget_key(attempt)
            except Exception:
                forget_failed(self._provider)
            return
        forgotten = concurrent.futures.Future[None]()
        self.forget_now(attempt, forgotten)
        await settled(forgotten)

    def forget_now(self, attempt: Attempt | None, forgotten: _Done = None) -> None:
        """`forget` without awaiting (the request was cancelled): in a worker thread, its
        copies held back until then; `forgotten` is set once it is done."""
        if attempt is not None and self._discard is not None:
            attempt.hold()
            self._key_in_thread.post((attempt, forgotten, False), None)

    def _settle_key(self, item: tuple[Attempt, _Done, bool]) -> None:
        """In a worker thread: an attempt's key forgotten (or, reported, confirmed), then its
        copies let go and `done` set."""
        attempt, done, reported = item
        try:
            if reported and self._confirm is not None:
                self._confirm(attempt.key, ttl=self._ttl)
            elif not reported and self._discard is not None:
                self._forget_key(attempt)
        except Exception:  # logged before `done` is set: the answer follows the line
            if reported:  # at worst its retry, after the lease, is reported again
                logger.exception("the replay guard could not confirm a %s delivery", self._provider)
            else:
                forget_failed(self._provider)
        finally:
            attempt.release()
            if done is not None:
                done.set_result(None)


def _takes_token(method: object) -> bool:
    """Whether `method` names a `token` parameter (through `functools.wraps`; a bare
    `**kwargs` wrapper may pass it on to an override that takes none)."""
    try:
        return "token" in inspect.signature(method).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):  # not a callable with a signature
        return False


def forget_failed(provider: str) -> None:
    logger.exception(
        "the replay guard could not forget a %s delivery that was not stored: the "
        "provider's retry of it may be taken for a replay",
        provider,
    )
