"""Running `sms_status._flows` with scripted replies: no HTTP, no sockets, no sleeping.

`Script.run(flow)` plays the driver, stepping the flow with the drivers' own `advance`: each
`Send` takes the next scripted item (a `Reply` is sent into the flow, an exception is thrown
into it), each `Sleep` advances `clock`, each `Emit` is only recorded. Every effect the flow
yielded is kept in `effects`, also when the flow ends with an exception, so a test asserts on
what the flow *did*.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from sms_status._drivers import advance
from sms_status._exchange import Reply
from sms_status._flows import Context, Effect, Emit, Flow, Send, Sleep
from sms_status._provider import Provider
from sms_status.report import StatusReport

T = TypeVar("T")

SECRET = "flows-test-key-7f3a9c"


class Clock:
    """The flow's clock: moves only when the flow sleeps (or a test moves it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def context(provider: Provider, clock: Clock, *, max_retries: int = 3) -> Context:
    """A client's settings with jitter pinned to 1.0, so backoff is its ceiling."""
    return Context(
        provider=provider,
        secret=SECRET,
        max_retries=max_retries,
        retry_after_cap=60.0,
        clock=clock,
        jitter=lambda: 1.0,
    )


def json_reply(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    lowered.setdefault("content-type", "application/json")
    return Reply(status, lowered, json.dumps(body).encode())


def empty_reply(status: int, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, {name.lower(): value for name, value in (headers or {}).items()}, b"")


class ScriptExhaustedError(AssertionError):
    pass


class Script:
    """The scripted answers to a flow's requests, in order."""

    def __init__(self, clock: Clock, answers: Sequence[Reply | BaseException]) -> None:
        self.clock = clock
        self._answers = list(answers)
        self.effects: list[Effect] = []

    def run(self, flow: Flow[T]) -> T:
        value: Any = None
        error: BaseException | None = None
        while not isinstance(effect := advance(flow, value, error), StopIteration):
            self.effects.append(effect)
            value, error = None, None
            if isinstance(effect, Send):
                if not self._answers:
                    raise ScriptExhaustedError(f"no scripted answer for {effect.request}")
                answer = self._answers.pop(0)
                if isinstance(answer, BaseException):
                    error = answer
                else:
                    value = answer
            elif isinstance(effect, Sleep):
                self.clock.now += effect.seconds
        return cast(T, effect.value)

    @property
    def unused(self) -> int:
        return len(self._answers)

    @property
    def sent(self) -> list[Send]:
        return [e for e in self.effects if isinstance(e, Send)]

    @property
    def sleeps(self) -> list[float]:
        return [e.seconds for e in self.effects if isinstance(e, Sleep)]

    @property
    def emitted(self) -> list[StatusReport]:
        return [e.report for e in self.effects if isinstance(e, Emit)]
