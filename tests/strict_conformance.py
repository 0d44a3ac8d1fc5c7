"""Strict conformance of what a sandbox serves: the spec made strict, and the generated models.

`StrictConformance(key).problems(route, response)` checks one answer of a sandbox route:

(a) its JSON body validates against the spec's response schema for that path and HTTP status,
    every object schema treated as ``additionalProperties: false`` unless the spec says
    otherwise (a permissive schema the spec marks ``additionalProperties: true`` stays so; the
    status enums stay open, as every spec says of its status set);
(b) it parses through the generated client's own ``_parse_response`` for that operation with
    ``additional_properties`` empty in every model at every level.

Each problem is one line that names the field, the spec and the sandbox fake to update, e.g.
"the sandbox serves `delivered_at`, which specs/telecom23.yaml no longer has: update
overlays/sms_status/testing/telecom23.py".
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
import re
from collections.abc import Iterator
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import attrs
import httpx
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from sms_status._registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
_NOT_SCHEMAS = frozenset({"example", "examples", "x-finality"})


def _strict(node: Any) -> Any:
    """A copy of a spec fragment with every object schema closed unless it says otherwise."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in _NOT_SCHEMAS else _strict(v)) for k, v in node.items()}
    kind = node.get("type")
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    if (is_object or isinstance(node.get("properties"), dict)) and (
        "additionalProperties" not in node
    ):
        out["additionalProperties"] = False
    if "x-finality" in node:
        # Each spec calls its status set open ("The set is open"): the enum documents the
        # known values; a new one is the SDK's UNRECOGNIZED, not an off-spec body.
        out.pop("enum", None)
    return out


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def _leaf_errors(error: ValidationError) -> Iterator[ValidationError]:
    """The innermost errors (a oneOf/anyOf failure explains itself through its branches)."""
    if not error.context:
        yield error
        return
    for sub in error.context:
        yield from _leaf_errors(sub)


def _where(path: Any) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path) or "the body"


@cache
def strict_conformance(key: str) -> StrictConformance:
    """The check of ``key`` against its own spec, built once per test process."""
    return StrictConformance(key)


class StrictConformance:
    """Checks a provider's sandbox answers against ``spec_path`` (default: its own spec)."""

    def __init__(self, key: str, spec_path: Path | None = None) -> None:
        entry = REGISTRY[key]
        self.key = key
        self.spec_name = entry.spec
        self.fake_path = "overlays/" + entry.sandbox_module.replace(".", "/") + ".py"
        self.spec: dict[str, Any] = yaml.safe_load((spec_path or ROOT / entry.spec).read_text())
        self._package = entry.package
        self._validators: dict[str, Draft202012Validator] = {}

    @cached_property
    def _strict_spec(self) -> dict[str, Any]:
        strict: dict[str, Any] = _strict(copy.deepcopy(self.spec))
        return strict

    def _fix(self) -> str:
        return f"update {self.fake_path}"

    def problems(self, template: str, response: httpx.Response) -> list[str]:
        """Every way ``response`` (an answer of the route ``template``) is not the spec's."""
        ctype = response.headers.get("content-type", "")
        if not response.content or "json" not in ctype:
            return []
        where = f"{self.key} GET {template} -> {response.status_code}"
        operation = self.spec["paths"].get(template, {}).get("get")
        if operation is None:
            return [f"{where}: {self.spec_name} has no such path: {self._fix()}"]
        status = str(response.status_code)
        responses = operation["responses"]
        answer_key = status if status in responses else "default"
        if answer_key not in responses:
            return [
                f"{where}: the sandbox answers HTTP {status}, which {self.spec_name} does not "
                f"document for this path: {self._fix()}"
            ]
        schema_ref = self._schema_pointer(template, answer_key)
        if schema_ref is None:
            return [
                f"{where}: the sandbox serves a JSON body where {self.spec_name} documents "
                f"none: {self._fix()}"
            ]
        found = [f"{where}: {p}" for p in self._schema_problems(schema_ref, response.json())]
        if not found:  # a body the schema refuses is explained by the schema errors alone
            found = [f"{where}: {p}" for p in self._model_problems(operation, response)]
        return found

    def reply_problems(self, template: str, reply: Any, fault: Any) -> list[str]:
        """``problems`` of a sandbox ``Reply`` as it leaves the sandbox (``reply_observer``).

        A fault meant to break the answer (truncated, wrong types, HTML, ...) claims no
        conformance; the faults that answer in the provider's own JSON (``error``,
        ``server_error``, ``rate_limit``) do, for an HTTP status the spec documents.
        """
        if fault is not None:
            if fault.kind not in ("error", "server_error", "rate_limit"):
                return []
            documented = self.spec["paths"].get(template, {}).get("get", {}).get("responses", {})
            if str(reply.status) not in documented and "default" not in documented:
                return []
        headers = {} if reply.content_type is None else {"content-type": reply.content_type}
        response = httpx.Response(reply.status, content=reply.body, headers=headers)
        return self.problems(template, response)

    def _schema_pointer(self, template: str, answer_key: str) -> str | None:
        answer = self.spec["paths"][template]["get"]["responses"][answer_key]
        parts: tuple[str, ...] = ("paths", template, "get", "responses", answer_key)
        if "$ref" in answer:
            parts = tuple(answer["$ref"].removeprefix("#/").split("/"))
            answer = self.spec
            for part in parts:
                answer = answer[part]
        for media, content in answer.get("content", {}).items():
            if "json" in media and "schema" in content:
                return _pointer(*parts, "content", media, "schema")
        return None

    def _validator(self, pointer: str) -> Draft202012Validator:
        validator = self._validators.get(pointer)
        if validator is None:
            root = {**self._strict_spec, "$ref": pointer}
            validator = Draft202012Validator(
                root, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            self._validators[pointer] = validator
        return validator

    def _schema_problems(self, pointer: str, body: Any) -> list[str]:
        errors = list(self._validator(pointer).iter_errors(body))
        if not errors:
            return []
        leaves = [leaf for error in errors for leaf in _leaf_errors(error)]
        extra = [e for e in leaves if e.validator == "additionalProperties"]
        found: list[str] = []
        for error in extra or leaves:
            if error.validator == "additionalProperties":
                declared = set(error.schema.get("properties", {}))
                for name in sorted(set(error.instance) - declared):
                    found.append(
                        f"the sandbox serves `{name}` (at {_where(error.absolute_path)}), which "
                        f"{self.spec_name} no longer has: {self._fix()}"
                    )
            else:
                found.append(
                    f"{_where(error.absolute_path)}: {error.message}, which {self.spec_name} "
                    f"does not allow: {self._fix()}"
                )
        return sorted(set(found))

    def _model_problems(self, operation: dict[str, Any], response: httpx.Response) -> list[str]:
        module = self._operation_module(_snake(operation["operationId"]))
        client_module = importlib.import_module(f"{self._package}.client")
        client = client_module.Client(base_url="http://sandbox.invalid")
        parsed = module._parse_response(client=client, response=response)
        return [
            f"the generated model {name} keeps `{field}` as an unknown field "
            f"(additional_properties): {self._fix()}, or regenerate from {self.spec_name}"
            for name, field in _unknown_fields(parsed)
        ]

    def _operation_module(self, name: str) -> Any:
        api = importlib.import_module(f"{self._package}.api")
        for info in pkgutil.walk_packages(api.__path__, f"{api.__name__}."):
            if info.name.rsplit(".", 1)[-1] == name:
                return importlib.import_module(info.name)
        raise LookupError(f"{self._package} generated no module {name} (nox -s generate)")


def _unknown_fields(value: Any) -> Iterator[tuple[str, str]]:
    """(model class, field) for every key a generated model kept in additional_properties."""
    if isinstance(value, list):
        for item in value:
            yield from _unknown_fields(item)
        return
    if not attrs.has(type(value)):
        return
    declared = [f.name for f in attrs.fields(type(value)) if f.name != "additional_properties"]
    if not declared:
        return  # an opaque object by the spec's own word ("its fields are not published")
    for name in getattr(value, "additional_properties", {}):
        yield type(value).__name__, name
    for field in attrs.fields(type(value)):
        if field.name != "additional_properties":
            yield from _unknown_fields(getattr(value, field.name))
