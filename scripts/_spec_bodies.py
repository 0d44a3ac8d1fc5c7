"""How the pinned generator reads a request or response body, for `spec_diff`: which media
type wins (`parser/responses.py` `_source_by_content_type`) and the JSON schema it reads."""

from __future__ import annotations

from typing import Any


def read_as(media: str) -> str | None:
    """How the generated code reads a body of this media type, as the pinned generator
    decides (`parser/responses.py` `_source_by_content_type`): "json", "text", "bytes", or
    None for a type it does not read."""
    kind = media.split(";", maxsplit=1)[0].strip().lower()
    if kind.startswith("text/"):
        return "text"
    if kind == "application/json" or kind.endswith("+json"):
        return "json"
    return "bytes" if kind == "application/octet-stream" else None


def parsed_as(body: Any) -> str:
    """What the generated code makes of a body: the first media type it reads wins."""
    content = (body or {}).get("content") or {}
    if not content:
        return "no body"
    for media in content:
        kind = read_as(str(media))
        if kind is not None:
            return f"{kind} ({media})"
    return f"unreadable ({', '.join(map(str, content))})"


def json_schema(response: Any) -> Any:
    """The schema the generated code reads: the first media type's it can read, if JSON."""
    content = (response or {}).get("content") or {}
    for media, body in content.items():
        kind = read_as(str(media))
        if kind is not None:
            return (body or {}).get("schema") if kind == "json" else None
    return None
