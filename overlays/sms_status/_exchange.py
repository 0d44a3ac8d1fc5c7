"""What one HTTP attempt hands a flow: plain data, in no HTTP library's types.

A driver (`sms_status._drivers`) turns whatever its transport returned into a `Reply` and
whatever it raised into `AttemptTimeout`, `BodyRejected` or another exception thrown into the
flow, so `sms_status._flows` can be run, and tested, with scripted replies and no network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

import attrs

__all__ = ["AttemptTimeout", "BodyRejected", "Reply", "header_items"]


# Not frozen: a frozen attrs class takes ~3k more instructions to build. No __eq__ or
# __repr__: an internal record, and each generated method costs import time (bench 4).
@attrs.define(eq=False, repr=False)
class Reply:
    """What a flow gets back from one attempt: the status, headers and the capped body."""

    status_code: int
    headers: Mapping[str, str]
    """Lower-case names, or a case-insensitive mapping (a driver passes `httpx.Headers`)."""
    content: bytes


class AttemptTimeout(Exception):
    """The whole attempt (connect, send, the entire body) did not finish in time."""


class BodyRejected(Exception):
    """The body was cut off: larger than the cap, or in an encoding that cannot be read."""

    def __init__(self, reason: str, *, status_code: int, headers: Mapping[str, str]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.headers = headers


@runtime_checkable
class _MultiMapping(Protocol):
    """A header mapping that keeps repeated names (`httpx.Headers`)."""

    def multi_items(self) -> list[tuple[str, str]]: ...


def header_items(headers: Mapping[str, str]) -> Iterable[tuple[str, str]]:
    """Every header line, repeated names included when the mapping keeps them."""
    if isinstance(headers, _MultiMapping):
        return headers.multi_items()
    return headers.items()
