"""The sync and async drivers step a flow alike: what an effect returned is sent in, what it
raised is thrown in, reports are emitted in order, and the flow's result comes back.

Each driver runs here with its `_perform` scripted, so only the stepping is under test (the
performing is covered over HTTP by tests/client and tests/integration)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from sms_status._drivers import AsyncDriver, SyncDriver
from sms_status._exchange import AttemptTimeout
from sms_status._flows import Emit, Flow, Send, Sleep
from sms_status.report import DeliveryState, StatusReport

Answer = object | Exception


def report(message_id: str) -> StatusReport:
    return StatusReport(
        provider="telecom23",
        message_id=message_id,
        state=DeliveryState.DELIVERED,
        is_final=True,
        provider_status="DELIVRD",
    )


class ScriptedSync(SyncDriver):
    def __init__(self, answers: Sequence[Answer]) -> None:
        self.answers = list(answers)
        self.performed: list[Send | Sleep] = []

    def _perform(self, effect: Send | Sleep) -> Any:
        self.performed.append(effect)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class ScriptedAsync(AsyncDriver):
    def __init__(self, answers: Sequence[Answer]) -> None:
        self.answers = list(answers)
        self.performed: list[Send | Sleep] = []

    async def _perform(self, effect: Send | Sleep) -> Any:
        self.performed.append(effect)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


FIRST = Send({"method": "get", "url": "/first"})
SECOND = Send({"method": "get", "url": "/second"})
PAUSE = Sleep(1.5)


def exchange(seen: list[object]) -> Flow[str]:
    """Sends twice (recording what each returned or raised), sleeps, emits two reports."""
    seen.append((yield FIRST))
    try:
        seen.append((yield SECOND))
    except AttemptTimeout as exc:
        seen.append(exc)
    seen.append((yield PAUSE))
    yield Emit(report("a"))
    yield Emit(report("b"))
    return "done"


def quiet_exchange(seen: list[object]) -> Flow[str]:
    """`exchange` without the reports: what a driver's `run` accepts."""
    seen.append((yield FIRST))
    try:
        seen.append((yield SECOND))
    except AttemptTimeout as exc:
        seen.append(exc)
    seen.append((yield PAUSE))
    return "done"


def emits_then_returns() -> Flow[str]:
    yield Emit(report("a"))
    return "never"


def test_sync_iteration_sends_values_in_throws_errors_in_and_returns_the_result() -> None:
    timeout = AttemptTimeout("slow")
    driver = ScriptedSync(["reply-1", timeout, None])
    seen: list[object] = []
    steps = driver._steps(exchange(seen))
    emitted = [next(steps), next(steps)]
    with pytest.raises(StopIteration) as stop:
        next(steps)
    assert stop.value.value == "done"
    assert [r.message_id for r in emitted] == ["a", "b"]
    assert seen == ["reply-1", timeout, None]
    assert driver.performed == [FIRST, SECOND, PAUSE]


def test_async_iteration_sends_values_in_throws_errors_in_and_emits_in_order() -> None:
    timeout = AttemptTimeout("slow")
    driver = ScriptedAsync(["reply-1", timeout, None])
    seen: list[object] = []

    async def main() -> list[StatusReport]:
        return [r async for r in driver._steps(exchange(seen))]

    emitted = asyncio.run(main())
    assert [r.message_id for r in emitted] == ["a", "b"]
    assert seen == ["reply-1", timeout, None]
    assert driver.performed == [FIRST, SECOND, PAUSE]


def run(mode: str, answers: Sequence[Answer], flow: Flow[str]) -> str:
    """`flow` run to its end by the `mode` driver, its effects answered from `answers`."""
    if mode == "sync":
        return ScriptedSync(answers)._run(flow)
    return asyncio.run(ScriptedAsync(answers)._run(flow))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_run_returns_what_the_flow_returns(mode: str) -> None:
    timeout = AttemptTimeout("slow")
    seen: list[object] = []
    assert run(mode, ["reply-1", timeout, None], quiet_exchange(seen)) == "done"
    assert seen == ["reply-1", timeout, None]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_run_refuses_a_flow_that_emits_a_report(mode: str) -> None:
    with pytest.raises(AssertionError, match="emitted a report"):
        run(mode, [], emits_then_returns())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_error_the_flow_does_not_catch_ends_the_run_with_that_error(mode: str) -> None:
    timeout = AttemptTimeout("slow")
    with pytest.raises(AttemptTimeout) as raised:
        run(mode, [timeout], quiet_exchange([]))
    assert raised.value is timeout
