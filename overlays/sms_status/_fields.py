"""Typed readers for values taken out of generated models.

The generated models do not check scalar types (`"3"` stays a str where an int is declared)
and let garbage timestamps through as str, so provider modules read every field through
these. A wrong type raises ValueError, which the core turns into MalformedResponseError.

That is right for what a report cannot do without — the status and the message id. The
other fields (times, cost, counts, recipient, codes) are read through `Secondary`: an
unreadable value becomes None and a warning on the `sms_status` logger, so a vendor's odd
timestamp never costs the user the status.
"""

from __future__ import annotations

import logging
import sys
import threading
import typing
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

import attrs

from sms_status._redact import redact

log = logging.getLogger("sms_status")

T = TypeVar("T")

_WARNED_LIMIT = 10_000
"""At most this many distinct warnings are remembered (then they are all logged)."""
_warned: set[tuple[str, ...]] = set()
_warned_lock = threading.Lock()


_secret: ContextVar[str] = ContextVar("sms_status_reading_secret", default="")


class redacting:
    """While reading a response, warnings replace `secret` (a server may echo the key).

    A class, not a `contextlib.contextmanager`: it runs once per response read, and a
    generator-based one costs four times as much."""

    __slots__ = ("_secret", "_token")

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def __enter__(self) -> None:
        self._token = _secret.set(self._secret)

    def __exit__(self, *exc_info: object) -> None:
        _secret.reset(self._token)


def warn_once(key: tuple[str, ...], message: str, *args: object) -> None:
    """Log a warning on the `sms_status` logger once per `key` in this process."""
    text = message % args
    secret = _secret.get()
    if secret:
        text = redact(text, secret)
        key = tuple(redact(part, secret) for part in key)
    with _warned_lock:
        if key in _warned:
            return
        if len(_warned) < _WARNED_LIMIT:
            _warned.add(key)
    log.warning("%s", text)


def short(value: object) -> str:
    """`repr(value)` for a warning, at most 80 characters, scrubbed before it is cut."""
    text = redact(repr(value), _secret.get())
    return text if len(text) <= 80 else text[:77] + "..."


def is_unset(value: object) -> bool:
    """True for the generated clients' UNSET sentinel (each package has its own class)."""
    cls = type(value)
    if cls in _unset_types:
        return True
    if cls.__name__ == "Unset" and cls.__module__.startswith("sms_status_"):
        _unset_types.add(cls)
        return True
    return False


_unset_types: set[type] = set()
"""The Unset classes met so far (one per generated package): a set lookup per field read."""


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


def error_code_in(value: object) -> str | None:
    """An error code from a body, as text: a non-empty string or an integer; else None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def json_object(value: object) -> dict[str, object]:
    """`value` if it is a JSON object, else an empty one (for reading error bodies)."""
    return cast(dict[str, object], value) if isinstance(value, dict) else {}


@attrs.frozen
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
        return self._read(lambda: optional_decimal(value, field), value, field)

    def decimal_text(self, value: object, field: str) -> Decimal | None:
        return self._read(lambda: decimal_text(value, field), value, field)

    def timestamp(self, value: object, field: str, *, naive_tz: tzinfo = UTC) -> datetime | None:
        if value is None or (type(value) is datetime and value.tzinfo is not None):
            return value
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


_JSON_VALUES = (dict, list, str, int, float, bool, type(None))


def is_overlay_bug(exc: BaseException) -> bool:
    """True when a reader failed on our own objects, not on the body's data.

    An AttributeError on a generated model, a report or any non-JSON object means the
    overlay reads a field the generated model lacks (e.g. the spec renamed it and the
    provider module was not updated): a bug in this SDK, not a malformed response. One on
    a JSON value or the UNSET sentinel is the body's shape (a string where an object was
    expected, an absent optional field).
    """
    if not isinstance(exc, AttributeError):
        return False
    target = getattr(exc, "obj", None)
    return not (isinstance(target, _JSON_VALUES) or is_unset(target))


def unknown_fields(provider: str, model: object, path: str = "") -> None:
    """Warn (once per provider and field) about response fields the spec does not know:
    the generated models keep them in `additional_properties`."""
    extra = getattr(model, "additional_properties", None)
    if not isinstance(extra, dict) or not attrs.has(type(model)):
        return
    for name in cast(Mapping[str, object], extra):
        field = f"{path}{name}"
        warn_once(
            (provider, "unknown field", field),
            "%s: the response has a field the spec does not describe: %s "
            "(a vendor change? see specs/%s.yaml)",
            provider,
            field,
            provider,
        )
    for name in _model_fields(type(model)):
        value = getattr(model, name)
        # Only models hold unknown fields: anything else is skipped before any recursion
        # (this walk was the overlay's top CPU entry on the bulk path: benchmarks/, 6).
        if isinstance(value, list):
            for item in cast(list[object], value):
                if getattr(item.__class__, "__attrs_attrs__", None) is not None:
                    unknown_fields(provider, item, f"{path}{name}.")
        elif getattr(value.__class__, "__attrs_attrs__", None) is not None:
            unknown_fields(provider, value, f"{path}{name}.")


_MODEL_FIELDS: dict[type, tuple[str, ...]] = {}


def _model_fields(model: type) -> tuple[str, ...]:
    """The fields of a generated model that can hold a model (so may hide unknown fields),
    computed once per model (two threads may both compute them once: the same tuple).

    Scalar fields (`bool`, `str`, `Unset | datetime`) are left out of the per-response walk;
    a field whose annotation cannot be resolved is kept, so nothing is ever missed."""
    names = _MODEL_FIELDS.get(model)
    if names is None:
        hints = _type_hints(model)
        names = _MODEL_FIELDS[model] = tuple(
            a.name
            for a in attrs.fields(cast(Any, model))
            if a.name != "additional_properties"
            and (hints is None or a.name not in hints or _may_hold_model(hints[a.name]))
        )
    return names


def _type_hints(model: type) -> dict[str, object] | None:
    """The model's resolved annotations, or None. The generated modules import the models
    they refer to only under TYPE_CHECKING, so names are looked up in their `models`
    package too, which exports every model."""
    module = sys.modules.get(model.__module__)
    package = sys.modules.get(model.__module__.rpartition(".")[0])
    namespace: dict[str, Any] = {}
    for source in (package, module):
        if source is not None:
            namespace.update(vars(source))
    try:
        return typing.get_type_hints(model, globalns=namespace)
    except Exception:  # an unresolvable annotation (NameError, TypeError): walk every field
        return None


def _may_hold_model(hint: object) -> bool:
    """False only for an annotation that provably holds no attrs model (conservative:
    `Any`, forward references and anything unrecognised count as maybe)."""
    if hint is Any or isinstance(hint, str | typing.ForwardRef | typing.TypeVar):
        return True
    if isinstance(hint, type) and attrs.has(hint):
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is None:
        return not isinstance(hint, type)  # a plain class (bool, str, Unset) holds none
    return any(_may_hold_model(arg) for arg in args) or not args
