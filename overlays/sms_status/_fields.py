"""Typed readers for values taken out of generated models: strict ones for what a report
cannot do without, lenient ones (`Secondary`) for the rest, used alike by polling readers
and webhook readers. (Warnings are `_warnings`'; the generated models' UNSET and unknown
fields are `_generated`'s.)

The generated models do not check scalar types (`"3"` stays a str where an int is declared)
and let garbage timestamps through as str, so provider modules read every field through
these. A wrong type raises ValueError, which the core turns into MalformedResponseError.

That is right for what a report cannot do without — the status and the message id. The
other fields (times, cost, counts, recipient, codes) are read through `Secondary`: an
unreadable value becomes None and a warning on the `sms_status` logger, so a vendor's odd
timestamp never costs the user the status.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

import attrs

from sms_status._generated import is_unset
from sms_status._warnings import short, warn_once

T = TypeVar("T")


def optional_str(value: object, field: str) -> str | None:
    if value is None or is_unset(value):
        return None
    if isinstance(value, str):
        return str.__str__(value)  # an enum member (known or UNRECOGNIZED) -> its raw value
    raise ValueError(f"{field} should be a string, got {kind(value)}")


def required_str(value: object, field: str) -> str:
    if type(value) is str:  # as JSON sends it: the one check a report read makes
        return value
    result = optional_str(value, field)
    if result is None:
        raise ValueError(f"{field} is missing")
    return result


def optional_code(value: object, field: str) -> str | None:
    """A provider code that may come as a string or a number; kept as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return optional_str(value, field)


def optional_int(value: object, field: str) -> int | None:
    if value is None or is_unset(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"{field} should be an integer, got {kind(value)}")


class JsonFloat(float):
    """A JSON number with a fraction or an exponent as `json_value` reads it: a float that
    keeps its text, read as the exact decimal the provider wrote (a float's shortest repr
    rounds past 17 significant digits and drops trailing zeros: "0.0850" read 0.085)."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> JsonFloat:
        number = float.__new__(cls, text)
        number.text = text
        return number

    def __reduce__(self) -> tuple[type[JsonFloat], tuple[str]]:
        return JsonFloat, (self.text,)  # every pickle protocol (0 and 1 refuse __slots__)

    def exact(self) -> Decimal:
        """Its text as a Decimal; the float's shortest repr where Decimal cannot hold that
        exponent ("0e9999999999999999999": an InvalidOperation escaped parse())."""
        try:
            return Decimal(self.text)
        except InvalidOperation:
            return Decimal(repr(float(self)))


def kind(value: object) -> str:
    """The JSON type of `value` as errors name it (a `JsonFloat` is a "float")."""
    return "float" if type(value) is JsonFloat else type(value).__name__


def optional_decimal(value: object, field: str) -> Decimal | None:
    """The JSON number as a Decimal: ints exactly, floats as their JSON text (`JsonFloat`),
    others by their shortest repr."""
    if value is None or is_unset(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field} should be a number, got bool")
    if isinstance(value, (int, float, Decimal)):  # a tuple: no union object built per call
        if isinstance(value, float) and not math.isfinite(value):  # JSON's "1e999" too
            raise ValueError(f"{field} is not a finite number")
        if type(value) is JsonFloat:
            result = value.exact()
        else:
            result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not result.is_finite():
            raise ValueError(f"{field} is not a finite number")
        return result
    raise ValueError(f"{field} should be a number, got {kind(value)}")


def decimal_text(value: object, field: str) -> Decimal | None:
    """A price sent as a decimal string ("0.075"), or as a JSON number."""
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"{field} is not a decimal number") from exc
        if not result.is_finite():
            raise ValueError(f"{field} is not a finite number")
        return result
    return optional_decimal(value, field)


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
        raise ValueError(f"{field} should be a timestamp, got {kind(value)}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_tz)
    return parsed


def _lenient(value: str, field: str) -> datetime:
    from dateutil import parser  # imported on demand: it costs import time

    try:
        return parser.isoparse(value)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{field} is not a timestamp: {value!r}") from exc


def json_value(content: bytes) -> object:
    """`json.loads(content)`, for the bodies every reply and webhook has: UTF-8, an object or
    an array. Those are read without its Python-level encoding detection, and with a plain
    check of what follows the value (JSON whitespace only) instead of its two regex matches
    and two more calls. Raises what `json.loads` raises (ValueError, UnicodeDecodeError,
    RecursionError)."""
    if content[:1] in _UTF8_OPENERS and content[1:2] != b"\x00":  # not UTF-16/32
        text = content.decode("utf-8", "surrogatepass")
        value, end = _DECODER.raw_decode(text)
        if end != len(text) and text[end:].strip(_JSON_WHITESPACE):
            raise ValueError(f"extra data after the JSON value, at {end}")
        return value
    return json.loads(content, parse_float=JsonFloat)


_UTF8_OPENERS = (b"{", b"[")
_DECODER = json.JSONDecoder(parse_float=JsonFloat)
_JSON_WHITESPACE = " \t\n\r"


def as_dict(value: object, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{field} should be an object, got {kind(value)}")
    # Typed by the check (JSON keys are str): no cast() call on every read.
    return value  # pyright: ignore[reportUnknownVariableType]


def error_code_in(value: object) -> str | None:
    """An error code from a body, as text: a non-empty string or an integer; else None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def json_object(value: object) -> dict[str, object]:
    """`value` if it is a JSON object, else an empty one (for reading error bodies)."""
    # Typed by the check (JSON keys are str): no cast() call on every read.
    return value if isinstance(value, dict) else {}  # pyright: ignore[reportUnknownVariableType]


# Internal records: no generated __eq__/__repr__, each of which costs import time (bench 4).
@attrs.frozen(eq=False, repr=False)
class Secondary:
    """Lenient readers for a report's secondary fields: None and a warning (once per
    provider, field and value) instead of ValueError."""

    provider: str

    def _read(self, read: Callable[[], T], value: object, field: str) -> T | None:
        try:
            return read()
        except ValueError as exc:
            warn_once(
                (self.provider, "unreadable", field, short(value)),
                "%s: ignoring unreadable %s %s (%s); the rest of the report is kept",
                self.provider,
                field,
                short(value),
                exc,
            )
            return None

    # Each reader first takes the common well-formed value as is (a plain str, a
    # non-negative int, an aware datetime, null): a report reads several per response.

    def text(self, value: object, field: str) -> str | None:
        if value is None or type(value) is str:
            return value
        return self._read(lambda: optional_str(value, field), value, field)

    def code(self, value: object, field: str) -> str | None:
        if value is None or type(value) is str:
            return value
        return self._read(lambda: optional_code(value, field), value, field)

    def integer(self, value: object, field: str) -> int | None:
        return self._read(lambda: optional_int(value, field), value, field)

    def count(self, value: object, field: str) -> int | None:
        """A non-negative integer (recipients, segments)."""
        if value is None or (type(value) is int and value >= 0):
            return value

        def read() -> int | None:
            result = optional_int(value, field)
            if result is not None and result < 0:
                raise ValueError(f"{field} should not be negative")
            return result

        return self._read(read, value, field)

    def number(self, value: object, field: str) -> Decimal | None:
        if value is None:
            return None
        if type(value) is JsonFloat and math.isfinite(value):  # a price, as JSON sends one
            return value.exact()
        return self._read(lambda: optional_decimal(value, field), value, field)

    def decimal_text(self, value: object, field: str) -> Decimal | None:
        return self._read(lambda: decimal_text(value, field), value, field)

    def timestamp(self, value: object, field: str, *, naive_tz: tzinfo = UTC) -> datetime | None:
        if value is None or (type(value) is datetime and value.tzinfo is not None):
            return value
        if type(value) is str:  # as JSON sends one: read here unless odd
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                pass
            else:  # naive: in the provider's zone, as `timestamp` reads it (seven's Berlin)
                return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=naive_tz)
        return self._read(lambda: timestamp(value, field, naive_tz=naive_tz), value, field)

    def times_before_parsing(
        self, body: object, path: Sequence[str], fields: Sequence[str]
    ) -> object:
        """`body` with unreadable optional date-times under `path` dropped (with a warning)
        or rewritten in ISO form, so the generated model's strict `fromisoformat` keeps the
        report. Only for fields the spec makes optional: a dropped one reads as unset."""
        unchanged: object = body
        if not isinstance(body, dict):
            return unchanged
        outer = dict(cast(dict[str, Any], body))
        container: dict[str, Any] = outer
        for key in path:
            inner = container.get(key)
            if not isinstance(inner, dict):
                return unchanged
            container[key] = container = dict(cast(dict[str, Any], inner))
        for field in fields:
            if field not in container or container[field] is None:
                continue  # absent, or null: the generated model decides
            value = container[field]
            if isinstance(value, str):
                try:
                    datetime.fromisoformat(value)
                    continue
                except ValueError:
                    pass
            name = ".".join((*path, field))
            parsed = self.timestamp(value, name)
            if parsed is None:
                del container[field]
            else:
                container[field] = parsed.isoformat()
        return outer
