"""Generated class names and the vendor extensions (`x-finality`, `x-error-codes`), for
`spec_diff`: what the overlay and users' imports are held to. Each change goes to
`add(kind, text)`, kind "breaking" or "compatible", as `_spec_access` does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from _spec_access import BREAKING, COMPATIBLE, Add


def class_name(text: str) -> str:
    """openapi-python-client's PascalCase of a name or `title` (its `strings.pascal_case`)."""
    text = "".join(c for c in text if c.isidentifier() or c.isdecimal() or c in ". _-")
    if any(c.isupper() for c in text):
        text = " ".join(re.split("([A-Z]?[a-z]+)", text))
    words = re.findall(r"[^. _-]+", text)
    return "".join(word if word.isupper() else word.capitalize() for word in words)


def makes_class(schema: dict[str, Any]) -> bool:
    """Whether the generator emits a class (a model or an enum) for this schema itself."""
    if "$ref" in schema:
        return False
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    return bool(
        schema.get("enum")
        or "object" in kinds
        or schema.get("allOf")
        or (kind is None and schema.get("properties"))
    )


def diff_title(
    where: str, name: str | None, old: dict[str, Any], new: dict[str, Any], add: Add
) -> None:
    """The generator names a schema's class (and its module) by its `title`, else by `name`:
    a component's key, a property's name, `<name>_item`, ... (an inline schema's class is
    prefixed with its parent's, which is compared where the parent is)."""
    if name is None or not (makes_class(old) and makes_class(new)):
        return
    before, after = old.get("title"), new.get("title")
    if before == after:
        return
    if class_name(str(before or name)) != class_name(str(after or name)):
        add(
            BREAKING,
            f"{where} title {before or 'none'} -> {after or 'none'} "
            "(its generated class and module are renamed)",
        )


def diff_finality(where: str, old: Any, new: Any, add: Add) -> None:
    """`x-finality` (specs/README.md): when a status is final is what `wait_for_final` and
    `is_final` promise `sms-status` users, so a value changing sides is breaking."""
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    for value in sorted(old.keys() & new.keys(), key=str):
        before, after = _final(old[value]), _final(new[value])
        if before != after:
            add(BREAKING, f"{where} finality of {value}: {before} -> {after}")
    # A status leaving the table leaves the provider's STATUSES: reported UNRECOGNIZED and
    # not final, so `wait_for_final` polls it to its timeout.
    for value in sorted(old.keys() - new.keys(), key=str):
        add(BREAKING, f"{where} finality of {value} removed (was {_final(old[value])})")
    for value in sorted(new.keys() - old.keys(), key=str):
        add(
            COMPATIBLE,
            f"{where} finality of {value} added ({_final(new[value])}; add it to STATUSES)",
        )


def diff_error_codes(where: str, old: Any, new: Any, add: Add) -> None:
    """`x-error-codes` (specs/README.md): the codes the overlay's ErrorCode enum names and
    ERROR_CLASSES classes, so each one added or removed is named, as `x-finality` does."""
    old = {str(k): v for k, v in old.items()} if isinstance(old, dict) else {}
    new = {str(k): v for k, v in new.items()} if isinstance(new, dict) else {}
    # A code leaving the table leaves the provider's ErrorCode enum (a test holds the enum
    # to the spec): `error_code == <Key>ErrorCode.X` raises AttributeError for users.
    for code in sorted(old.keys() - new.keys()):
        add(BREAKING, f"{where} error code {code} removed (was {old[code]})")
    for code in sorted(new.keys() - old.keys()):
        add(
            COMPATIBLE,
            f"{where} error code {code} added ({new[code]}; add it to the ErrorCode enum, "
            "and to ERROR_CLASSES unless a plain ApiError)",
        )


def error_enum(key: str, root: Path) -> str:
    """The name of the overlay's ErrorCode enum: what its PROVIDER passes as `error_codes=`."""
    overlay = root / "overlays" / "sms_status" / "providers" / f"{key}.py"
    found = re.search(r"error_codes=(\w+)", overlay.read_text()) if overlay.is_file() else None
    return found.group(1) if found else "the ErrorCode enum (`error_codes=`)"


def _final(word: object) -> str:
    """`final` / `not final`, ignoring a note after it (older specs wrote "final (assumed)")."""
    text = str(word).strip()
    return next((w for w in ("not final", "final") if text.startswith(w)), text)
