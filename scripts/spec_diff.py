"""Compare two versions of `specs/<key>.yaml` and say what the change means for users.

    python scripts/spec_diff.py <key> [<git ref>]     # nox -s spec_diff -- <key> [<git ref>]

Compares the spec at the git ref (default HEAD) with the working tree: enums, required and
optional fields, types, defaults, other fields (`additionalProperties`), generated class
names (`title`), parameters, security, servers, paths, deprecations, `x-finality` and
`x-error-codes`. One line per
change, `breaking:` or `compatible:` for users of `sms-status-<key>` (the generated client;
an `sms-status` user is affected only through the overlay, which the hint names), then
`classification: ...` and `proposed bump: sms-status-<key> <old> -> <new>`, then a draft
CHANGELOG entry. Exit 0 either way; 2 on bad arguments (a format scripts rely on: keep it).

Why in-repo: no installable differ handles OpenAPI 3.1 enums, parameters and security here
(openapi-diff rejects 3.1 and ignores enums; oasdiff is not installable).

Rules (the generated client is the contract; statuses are open enums):
- a removed path, operation, parameter, field, enum value, server or security scheme,
  a changed type, default or auth header, a new required parameter, a field that became
  optional (its type gains `Unset`), other fields no longer kept as they came, a `title`
  that renames a generated class, a status or error code leaving `x-finality` /
  `x-error-codes`: breaking;
- anything added that callers need not send, a field that became required, a deprecation,
  a default added or removed: compatible. A new status value is compatible (the SDK
  reports it as UNRECOGNIZED) but wants a row in the overlay's STATUSES; a new error code
  is compatible (the overlay raises a plain ApiError for it) but wants a member in the
  overlay's ErrorCode enum, and a class in ERROR_CLASSES if ApiError is not its class.
Bumps: breaking -> major (minor while 0.x), compatible -> minor (patch while 0.x), nothing
-> the same version.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _providers import provider_keys
from _spec_access import diff_requirements, diff_security, diff_servers
from _spec_bodies import json_schema, parsed_as
from _spec_vendor import diff_error_codes, diff_finality, diff_title, error_enum

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BREAKING, COMPATIBLE = "breaking", "compatible"


@dataclass
class Changes:
    lines: list[tuple[str, str]] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        self.lines.append((kind, text))

    @property
    def breaking(self) -> bool:
        return any(kind == BREAKING for kind, _ in self.lines)


def _type(schema: dict[str, Any]) -> str:
    """A schema's type as one comparable word (`$ref` target, `string/date-time`, ...)."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    kind = schema.get("type")
    text = "|".join(sorted(kind)) if isinstance(kind, list) else str(kind or "any")
    return f"{text}/{schema['format']}" if "format" in schema else text


def diff_schema(where: str, old: Any, new: Any, out: Changes, name: str | None = "") -> None:
    """Types, enums, fields (added, removed, required) and deprecations, recursively.

    `name` is what the generator names the schema's class by when it has no `title` (None:
    a part of an `allOf`, which gets no class of its own)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return
    if _type(old) != _type(new):
        out.add(BREAKING, f"{where} type {_type(old)} -> {_type(new)}")
        return
    diff_title(where, name, old, new, out.add)
    _diff_enum(where, old.get("enum"), new.get("enum"), out)
    diff_finality(where, old.get("x-finality"), new.get("x-finality"), out.add)
    diff_error_codes(where, old.get("x-error-codes"), new.get("x-error-codes"), out.add)
    if new.get("deprecated") and not old.get("deprecated"):
        out.add(COMPATIBLE, f"{where} deprecated")
    _diff_default(where, old, new, out)
    _diff_fields(where, old, new, out)
    _diff_other_fields(where, old.get("additionalProperties"), new.get("additionalProperties"), out)
    diff_schema(f"{where}[]", old.get("items"), new.get("items"), out, f"{name or ''}_item")
    for combinator in ("oneOf", "anyOf", "allOf"):
        old_parts, new_parts = old.get(combinator) or [], new.get(combinator) or []
        if len(old_parts) != len(new_parts):
            widened = combinator != "allOf" and len(new_parts) > len(old_parts)
            out.add(
                COMPATIBLE if widened else BREAKING,
                f"{where} {combinator} {len(old_parts)} -> {len(new_parts)} alternatives",
            )
        for index, (a, b) in enumerate(zip(old_parts, new_parts, strict=False)):
            part = None if combinator == "allOf" else f"{name or ''}_type_{index}"
            diff_schema(f"{where} {combinator}[{index}]", a, b, out, part)


def _diff_default(where: str, old: dict[str, Any], new: dict[str, Any], out: Changes) -> None:
    """The generated code sends a declared default (and reads an absent field as it)."""
    if "default" in old and "default" in new and old["default"] != new["default"]:
        out.add(BREAKING, f"{where} default {old['default']!r} -> {new['default']!r}")
    elif ("default" in old) != ("default" in new):
        gone = "default" in old
        value = (old if gone else new)["default"]
        out.add(COMPATIBLE, f"{where} default {value!r} {'removed' if gone else 'added'}")


def _other_fields(schema: Any) -> str:
    return "any" if schema in (None, True) else "none" if schema is False else _type(schema)


def _diff_other_fields(where: str, old: Any, new: Any, out: Changes) -> None:
    """`additionalProperties`: absent or true keeps unknown keys in the model's
    `additional_properties`, false drops that attribute, a schema types its values."""
    before, after = _other_fields(old), _other_fields(new)
    if isinstance(old, dict) and isinstance(new, dict):
        diff_schema(f"{where}{{*}}", old, new, out, "AdditionalProperty")
    elif before != after:
        kind = BREAKING if before == "any" or after == "none" else COMPATIBLE
        out.add(kind, f"{where} other fields (additional_properties): {before} -> {after}")
    elif (old is True) != (new is True):  # absent and true keep the same keys, but only
        # an explicit true is an open object: its model's OPEN_BY_SPEC, no vendor warnings
        state = "declared open" if new is True else "no longer declared open"
        out.add(COMPATIBLE, f"{where} {state} (OPEN_BY_SPEC: unknown keys warn of nothing)")


def _diff_enum(where: str, old_enum: Any, new_enum: Any, out: Changes) -> None:
    if isinstance(old_enum, list) and isinstance(new_enum, list):
        for value in new_enum:
            if value not in old_enum:
                out.add(COMPATIBLE, f"{where} enum + {value}")
        for value in old_enum:
            if value not in new_enum:
                out.add(BREAKING, f"{where} enum - {value}")
    elif isinstance(new_enum, list) and old_enum is None:
        out.add(BREAKING, f"{where} now restricted to the enum {', '.join(map(str, new_enum))}")
    elif isinstance(old_enum, list) and new_enum is None:
        out.add(COMPATIBLE, f"{where} no longer restricted to an enum")


def _diff_fields(where: str, old: dict[str, Any], new: dict[str, Any], out: Changes) -> None:
    old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
    old_req, new_req = set(old.get("required") or ()), set(new.get("required") or ())
    for name in sorted(new_props.keys() - old_props.keys()):
        how = "required" if name in new_req else "optional"
        out.add(COMPATIBLE, f"{where} new {how} field {name} ({_type(new_props[name])})")
    for name in sorted(old_props.keys() - new_props.keys()):
        out.add(BREAKING, f"{where} field {name} removed")
    for name in sorted(old_props.keys() & new_props.keys()):
        if name in old_req and name not in new_req:
            out.add(BREAKING, f"{where}.{name} no longer required (its type gains Unset)")
        elif name in new_req and name not in old_req:
            out.add(COMPATIBLE, f"{where}.{name} now required")
        diff_schema(f"{where}.{name}", old_props[name], new_props[name], out, name)


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow a local `$ref` (parameters and security schemes are compared by content)."""
    while isinstance(node, dict) and str(node.get("$ref", "")).startswith("#/"):
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return node


def _operations(spec: dict[str, Any]) -> dict[str, tuple[dict[str, Any], list[Any]]]:
    """`GET /path` -> (operation, path-level parameters), webhooks included."""
    found: dict[str, tuple[dict[str, Any], list[Any]]] = {}
    for section, prefix in (("paths", ""), ("webhooks", "webhook ")):
        for path, item in (spec.get(section) or {}).items():
            for method in METHODS:
                if isinstance(item.get(method), dict):
                    found[f"{prefix}{method.upper()} {path}"] = (
                        item[method],
                        item.get("parameters") or [],
                    )
    return found


Parameters = dict[tuple[str, str], dict[str, Any]]


def _parameters(spec: dict[str, Any], operation: dict[str, Any], shared: list[Any]) -> Parameters:
    """(in, name) -> parameter, path-level ones first, `$ref`s followed."""
    params: Parameters = {}
    for raw in [*shared, *(operation.get("parameters") or [])]:
        param = _resolve(spec, raw)
        if isinstance(param, dict) and "name" in param:
            params[(param.get("in", "query"), param["name"])] = param
    return params


def _diff_parameters(where: str, old: Parameters, new: Parameters, out: Changes) -> None:
    for place, name in sorted(new.keys() - old.keys()):
        param = new[(place, name)]
        if param.get("required"):
            out.add(BREAKING, f"{where} new required {place} parameter {name}")
        else:
            out.add(COMPATIBLE, f"{where} new optional {place} parameter {name}")
    for place, name in sorted(old.keys() - new.keys()):
        out.add(BREAKING, f"{where} {place} parameter {name} removed")
    for ident in sorted(old.keys() & new.keys()):
        a, b = old[ident], new[ident]
        label = f"{where} {ident[0]} parameter {ident[1]}"
        if b.get("required") and not a.get("required"):
            out.add(BREAKING, f"{label} now required")
        elif a.get("required") and not b.get("required"):
            out.add(COMPATIBLE, f"{label} now optional")
        if b.get("deprecated") and not a.get("deprecated"):
            out.add(COMPATIBLE, f"{label} deprecated")
        diff_schema(label, a.get("schema"), b.get("schema"), out, ident[1])


def _diff_media_types(where: str, old: Any, new: Any, out: Changes) -> None:
    """A body's media types: the generated code reads the first one it can (JSON into the
    model), so a change of that one changes what it returns (or what `read_webhook` is
    given); another type listed after it changes nothing generated."""
    before, after = parsed_as(old), parsed_as(new)
    if before != after:
        kind = COMPATIBLE if before == "no body" else BREAKING
        out.add(kind, f"{where} is read as {after}, not {before}")
    old_types = set((old or {}).get("content") or {})
    new_types = set((new or {}).get("content") or {})
    if before == after:
        for media in sorted(new_types - old_types):
            out.add(COMPATIBLE, f"{where} also comes as {media}")
        for media in sorted(old_types - new_types):
            out.add(COMPATIBLE, f"{where} no longer comes as {media}")


def _diff_operation(
    op: str, old_spec: dict[str, Any], new_spec: dict[str, Any], out: Changes
) -> None:
    (a, a_shared), (b, b_shared) = _operations(old_spec)[op], _operations(new_spec)[op]
    if b.get("deprecated") and not a.get("deprecated"):
        out.add(COMPATIBLE, f"operation {op} deprecated")
    elif a.get("deprecated") and not b.get("deprecated"):
        out.add(COMPATIBLE, f"operation {op} no longer deprecated")
    if a.get("operationId") != b.get("operationId"):
        out.add(
            BREAKING,
            f"operation {op} operationId {a.get('operationId')} -> {b.get('operationId')} "
            "(the generated function is renamed)",
        )
    diff_requirements(f"operation {op} security requirement", a, b, out.add)
    old_tags, new_tags = a.get("tags") or [], b.get("tags") or []
    if old_tags[:1] != new_tags[:1]:  # the generator files an operation under its first tag
        out.add(
            BREAKING,
            f"operation {op} tag {old_tags[:1] or 'none'} -> {new_tags[:1] or 'none'} "
            "(its generated module moves: api/<tag>/)",
        )
    old_params, new_params = _parameters(old_spec, a, a_shared), _parameters(new_spec, b, b_shared)
    _diff_parameters(op, old_params, new_params, out)
    # A webhook's request body is what the SDK parses: compared like a response.
    _diff_media_types(
        f"{op} request body",
        _resolve(old_spec, a.get("requestBody")),
        _resolve(new_spec, b.get("requestBody")),
        out,
    )
    diff_schema(
        f"{op} request body",
        json_schema(_resolve(old_spec, a.get("requestBody"))),
        json_schema(_resolve(new_spec, b.get("requestBody"))),
        out,
        "body",
    )
    old_responses, new_responses = a.get("responses") or {}, b.get("responses") or {}
    for code in sorted(old_responses.keys() - new_responses.keys(), key=str):
        out.add(COMPATIBLE, f"operation {op} no longer documents response {code}")
    for code in sorted(new_responses.keys() - old_responses.keys(), key=str):
        out.add(COMPATIBLE, f"operation {op} documents response {code}")
    for code in sorted(old_responses.keys() & new_responses.keys(), key=str):
        _diff_media_types(
            f"{op} response {code}",
            _resolve(old_spec, old_responses[code]),
            _resolve(new_spec, new_responses[code]),
            out,
        )
        diff_schema(
            f"{op} response {code}",
            json_schema(_resolve(old_spec, old_responses[code])),
            json_schema(_resolve(new_spec, new_responses[code])),
            out,
            f"response_{code}",
        )


def diff_specs(old: dict[str, Any], new: dict[str, Any]) -> Changes:
    """Every change from `old` to `new`, each classified for users of the generated client."""
    out = Changes()
    diff_servers(old, new, out.add)
    diff_security(old, new, out.add)
    old_ops, new_ops = _operations(old), _operations(new)
    for op in sorted(old_ops.keys() - new_ops.keys()):
        out.add(BREAKING, f"operation {op} removed")
    for op in sorted(new_ops.keys() - old_ops.keys()):
        out.add(COMPATIBLE, f"operation {op} added")
    for op in sorted(old_ops.keys() & new_ops.keys()):
        _diff_operation(op, old, new, out)
    old_models = (old.get("components") or {}).get("schemas") or {}
    new_models = (new.get("components") or {}).get("schemas") or {}
    for name in sorted(old_models.keys() - new_models.keys()):
        out.add(BREAKING, f"schema {name} removed")
    for name in sorted(new_models.keys() - old_models.keys()):
        out.add(COMPATIBLE, f"schema {name} added")
    for name in sorted(old_models.keys() & new_models.keys()):
        diff_schema(name, old_models[name], new_models[name], out, name)
    if not out.lines and old != new:
        # Descriptions, summaries, examples, constraints the generated code does not check
        # (a pattern, a maximum): the generated docstrings (and PROVENANCE) move, so a
        # released client needs a bump (release_check asks for one): a patch.
        out.add(COMPATIBLE, DOCUMENTATION)
    return out


DOCUMENTATION = (
    "documentation changed (descriptions, summaries, examples, or constraints the "
    "generated code does not check)"
)


def propose(version: str, changes: Changes) -> str:
    major, minor, patch = (int(part) for part in version.split(".")[:3])
    if not changes.lines:
        return version
    if changes.breaking:
        return f"{major + 1}.0.0" if major else f"0.{minor + 1}.0"
    if changes.lines == [(COMPATIBLE, DOCUMENTATION)]:
        return f"{major}.{minor}.{patch + 1}"
    return f"{major}.{minor + 1}.0" if major else f"0.{minor}.{patch + 1}"


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3])


def _part(version: str, bumped: str) -> str:
    """Which part of `version` the proposed bump moves."""
    parts = zip(("major", "minor", "patch"), version.split("."), bumped.split("."), strict=False)
    for part, old, new in parts:
        if old != new:
            return part
    return "patch"


def current_version(key: str, root: Path = ROOT) -> str:
    config = yaml.safe_load((root / "generator" / f"{key}.yaml").read_text()) or {}
    return str(config.get("package_version_override", "0.0.0"))


def version_at(ref: str, key: str, root: Path = ROOT) -> str | None:
    """The client's version at `ref` (None: no generator config there, a new provider)."""
    shown = _show(ref, f"generator/{key}.yaml", root)
    if shown is None:
        return None
    config = yaml.safe_load(shown) or {}
    return str(config.get("package_version_override", "0.0.0"))


def changelog_draft(key: str, version: str, changes: Changes) -> str:
    heading = "### Changed"  # where `nox -s bump` leaves the placeholder it replaces
    lines = [heading, f"- sms-status-{key} {version}: specs/{key}.yaml changed:"]
    lines += [
        f"  - {'BREAKING: ' if kind == BREAKING else ''}{text}" for kind, text in changes.lines
    ]
    return "\n".join(lines)


def _show(ref: str, path: str, root: Path) -> str | None:
    shown = subprocess.run(
        ["git", "show", f"{ref}:{path}"], cwd=root, capture_output=True, text=True, check=False
    )
    return shown.stdout if shown.returncode == 0 else None


class BadSpec(Exception):
    """A spec that cannot be compared: missing, not YAML, or not a mapping."""


def _spec(text: str, where: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise BadSpec(f"{where} is not valid YAML: {error}") from None
    if not isinstance(loaded, dict):
        raise BadSpec(f"{where} is not an OpenAPI document (a mapping at the top)")
    return cast(dict[str, Any], loaded)


def _spec_at(ref: str, key: str, root: Path) -> dict[str, Any] | None:
    shown = _show(ref, f"specs/{key}.yaml", root)
    if shown is None:
        return None
    return _spec(shown, f"specs/{key}.yaml at {ref}")


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("key", help="a registered provider key")
    parser.add_argument("ref", nargs="?", default="HEAD", help="git ref to compare with")
    args = parser.parse_args(argv)  # exits 2 on bad arguments
    keys = provider_keys(root)
    if args.key not in keys:
        parser.error(f"unknown provider {args.key!r}; registered: {', '.join(keys)}")
    verify = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{args.ref}^{{commit}}"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if verify.returncode != 0:
        parser.error(f"not a git ref here: {args.ref!r}")
    path = root / "specs" / f"{args.key}.yaml"
    try:
        old = _spec_at(args.ref, args.key, root)
        if old is None:
            print(f"specs/{args.key}.yaml is new since {args.ref}: nothing to compare, no bump")
            return 0
        if not path.is_file():
            raise BadSpec(f"specs/{args.key}.yaml is missing from the working tree")
        new = _spec(path.read_text(), f"specs/{args.key}.yaml")
    except BadSpec as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    changes = diff_specs(old, new)
    for kind, text in changes.lines:
        print(f"{kind}: {text}")
    print(f"classification: {BREAKING if changes.breaking else COMPATIBLE}")
    # Proposed from the version at the ref: once `bump` applied it, the same is shown.
    version = version_at(args.ref, args.key, root) or current_version(args.key, root)
    bumped = propose(version, changes)
    current = current_version(args.key, root)
    print(f"proposed bump: sms-status-{args.key} {version} -> {bumped}")
    if changes.lines and current != version and _key(current) >= _key(bumped):
        print(f"already bumped: generator/{args.key}.yaml says {current}")
        bumped = current
    elif changes.lines and current != version:  # a patch for a breaking change, say
        print(
            f"bumped too little: generator/{args.key}.yaml says {current}, the change needs "
            f"{bumped} at least: `nox -s bump` from {version} again (set the version back)"
        )
    elif changes.lines:
        command = f"nox -s bump -- {args.key} {_part(version, bumped)}"
        print(f"\nto apply: python3 scripts/uv.py run --frozen {command}")
    if changes.lines:
        if any(" enum + " in text for _, text in changes.lines):
            print(
                "new enum values: map each status value in STATUSES of "
                f"overlays/sms_status/providers/{args.key}.py"
            )
        if any(" error code " in text for _, text in changes.lines):
            enum = error_enum(args.key, root)
            print(
                f"error codes added or removed: add or remove each in {enum} / ERROR_CLASSES "
                f"of overlays/sms_status/providers/{args.key}.py"
            )
        print("draft CHANGELOG.md entry (under ## [Unreleased]):\n")
        print(changelog_draft(args.key, bumped, changes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
