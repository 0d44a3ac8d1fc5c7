"""Input checks at the edge, before any request is made."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_PAGE_SIZE = 100
"""namirial's documented maximum `count`; larger values are capped like the API does."""

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def message_id(value: object, *, what: str = "message id", separator: str | None = None) -> str:
    """Return `value` if it can be sent as one path segment, else raise ValueError.

    Only empty ids, `.`, `..` and ids with control characters are refused: the first three
    would collapse into dot segments (path traversal), the last cannot be sent faithfully.
    Everything else is percent-encoded into exactly one segment by the generated client.
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if value in ("", ".", ".."):
        raise ValueError(f"invalid {what} {value!r}: empty, '.' and '..' are never sent")
    if _CONTROL.search(value):
        raise ValueError(f"invalid {what} {value!r}: control characters are not allowed")
    if separator and separator in value:
        # seven joins ids with commas into one msg_id: such an id would be split in two.
        raise ValueError(f"invalid {what} {value!r}: {separator!r} separates ids here")
    return value


def message_ids(values: Iterable[str], *, separator: str | None = None) -> list[str]:
    """Validate every id before the first request; a bare string is refused, not split."""
    if isinstance(values, str):
        raise TypeError("message_ids must be a list of ids, not a single str")
    return [message_id(v, separator=separator) for v in values]


def e164(value: object) -> str:
    """Return `value` if it is an E.164 phone number (`+` and 7 to 15 digits)."""
    if not isinstance(value, str) or not _E164.fullmatch(value):
        raise ValueError(f"phone number {value!r} is not E.164 (for example +14155551234)")
    return value


def page_count(value: object, *, name: str = "count") -> int:
    """Return `value` capped at 100 (as the API caps it); below 1 is a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return min(value, MAX_PAGE_SIZE)


def positive_limit(value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or value < 0):
        raise ValueError(f"limit must be None or >= 0, got {value!r}")
    return value
