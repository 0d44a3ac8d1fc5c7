"""Every example in every spec validates against its own schema.

Examples are the providers' own payloads (or, where marked, shapes constructed from their
pages); a spec whose schema rejects its own example is wrong about the provider. Each
example is validated as JSON Schema Draft 2020-12 (OpenAPI 3.1's dialect) against the
schema at its location in the document, with a `referencing` registry holding the whole
spec so that `#/components/...` references resolve against it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sms_status._registry import PROVIDERS

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Example:
    provider: str
    where: str  # human-readable, becomes the test id
    schema_pointer: str  # JSON pointer (without '#') of the schema in the spec document
    value: Any


@cache
def load_spec(provider: str) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((ROOT / "specs" / f"{provider}.yaml").read_text())
    return spec


def _uri(provider: str) -> str:
    return f"urn:sms-status:spec:{provider}"


@cache
def _registry(provider: str) -> Registry:
    resource = Resource(contents=load_spec(provider), specification=DRAFT202012)
    return Registry().with_resource(_uri(provider), resource)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(*tokens: str) -> str:
    return "".join("/" + _escape(t) for t in tokens)


def _resolve_local(spec: dict[str, Any], node: dict[str, Any], pointer: str) -> tuple[Any, str]:
    """Follow local `$ref`s (responses, parameters); return the target and its pointer."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local refs are expected, got {ref}"
        pointer = ref[1:]
        node = spec
        for token in pointer.split("/")[1:]:
            node = node[token.replace("~1", "/").replace("~0", "~")]
    return node, pointer


def _examples_of(node: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(name, value) of a media type's or parameter's `example` / `examples`."""
    if "example" in node:
        yield "example", node["example"]
    for name, example in (node.get("examples") or {}).items():
        if "value" in example:
            yield name, example["value"]


def collect_examples(provider: str) -> list[Example]:
    spec = load_spec(provider)
    found: list[Example] = []
    operations = [("paths", path, item) for path, item in spec.get("paths", {}).items()]
    operations += [("webhooks", name, item) for name, item in spec.get("webhooks", {}).items()]
    for section, path, item in operations:
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            label = f"{provider}:{method.upper()} {path}"
            op_ptr = _pointer(section, path, method)
            params = [
                (param, _pointer("paths", path, "parameters", str(i)))
                for i, param in enumerate(item.get("parameters", []))
            ] + [
                (param, f"{op_ptr}/parameters/{i}")
                for i, param in enumerate(op.get("parameters", []))
            ]
            for raw_param, raw_ptr in params:
                param, ptr = _resolve_local(spec, raw_param, raw_ptr)
                for name, value in _examples_of(param):
                    suffix = "" if name == "example" else f":{name}"
                    found.append(
                        Example(
                            provider,
                            f"{label}:param:{param['name']}{suffix}",
                            f"{ptr}/schema",
                            value,
                        )
                    )
            # Webhook payloads: the request bodies the provider sends us.
            body_content = (op.get("requestBody") or {}).get("content") or {}
            for media, media_obj in body_content.items():
                for name, value in _examples_of(media_obj):
                    found.append(
                        Example(
                            provider,
                            f"{label}:requestBody:{name}",
                            f"{op_ptr}/requestBody/content/{_escape(media)}/schema",
                            value,
                        )
                    )
            for code, raw_response in op.get("responses", {}).items():
                response, ptr = _resolve_local(spec, raw_response, f"{op_ptr}/responses/{code}")
                content = response.get("content") or {}
                for media, media_obj in content.items():
                    media_label = "" if media == "application/json" else f":{media}"
                    for name, value in _examples_of(media_obj):
                        found.append(
                            Example(
                                provider,
                                f"{label}:{code}{media_label}:{name}",
                                f"{ptr}/content/{_escape(media)}/schema",
                                value,
                            )
                        )
    return found


ALL_EXAMPLES = [example for provider in PROVIDERS for example in collect_examples(provider)]


def test_examples_were_found() -> None:
    # Guard against the collector silently finding nothing (every spec has examples).
    assert {example.provider for example in ALL_EXAMPLES} == set(PROVIDERS)


@pytest.mark.parametrize("example", ALL_EXAMPLES, ids=[e.where for e in ALL_EXAMPLES])
def test_example_validates_against_its_schema(example: Example) -> None:
    errors = sorted(
        _validator_for(example).iter_errors(example.value), key=lambda e: list(e.absolute_path)
    )
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
    )


def _operations(provider: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in load_spec(provider).get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_documented_200_has_an_example(provider: str) -> None:
    """Each operation with a 200 response has a 200 example (except `x-inferred` ones)."""
    spec = load_spec(provider)
    missing = []
    for label, op in _operations(provider):
        if op.get("x-inferred") is True or "200" not in op.get("responses", {}):
            continue
        response, _ = _resolve_local(spec, op["responses"]["200"], "")
        content = response.get("content") or {}
        if not any(list(_examples_of(media)) for media in content.values()):
            missing.append(label)
    assert not missing, f"{provider}: 200 responses without an example: {missing}"


def _validator_for(example: Example) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"{_uri(example.provider)}#{example.schema_pointer}"},
        registry=_registry(example.provider),
        format_checker=FormatChecker(),
    )


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda v: v["message"].__setitem__("cost", "cheap"), "is not of type"),
        (lambda v: v["message"].pop("message_id"), "is a required property"),
        (lambda v: v["message"].__setitem__("created_at", "yesterday"), "is not a 'date-time'"),
    ],
    ids=["wrong-type", "missing-required", "bad-date-time"],
)
def test_the_check_rejects_a_broken_example(mutate: Any, expected: str) -> None:
    """The validation above is not vacuous: refs resolve, required and formats are enforced."""
    [example] = [
        e for e in ALL_EXAMPLES if e.where.endswith(":200:delivered") and e.provider == "telecom23"
    ]
    value = copy.deepcopy(example.value)
    mutate(value)
    messages = [error.message for error in _validator_for(example).iter_errors(value)]
    assert any(expected in m for m in messages), messages
