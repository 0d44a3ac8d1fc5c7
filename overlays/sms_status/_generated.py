"""The boundary with the generated clients' models: their UNSET sentinel, the fields the
spec does not know (`additional_properties`), and telling a reader's bug from a bad body.

Every generated package has its own `Unset` class and its own models; this module is the
one place that recognises them, by shape, without importing any generated package.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Mapping
from typing import Any, cast

import attrs

from sms_status._warnings import warn_once


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
    # alias on every call, and this runs per model of every report read.
    for name in cast("Mapping[str, object]", extra):
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
