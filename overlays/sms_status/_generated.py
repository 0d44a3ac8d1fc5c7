"""The boundary with the generated clients' models: their UNSET sentinel, the fields the
spec does not know (`additional_properties`), and telling a reader's bug from a bad body.

Every generated package has its own `Unset` class and its own models; this module is the
one place that recognises them, by shape, without importing any generated package.
"""

from __future__ import annotations

import datetime
import sys
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

import attrs

from sms_status._warnings import shown, warn_once
from sms_status.report import Deferred, GeneratedModel


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


_JSON_VALUES = (dict, list, str, int, float, bool, type(None))


def deferred(
    provider: str,
    model: type[GeneratedModel],
    data: dict[str, Any],
    *,
    times: Sequence[tuple[str, ...]] = (),
) -> object:
    """`model.from_dict(data)`, checked now and built later: the model a reader reads, or a
    `Deferred` one.

    Building the generated model is the largest part of reading a response (benchmarks/,
    profiles.md), and most readers never look at it. Whether `from_dict` succeeds depends
    on which keys a body has and on the type of the values it parses (an enum's string, a
    nested object) — and, for the strict date-times listed in `times` (paths of keys), on
    their text. So a body is built here, as always, unless it fits a `Plan` learnt from an
    earlier body that built: a bad one raises now, and fields the spec does not describe are
    warned about (`unknown_fields`), since a body with other keys fits no plan.
    """
    for plan in _PLANS.get(model, ()):
        if _fits(plan, data):
            if not times or all(_parses(data, path) for path in times):
                return Deferred(model, data)
            break
    built = model.from_dict(data)
    unknown_fields(provider, built)
    _learn(model, data, built)
    return built


Plan = tuple[tuple[str, ...], tuple[tuple[str, type[object], "Plan | None"], ...]]
"""What a body must be for `from_dict` to read it as it read the one the plan was learnt
from: an object with the same keys in the same order, whose values at the positions the
model parses (`_rejects`) have the same types, nested objects fitting their own plans."""

_PLANS: dict[type, list[Plan]] = {}
_LEARNT: dict[type, int] = {}
_MAX_LEARNT: Final = 16
"""Bodies learnt from per model, whether a plan came of them or not (probing costs a
`from_dict` per key): a server inventing shapes beyond them is read the slow way."""


def _fits(plan: Plan, data: dict[str, Any]) -> bool:
    keys, checks = plan
    if tuple(data) != keys:
        return False
    for key, kind, inner in checks:
        if type(data[key]) is not kind or (inner is not None and not _fits(inner, data[key])):
            return False
    return True


def _learn(model: type[GeneratedModel], data: dict[str, Any], built: Any) -> None:
    """Keep a plan of `data`, which built, unless the model took one of its values as
    something else (`_same_structure`) or parses a list (not planned: read the slow way)."""
    learnt = _LEARNT.get(model, 0)
    if learnt >= _MAX_LEARNT:
        return
    _LEARNT[model] = learnt + 1  # two threads may both count one: never more than a few
    try:
        if not _same_structure(built.to_dict(), data):
            return
        plan = _plan(model, data, data, ())
    except RecursionError:  # a value nested deeper than the walk can go: learn nothing
        return
    plans = _PLANS.setdefault(model, [])
    if plan is not None and plan not in plans:
        plans.append(plan)


def _plan(
    model: type[GeneratedModel], body: dict[str, Any], level: dict[str, Any], path: tuple[str, ...]
) -> Plan | None:
    checks: list[tuple[str, type[object], Plan | None]] = []
    for key, value in level.items():
        if not _rejects(model, body, (*path, key)):
            continue  # any value is read there (a plain field, a union falling back)
        kind: type[object] = type(cast(object, value))
        inner = None
        if isinstance(value, list):
            return None
        if isinstance(value, dict):
            inner = _plan(model, body, cast("dict[str, Any]", value), (*path, key))
            if inner is None:
                return None
        checks.append((key, kind, inner))
    return (tuple(level), tuple(checks))


def _rejects(model: type[GeneratedModel], body: dict[str, Any], path: tuple[str, ...]) -> bool:
    """Whether `from_dict` fails on `body` with the value at `path` replaced by `0`: an enum,
    a nested object, a list or a strict date-time is parsed there, so its type matters."""
    try:
        model.from_dict(_replaced(body, path))
    except Exception:  # whatever the generated code raises on a wrong type
        return True
    return False


def _replaced(level: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    first, rest = path[0], path[1:]
    return {**level, first: _replaced(level[first], rest) if rest else 0}


def _same_structure(written: object, read: object) -> bool:
    """Whether the model wrote back what it read, structurally (keys, nesting, value types;
    order aside). Not so when `from_dict` took a value as something else — `""` or `[]` as
    an empty object, `["ab"]` as `{"a": "b"}` — which other values of that type would fail:
    such a shape is never deferred."""
    if isinstance(read, dict):
        if not isinstance(written, dict):
            return False
        read_fields = cast("dict[str, object]", read)
        written_fields = cast("dict[str, object]", written)
        return written_fields.keys() == read_fields.keys() and all(
            _same_structure(written_fields[k], v) for k, v in read_fields.items()
        )
    if isinstance(read, list):
        if not isinstance(written, list):
            return False
        read_items, written_items = cast("list[object]", read), cast("list[object]", written)
        return len(written_items) == len(read_items) and all(
            _same_structure(w, r) for w, r in zip(written_items, read_items, strict=True)
        )
    return type(written) is type(read)


def _parses(data: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    """Whether the strict date-time at `path` (if there) is one `fromisoformat` reads."""
    value: object = data
    for key in path:
        if not isinstance(value, dict):
            return True  # absent: the plan decides
        value = cast("dict[str, object]", value).get(key)
    if not isinstance(value, str):
        return True
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


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
    if not isinstance(extra, dict) or getattr(type(model), "__attrs_attrs__", None) is None:
        return
    # Casts name their types as text: `cast(Mapping[str, object], x)` builds the generic
    # alias on every call, and this runs per model of every report read. An object the
    # spec declares open (roycetalk's `metadata`: the sender's own data) warns of nothing.
    named: Mapping[str, object] = cast("Mapping[str, object]", extra)
    if getattr(model, "OPEN_BY_SPEC", False):
        named = {}
    for name in named:
        field = f"{path}{name}"
        warn_once(
            (provider, "unknown field", field),
            "%s: the response has a field the spec does not describe: %s "
            "(a vendor change? see specs/%s.yaml)",
            provider,
            shown(field),
            provider,
        )
    for name in _model_fields(type(model)):
        value = getattr(model, name)
        # Only models hold unknown fields: anything else is skipped before any recursion
        # (this walk was the overlay's top CPU entry on the bulk path: benchmarks/, 6).
        if isinstance(value, list):
            for item in cast("list[object]", value):
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
