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
    status = params.get("status")
    if isinstance(status, int) and not 200 <= status <= 599:  # else the app crashed, or a
        raise ValueError(f"status must be an HTTP status from 200 to 599, got {status}")  # 1xx hung
    for name in ("retry_after", "content_type"):
        value = params.get(name)
        if isinstance(value, str) and not value.isprintable():  # CR/LF: no header
            raise ValueError(f"{name} must be printable (it is sent as a header)")
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


def _converts(convert: Callable[[Any], object], what: str) -> Callable[[object], str | None]:
    """A check that `value` goes through `convert`, as the code using it converts it."""

    def check(value: object) -> str | None:
        try:
            convert(value)
        except (TypeError, ValueError, OverflowError):
            return what
        return None

    return check


def _text(value: object) -> str | None:
    return None if isinstance(value, str) else "is a str"


def _body(value: object) -> str | None:
    return None if isinstance(value, str) else _converts(bytes, "is a str or bytes")(value)


_PARAM_CHECKS: Final[Mapping[str, Callable[[object], str | None]]] = {
    "status": _converts(int, "is an int"),
    "length": _converts(int, "is an int"),
    "seconds": _converts(float, "is a number of seconds"),
    "content_type": _text,
}
"""What the sandbox converts a parameter with, for every kind taking it: a value that does
not convert made every matching request the sandbox's bare 500. (``retry_after`` and
``value`` go through ``str()``, which takes anything.)"""


def _check_params(provider: ProviderDef, kind: str, params: Mapping[str, Any]) -> None:
    """ValueError for a parameter `kind` does not take (a misspelt one was ignored), or one
    the sandbox cannot read (each matching request was its bare 500)."""
    unknown = params.keys() - _PARAMS[kind]
    if unknown:
        raise ValueError(
            f"{kind} takes {', '.join(sorted(_PARAMS[kind])) or 'no parameters'}; "
            f"not {', '.join(sorted(unknown))}"
        )
    checks = _PARAM_CHECKS.items()
    problems = [(name, check(params[name])) for name, check in checks if name in params]
    if kind in ("status_code", "not_json"):
        problems.append(("body", _body(params.get("body", ""))))
    fields = params.get("fields")
    if fields is not None and kind in ("error", "server_error"):
        problems.append(("fields", None if isinstance(fields, Mapping) else "is a mapping"))
    elif fields is not None and kind == "wrong_types":  # names; a str read letter by letter
        names = isinstance(fields, Collection) and not isinstance(fields, str | bytes)
        problems.append(("fields", None if names else "is a collection of names"))
    code = params.get("code")
    if provider.numeric_error_codes and code is not None:  # its error() reads int(code)
        problems.append(("code", _converts(int, f"is a number ({provider.key}'s codes)")(code)))
    for name, problem in problems:
        if problem is not None:
            raise ValueError(f"{kind}'s {name} {problem}, not {params[name]!r}")


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
        # Never the whole body: a length past its end still cuts its last byte.
        cut = min(int(fault.params.get("length", max(1, len(body) // 2))), len(body) - 1)
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
