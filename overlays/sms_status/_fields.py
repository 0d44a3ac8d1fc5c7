"""Typed readers for values taken out of generated models.

The generated models do not check scalar types (`"3"` stays a str where an int is declared)
and let garbage timestamps through as str, so provider modules read every field through
these. A wrong type raises ValueError, which the core turns into MalformedResponseError.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, cast


def is_unset(value: object) -> bool:
    """True for the generated clients' UNSET sentinel (each package has its own class)."""
    cls = type(value)
    return cls.__name__ == "Unset" and cls.__module__.startswith("sms_status_")


def optional_str(value: object, field: str) -> str | None:
    if value is None or is_unset(value):
        return None
    if isinstance(value, str):
        return str.__str__(value)  # an enum member (known or UNRECOGNIZED) -> its raw value
    raise ValueError(f"{field} should be a string, got {type(value).__name__}")


def required_str(value: object, field: str) -> str:
    result = optional_str(value, field)
    if result is None:
        raise ValueError(f"{field} is missing")
    return result


def code_str(value: object, field: str) -> str | None:
    """A provider code that may come as a string or a number; kept as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return optional_str(value, field)


def optional_int(value: object, field: str) -> int | None:
    if value is None or is_unset(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"{field} should be an integer, got {type(value).__name__}")


def optional_decimal(value: object, field: str) -> Decimal | None:
    """The JSON number as a Decimal: ints exactly, floats by their shortest repr (which is
    the JSON text for any price a provider sends)."""
    if value is None or is_unset(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field} should be a number, got bool")
    if isinstance(value, int | float | Decimal):
        try:
            result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"{field} is not a finite number") from exc
        if not result.is_finite():
            raise ValueError(f"{field} is not a finite number")
        return result
    raise ValueError(f"{field} should be a number, got {type(value).__name__}")


def timestamp(value: object, field: str, *, naive_tz: tzinfo = UTC) -> datetime | None:
    """A timezone-aware datetime. `""` and null are None; a naive value is read in `naive_tz`
    (UTC unless the provider documents otherwise); anything unparsable raises ValueError."""
    if value is None or is_unset(value) or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = _lenient(value, field)
    else:
        raise ValueError(f"{field} should be a timestamp, got {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_tz)
    return parsed


def _lenient(value: str, field: str) -> datetime:
    from dateutil import parser  # imported on demand: it costs import time

    try:
        return parser.isoparse(value)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{field} is not a timestamp: {value!r}") from exc


def as_dict(value: object, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{field} should be an object, got {type(value).__name__}")
    return cast(dict[str, Any], value)


def code_text(value: object) -> str | None:
    """An error code from a body, as text: a non-empty string or an integer; else None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def json_object(value: object) -> dict[str, object]:
    """`value` if it is a JSON object, else an empty one (for reading error bodies)."""
    return cast(dict[str, object], value) if isinstance(value, dict) else {}
