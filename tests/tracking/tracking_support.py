"""Types and helpers the tracker's tests share (a module of its own: `conftest` is not
importable by name when several test folders have one)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from sms_status import tracking
from sms_status.report import DeliveryState, StatusReport
from sms_status.testing import FakeClock, Sandbox

MakeTracker = Callable[..., tracking.Tracker]
"""`make_tracker(clients={...}, **options)`, the fixture of tests/tracking/conftest.py."""


def delivered(message_id: str, provider: str = "telecom23") -> StatusReport:
    """A final DELIVRD report of `message_id`, as a push or a poll would read it."""
    return StatusReport(
        provider=provider,
        message_id=message_id,
        state=DeliveryState.DELIVERED,
        is_final=True,
        provider_status="DELIVRD",
    )


def ended_by_themselves(runners: list[threading.Thread], tracker: tracking.Tracker) -> bool:
    """Whether every one of `runners` (threads in `tracker.run`) ended within 30 s. If not
    (the code under test lost a stop), they are stopped, so the test fails, not hangs."""
    for runner in runners:
        runner.join(30)
    if not any(runner.is_alive() for runner in runners):
        return True
    tracker.stop()
    for runner in runners:
        runner.join(30)
    return False


@contextlib.contextmanager
def polling_tracker(
    store: tracking.RedisStore,
    ids: list[str],
    on_final: Callable[[tracking.Outcome], object],
    provider: str = "telecom23",
) -> Iterator[tuple[Sandbox, tracking.Tracker]]:
    """A Tracker on `store` polling a sandbox that knows `ids` (each pending, sent, then
    delivered, a poll at a time), both on one fake clock; the sandbox keeps its requests."""
    clock = FakeClock()
    with Sandbox(provider, clock=clock).serve() as sandbox:
        for message_id in ids:
            sandbox.add_message(message_id, advance="poll")
        with (
            sandbox.connect() as client,
            tracking.Tracker(
                store,
                on_final=on_final,
                clients={provider: client},
                clock=clock.now,
                sleep=clock.sleep,
            ) as tracker,
        ):
            yield sandbox, tracker
