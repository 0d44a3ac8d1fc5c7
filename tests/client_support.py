"""Helpers for the overlay's unit tests: seed bodies from the specs, a fake clock whose
sleep advances it, and clients wired to in-process `httpx.MockTransport`s."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import sms_status
import yaml
from sms_status._registry import PER_ID_LOOKUP

ROOT = Path(__file__).resolve().parents[1]
PROVIDERS = sms_status.PROVIDERS  # the registry (overlays/sms_status/_registry.py)
PER_ID_PROVIDERS = PER_ID_LOOKUP  # the registry's providers without batch lookups
API_KEY = "sk_test_Zq8SECRETkey4Tests0123456789"

# The path of each provider's status lookup, and where its 200 example lives.
STATUS_PATHS = {
    "telecom23": "/api/v1/sms/status/{message_id}",
    "namirial": "/api/messagestatus/{messageid}",
    "roycetalk": "/api/v1/sms-api/messages/{message_id}/",
    "lisoloo": "/api/v1/lisoloo/sms-api/status/{message_id}",
    "seven": "/api/status",
}
SEED_EXAMPLES = {
    "telecom23": "delivered",
    "namirial": "delivered",
    "roycetalk": "delivered",
    "lisoloo": "delivered",
    "seven": "single",
}


@cache
def _spec(provider: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "specs" / f"{provider}.yaml").read_text())
    return loaded


def spec(provider: str) -> dict[str, Any]:
    return copy.deepcopy(_spec(provider))


def example(provider: str, status: str, name: str, path: str | None = None) -> Any:
    """The named example of `path`'s GET response `status` in the provider's spec."""
    operation = spec(provider)["paths"][path or STATUS_PATHS[provider]]["get"]
    content = operation["responses"][status]["content"]["application/json"]
    return content["examples"][name]["value"]


def seed(provider: str) -> Any:
    """The provider's documented successful status body (seven: the bare single object)."""
    return example(provider, "200", SEED_EXAMPLES[provider])


def seed_for(provider: str, message_id: str, status: str | None = None) -> Any:
    """The seed body rewritten for `message_id`, optionally with another raw status."""
    body = seed(provider)
    if provider == "telecom23":
        body["message"]["message_id"] = message_id
        target = body["message"]
    elif provider == "namirial":
        body["message"]["id"] = message_id
        target = body["message"]
    elif provider == "roycetalk":
        body["data"]["id"] = message_id
        target = body["data"]
    elif provider == "lisoloo":
        body["data"]["message_id"] = message_id
        target = body["data"]
    else:
        body["id"] = message_id
        target = body
    if status is not None:
        target["status"] = status
    return body


def status_schema(provider: str) -> dict[str, Any]:
    """The provider's message-status schema: the one component schema with `x-finality`."""
    schemas = spec(provider)["components"]["schemas"]
    found = [schema for schema in schemas.values() if "x-finality" in schema]
    assert len(found) == 1, f"specs/{provider}.yaml: expected one schema with x-finality"
    return found[0]


def status_enum(provider: str) -> list[str]:
    """The `enum` of the provider's message-status schema in its spec."""
    values: list[str] = status_schema(provider)["enum"]
    return values


def spec_finality(provider: str) -> dict[str, bool]:
    """The spec's `x-finality` as value -> final ("final" / "not final" only)."""
    finality: dict[str, str] = status_schema(provider)["x-finality"]
    words = {"final": True, "not final": False}
    bad = {value: word for value, word in finality.items() if word not in words}
    assert not bad, f"specs/{provider}.yaml x-finality: use 'final' or 'not final': {bad}"
    return {value: words[word] for value, word in finality.items()}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.start = start
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    @property
    def elapsed(self) -> float:
        return self.now - self.start

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # a real suspension point: other tasks get to run


Handler = Callable[[httpx.Request], httpx.Response]
AsyncHandler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class Recorder:
    """Wraps a handler; keeps every request and the fake-clock time it arrived at."""

    def __init__(self, handler: Handler, clock: FakeClock | None = None) -> None:
        self.handler = handler
        self.clock = clock
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.clock is not None:
            self.times.append(self.clock())
        return self.handler(request)


def connect(provider: str, handler: Handler, clock: FakeClock | None = None, **options: Any) -> Any:
    """A sync client whose requests go to `handler`, sleeping on `clock` (never for real)."""
    clock = clock or FakeClock()
    options.setdefault("clock", clock)
    options.setdefault("sleep", clock.sleep)
    return sms_status.connect(
        provider, api_key=API_KEY, transport=httpx.MockTransport(handler), **options
    )


def connect_async(
    provider: str, handler: AsyncHandler, clock: FakeClock | None = None, **options: Any
) -> Any:
    clock = clock or FakeClock()
    options.setdefault("clock", clock)
    options.setdefault("sleep", clock.async_sleep)
    return sms_status.connect_async(
        provider, api_key=API_KEY, transport=httpx.MockTransport(handler), **options
    )


def last_segment_id(provider: str, request: httpx.Request) -> str:
    """The message id a per-id request carries in its path (raw, still encoded)."""
    template = STATUS_PATHS[provider]
    prefix, suffix = template.split("{")[0], template.split("}")[1]
    raw = request.url.raw_path.decode("ascii")
    assert raw.startswith(prefix), raw
    assert raw.endswith(suffix), raw
    return raw[len(prefix) : len(raw) - len(suffix)]


MESSAGE_ID = "77232007287"  # numeric, so it suits seven as well as the per-id providers


def read_served(provider: str, body: object, message_id: str = MESSAGE_ID) -> Any:
    """The report a sync client reads from `body` served for `message_id` (a StatusReport)."""
    with connect(provider, lambda _request: json_response(body)) as client:
        return client.get_status(message_id)
