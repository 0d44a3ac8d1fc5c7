"""Helpers for the sandbox tests: per-provider request shapes and the specs' examples."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from sms_status.testing import PROVIDER_KEYS, Sandbox

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"

AUTH: dict[str, Callable[[str], dict[str, str]]] = {
    "telecom23": lambda k: {"X-API-Key": k},
    "namirial": lambda k: {"X-Api-Key": k},
    "roycetalk": lambda k: {"Authorization": f"Bearer {k}"},
    "lisoloo": lambda k: {"app-key": k},
    "seven": lambda k: {"X-Api-Key": k},
}
AUTH_HEADER_NAME = {
    "telecom23": "X-API-Key",
    "namirial": "X-Api-Key",
    "roycetalk": "Authorization",
    "lisoloo": "app-key",
    "seven": "X-Api-Key",
}


def status_path(key: str, raw_id: str) -> str:
    """The status URL (path and query) for an id given already percent-encoded."""
    return {
        "telecom23": f"/api/v1/sms/status/{raw_id}",
        "namirial": f"/api/messagestatus/{raw_id}",
        "roycetalk": f"/api/v1/sms-api/messages/{raw_id}/",
        "lisoloo": f"/api/v1/lisoloo/sms-api/status/{raw_id}",
        "seven": f"/api/status?msg_id={raw_id}",
    }[key]


def status_of(key: str, body: Any) -> Any:
    """The status field of a single-message success body."""
    if key in ("telecom23", "namirial"):
        return body["message"]["status"]
    if key in ("roycetalk", "lisoloo"):
        return body["data"]["status"]
    return body["status"]


def is_not_found(key: str, response: httpx.Response) -> bool:
    """Does the response say 'unknown id' in the provider's documented way?"""
    if key == "seven":
        return response.status_code == 200 and response.content == b"901"
    if response.status_code != 404:
        return False
    expected: Any = {
        "telecom23": {
            "status": False,
            "error_code": "NOT_FOUND",
            "description": "Message not found",
        },
        "namirial": None,
        "roycetalk": {"success": False, "message": "Message not found"},
        "lisoloo": {"detail": "Message not found"},
    }[key]
    if expected is None:
        return response.content == b""
    return response.json() == expected


_SSL = ssl.create_default_context()  # built once: httpx builds one per client otherwise (~30 ms)


def client(sb: Sandbox, *, key: str | None = None, timeout: float = 5.0) -> httpx.Client:
    api_key = sb.api_key if key is None else key
    return httpx.Client(
        base_url=sb.base_url, headers=AUTH[sb.key](api_key), timeout=timeout, verify=_SSL
    )


@cache
def spec(key: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((SPECS / f"{key}.yaml").read_text())
    return loaded


def examples(key: str) -> Iterator[tuple[str, str, str, str, Any]]:
    """Every response example of a spec: (path, status, media type, name, value)."""
    for path, item in spec(key)["paths"].items():
        operation = item["get"]
        for status, response in operation["responses"].items():
            if "$ref" in response:
                continue
            for media, content in response.get("content", {}).items():
                for name, example in content.get("examples", {}).items():
                    yield path, str(status), media, name, example["value"]


def all_examples() -> list[tuple[str, str, str, str, str, Any]]:
    return [(key, *example) for key in PROVIDER_KEYS for example in examples(key)]


def compact(value: Any) -> bytes:
    """The sandbox's serialisation of a JSON value (what 'byte-for-byte' means here)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def strict_equal(a: Any, b: Any) -> bool:
    """JSON equality that tells 1, 1.0 and True apart."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def schema_validator(key: str, ref: str) -> Any:
    """A jsonschema validator for ``#/components/schemas/<name>`` (or any JSON pointer)."""
    from jsonschema import Draft202012Validator

    root = dict(spec(key))
    root["$ref"] = ref
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
