"""Injected faults: what each kind is, which requests it matches, and how it shapes a reply.

Pre-auth kinds (``PRE_AUTH_FAULTS``) replace the answer outright; ``unknown_status`` changes
what the handler sees; ``truncated_json``/``wrong_types``/``status_code`` reshape the real
answer afterwards (``shape_reply``); ``stall`` and ``reset`` act on the wire (``_server``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from sms_status.testing._base import Ctx, ProviderDef, Reply, dump_json

__all__ = [
    "AFTER_HANDLER_FAULTS",
    "FAULT_KINDS",
    "PRE_AUTH_FAULTS",
    "Fault",
    "fault_reply",
    "give_back",
    "make_fault",
    "merge_fields",
    "shape_reply",
    "take_fault",
    "with_header",
]

FAULT_KINDS: Final = frozenset(
    {
        "rate_limit",
        "server_error",
        "error",
        "proxy_502_html",
        "truncated_json",
        "wrong_types",
        "unknown_status",
        "status_code",
        "stall",
        "reset",
        "not_json",
    }
)
"""Every fault ``inject_fault(kind, ...)`` accepts."""
PRE_AUTH_FAULTS: Final = frozenset(
    {"rate_limit", "server_error", "error", "proxy_502_html", "not_json"}
)
"""Kinds answered before auth, instead of the real answer."""

_PROXY_502_HTML: Final = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_RATE_LIMIT_HTML: Final = (
    "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n"
    "<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_NOT_JSON_HTML: Final = (
    "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>"
    "<body><h1>We'll be back soon</h1></body></html>\n"
)


@dataclass(eq=False)
class Fault:
    """An injected fault. Matches requests by message id, by route name, or all of them.

    ``times`` is how many more requests it applies to (None: forever); ``hits`` how many it
    has shaped so far.
    """

    kind: str
    message_id: str | None
    route: str | None
    times: int | None
    params: dict[str, Any]
    hits: int = 0
    cancelled: bool = False

    @property
    def active(self) -> bool:
        return not self.cancelled and (self.times is None or self.times > 0)

    def cancel(self) -> None:
        self.cancelled = True

    def matches(self, route: str, ids: Sequence[str]) -> bool:
        if self.route is not None and self.route != route:
            return False
        return self.message_id is None or self.message_id in ids


def make_fault(
    provider: ProviderDef,
    route_names: Collection[str],
    kind: str,
    message_id: str | None,
    route: str | None,
    times: int | None,
    params: dict[str, Any],
) -> Fault:
    """A checked fault for ``Sandbox.inject_fault`` (ValueError on a bad kind or params)."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
    if route is not None and route not in route_names:
        raise ValueError(f"unknown route {route!r}; {provider.key} has {sorted(route_names)}")
    if times is not None and times < 1:
        raise ValueError("times is None (forever) or >= 1")
    _check_params(provider, kind, params)
    if kind == "rate_limit":
        params.setdefault("body", provider.fault_rate_limit_body)
        if params["body"] not in ("json", "html", "empty"):
            raise ValueError("rate_limit body is 'json', 'html' or 'empty'")
        params.setdefault("retry_after", provider.fault_retry_after)
    elif kind == "status_code" and not isinstance(params.get("status"), int):
        raise ValueError("status_code needs status=<int>")
    elif kind == "error" and not isinstance(params.get("status"), int):
        raise ValueError("error needs status=<int> (and optionally code=...)")
    return Fault(kind, message_id, route, times, params)


_PARAMS: Final[Mapping[str, frozenset[str]]] = {
    "rate_limit": frozenset({"retry_after", "body"}),
    "server_error": frozenset({"status", "code", "fields", "retry_after"}),
    "error": frozenset({"status", "code", "fields", "retry_after"}),
    "proxy_502_html": frozenset({"status"}),
    "truncated_json": frozenset({"length"}),
    "wrong_types": frozenset({"fields"}),
    "unknown_status": frozenset({"value"}),
    "status_code": frozenset({"status", "body", "content_type"}),
    "stall": frozenset({"seconds"}),
    "reset": frozenset({"length"}),
    "not_json": frozenset({"status", "body", "content_type"}),
}
"""The parameters each kind takes (``Sandbox.inject_fault``'s docstring)."""


def _anything(_value: object) -> str | None:
    return None


def _an_int(value: object) -> str | None:
    return None if isinstance(value, int) and not isinstance(value, bool) else "is an int"


def _seconds(value: object) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    return None if ok else "is a number of seconds >= 0"


def _length(value: object) -> str | None:
    return None if _an_int(value) is None and cast(int, value) >= 0 else "is an int >= 0"


def _text_or_bytes(value: object) -> str | None:
    return None if isinstance(value, str | bytes) else "is a str or bytes"


def _retry_after(value: object) -> str | None:
    return None if value is None or isinstance(value, str | int | float) else "is a str or None"


def _text(value: object) -> str | None:
    return None if isinstance(value, str) else "is a str"


def _fields(value: object) -> str | None:
    ok = value is None or isinstance(value, Mapping | Collection)
    return None if ok else "is a mapping (error) or names (wrong_types)"


_PARAM_CHECKS: Final[Mapping[str, Callable[[object], str | None]]] = {
    "status": _an_int,
    "seconds": _seconds,
    "length": _length,
    "retry_after": _retry_after,
    "content_type": _text,
    "value": _text,
    "fields": _fields,
}
"""Checks of parameters whose wrong type made every matching request fail in the sandbox."""


def _check_params(provider: ProviderDef, kind: str, params: Mapping[str, Any]) -> None:
    """ValueError for a parameter `kind` does not take, or of a type that would make every
    matching request a bare 500 of the sandbox (a misspelt one was ignored before)."""
    unknown = params.keys() - _PARAMS[kind]
    if unknown:  # a misspelt one was ignored: the fault then did something else
        raise ValueError(
            f"{kind} takes {', '.join(sorted(_PARAMS[kind])) or 'no parameters'}; "
            f"not {', '.join(sorted(unknown))}"
        )
    for name, value in params.items():
        problem = _PARAM_CHECKS.get(name, _anything)(value)
        if problem is not None:  # else every matching request is a bare 500 of the sandbox
            raise ValueError(f"{kind}'s {name} {problem}, not {value!r}")
    if kind in ("status_code", "not_json") and "body" in params:
        problem = _text_or_bytes(params["body"])
        if problem is not None:
            raise ValueError(f"{kind}'s body {problem}, not {params['body']!r}")
    code = params.get("code")
    if provider.numeric_error_codes and code is not None and not str(code).isdigit():
        raise ValueError(f"{provider.key}'s error codes are numbers, not {code!r}")


def take_fault(faults: Sequence[Fault], route: str, ids: Sequence[str]) -> Fault | None:
    """The first active fault matching the request, counted as used; faults apply in order."""
    for fault in faults:
        if fault.active and fault.matches(route, ids):
            fault.hits += 1
            if fault.times is not None:
                fault.times -= 1
            return fault
    return None


AFTER_HANDLER_FAULTS: Final = frozenset(
    {"truncated_json", "wrong_types", "status_code", "unknown_status"}
)
"""Kinds that shape the handler's answer: a request refused before it (its key, its
signature, the rate window) is left to them to take, not counted."""


def give_back(fault: Fault) -> None:
    """Uncount a fault `take_fault` took for a request it did not shape."""
    fault.hits -= 1
    if fault.times is not None:
        fault.times += 1


def fault_reply(provider: ProviderDef, ctx: Ctx, fault: Fault) -> Reply:
    """The answer of a pre-auth fault (``PRE_AUTH_FAULTS``), in the provider's own shapes."""
    p = fault.params
    if fault.kind == "rate_limit":
        retry_after: str | None = None if p["retry_after"] is None else str(p["retry_after"])
        headers = () if retry_after is None else (("Retry-After", retry_after),)
        if p["body"] == "html":
            return Reply(429, _RATE_LIMIT_HTML.encode(), "text/html", headers)
        if p["body"] == "empty":
            return Reply.empty(429, headers)
        reply = provider.rate_limited(ctx, retry_after)
        return with_header(reply, "Retry-After", retry_after) if retry_after else reply
    if fault.kind in ("server_error", "error"):
        status = int(p.get("status", 500))
        reply = merge_fields(provider.error(ctx, status, p.get("code")), p.get("fields"))
        retry_after = p.get("retry_after")  # a 503 in maintenance, say
        return reply if retry_after is None else with_header(reply, "Retry-After", str(retry_after))
    if fault.kind == "proxy_502_html":
        return Reply(int(p.get("status", 502)), _PROXY_502_HTML.encode(), "text/html")
    # not_json
    raw = p.get("body", _NOT_JSON_HTML)
    body = raw.encode() if isinstance(raw, str) else bytes(raw)
    return Reply(int(p.get("status", 200)), body, p.get("content_type", "text/html"))


def shape_reply(reply: Reply, fault: Fault) -> Reply:
    """The real answer reshaped by a post-handler fault (other kinds leave it as is)."""
    kind = fault.kind
    if kind == "truncated_json":
        body = reply.body or dump_json({"status": "sandbox"})
        cut = int(fault.params.get("length", max(1, len(body) // 2)))
        return Reply(reply.status, body[:cut], "application/json", reply.headers)
    if kind == "wrong_types":
        only = fault.params.get("fields")
        try:
            data = json.loads(reply.body)
        except ValueError:
            return reply
        names = set(only) if only is not None else None
        return Reply.json(_corrupt(data, names), reply.status, reply.headers)
    if kind == "status_code":
        status = int(fault.params["status"])
        if "body" in fault.params:
            raw = fault.params["body"]
            body = raw.encode() if isinstance(raw, str) else bytes(raw)
            ctype = fault.params.get("content_type", reply.content_type)
            return Reply(status, body, ctype, reply.headers)
        return Reply(status, reply.body, reply.content_type, reply.headers)
    return reply


def merge_fields(reply: Reply, fields: Mapping[str, Any] | None) -> Reply:
    """Override top-level keys of a JSON object body (e.g. an error's ``message``)."""
    if not fields or not reply.body:
        return reply
    body: Any = json.loads(reply.body)
    if not isinstance(body, dict):
        return reply
    return Reply.json({**cast(dict[str, Any], body), **fields}, reply.status, reply.headers)


def with_header(reply: Reply, name: str, value: str | None) -> Reply:
    """``reply`` with header ``name`` set to ``value`` (replacing it); None leaves it as is."""
    if value is None:
        return reply
    kept = tuple(h for h in reply.headers if h[0].lower() != name.lower())
    return Reply(reply.status, reply.body, reply.content_type, (*kept, (name, value)))


def _corrupt(value: Any, names: set[str] | None, inside: bool = False) -> Any:  # noqa: PLR0911
    """Every (or every named) leaf gets a plausible value of the wrong JSON type."""
    if isinstance(value, dict):
        items = cast(dict[str, Any], value)
        return {
            k: _corrupt(v, names, inside or names is None or k in names) for k, v in items.items()
        }
    if isinstance(value, list):
        elements: list[Any] = value  # pyright: ignore[reportUnknownVariableType]
        return [_corrupt(v, names, inside) for v in elements]
    if not inside:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 12345
    return False  # null -> a bool
