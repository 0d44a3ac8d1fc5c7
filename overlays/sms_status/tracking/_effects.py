"""The effects `Engine.run` yields for a tracker to carry out — `Poll` ids, `HandOver` an
outcome to `on_final`, `Wait` — and what a tracker throws back when it cannot poll."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import attrs

from sms_status.tracking._model import Outcome


@attrs.frozen
class Poll:
    provider: str
    message_ids: list[str]


@attrs.frozen
class HandOver:
    outcome: Outcome


@attrs.frozen
class Wait:
    seconds: float
    """How long until something is due; `_engine.IDLE_LOOK` at most is waited in real time."""


Effect = Poll | HandOver | Wait


class Unpolled(Exception):
    """A driver could not make the client a `Poll` needs (no API key set, say): `error`."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


Flow = Generator[Effect, Any, None]
Polled = Generator[Effect, Any, Exception | None]  # a round's: the error that refused it
