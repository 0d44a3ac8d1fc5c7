"""Servers and security, for `spec_diff`: where callers send requests and how they prove
who they are. Each change goes to `add(kind, text)`, kind "breaking" or "compatible"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Add = Callable[[str, str], None]
BREAKING, COMPATIBLE = "breaking", "compatible"


def security_scheme(scheme: dict[str, Any]) -> str:
    kind = scheme.get("type")
    if kind == "apiKey":
        return f"{scheme.get('in')} {scheme.get('name')}"
    if kind == "http":
        return f"http {scheme.get('scheme')}"
    return str(kind)


def requirements(security: Any) -> set[frozenset[str]]:
    """The ways in: one set of schemes each, any one of which is enough."""
    return {frozenset(req) for req in security or []}


def diff_requirements(where: str, old: dict[str, Any], new: dict[str, Any], add: Add) -> None:
    before, after = requirements(old.get("security")), requirements(new.get("security"))
    if before and before < after:  # every way in kept, another offered: callers unaffected
        add(COMPATIBLE, f"{where}: an alternative added")
    elif before != after:
        add(BREAKING, f"{where} changed")


def diff_servers(old: dict[str, Any], new: dict[str, Any], add: Add) -> None:
    old_urls = [s.get("url") for s in old.get("servers") or []]
    new_urls = [s.get("url") for s in new.get("servers") or []]
    for url in old_urls:
        if url not in new_urls:
            add(BREAKING, f"server {url} removed")
    for url in new_urls:
        if url not in old_urls:
            add(COMPATIBLE, f"server {url} added")


def diff_security(old: dict[str, Any], new: dict[str, Any], add: Add) -> None:
    old_schemes = (old.get("components") or {}).get("securitySchemes") or {}
    new_schemes = (new.get("components") or {}).get("securitySchemes") or {}
    for name in sorted(old_schemes.keys() - new_schemes.keys()):
        add(BREAKING, f"security scheme {name} removed")
    for name in sorted(new_schemes.keys() - old_schemes.keys()):
        add(COMPATIBLE, f"security scheme {name} added ({security_scheme(new_schemes[name])})")
    for name in sorted(old_schemes.keys() & new_schemes.keys()):
        a, b = security_scheme(old_schemes[name]), security_scheme(new_schemes[name])
        if a != b:
            old_place, _, old_header = a.partition(" ")
            new_place, _, new_header = b.partition(" ")
            same_place = old_place == new_place
            text = f"{old_place} {old_header} -> {new_header}" if same_place else f"{a} -> {b}"
            add(BREAKING, f"security scheme {name} {text}")
    diff_requirements("global security requirement", old, new, add)
