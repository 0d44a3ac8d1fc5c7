"""sms_status: delivery status of SMS messages from five providers, in one vocabulary.

    import sms_status

    with sms_status.connect("telecom23", api_key="sk_test_…") as client:
        report = client.get_status("api_42_1743667200123456789_a3f8b2c1d9e45f67")
        print(report.state, report.is_final)

Public names load on first use (PEP 562), so `import sms_status` stays cheap and the
command line answers `--help` without importing httpx; each provider loads when connected.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sms_status._registry import PROVIDERS
from sms_status._version import __version__ as __version__

if TYPE_CHECKING:
    from sms_status import errors, pacing, webhooks
    from sms_status._flows import RetryEvent
    from sms_status.client import (
        AsyncClientOptions,
        AsyncHistoryClient,
        AsyncStatusClient,
        ClientOptions,
        HistoryClient,
        ProviderKey,
        StatusClient,
        connect,
        connect_async,
        provider_key,
    )
    from sms_status.pacing import AsyncRateLimiter, RateLimit, RateLimiter, TokenBucket
    from sms_status.report import DeliveryState, RecipientCounts, StatusReport

_LAZY = {
    "errors": "sms_status.errors",
    "RetryEvent": "sms_status._flows",
    "AsyncClientOptions": "sms_status.client",
    "AsyncHistoryClient": "sms_status.client",
    "AsyncStatusClient": "sms_status.client",
    "ClientOptions": "sms_status.client",
    "HistoryClient": "sms_status.client",
    "ProviderKey": "sms_status.client",
    "provider_key": "sms_status.client",
    "StatusClient": "sms_status.client",
    "connect": "sms_status.client",
    "connect_async": "sms_status.client",
    "AsyncRateLimiter": "sms_status.pacing",
    "RateLimit": "sms_status.pacing",
    "RateLimiter": "sms_status.pacing",
    "TokenBucket": "sms_status.pacing",
    "DeliveryState": "sms_status.report",
    "RecipientCounts": "sms_status.report",
    "StatusReport": "sms_status.report",
    "webhooks": "sms_status.webhooks",
    "pacing": "sms_status.pacing",
}

_IMPORTED_ON_THEIR_OWN = ("tracking", "testing", "cli")
"""Subpackages built on the package's face, so not loaded by it (docs/architecture.md)."""

if not TYPE_CHECKING:  # checkers see the imports above: a misspelt name is an error there

    def __getattr__(name: str) -> Any:
        module_name = _LAZY.get(name)
        if module_name is None and name in _IMPORTED_ON_THEIR_OWN:
            raise AttributeError(
                f"module 'sms_status' has no attribute {name!r} until it is imported: "
                f"`from sms_status import {name}` loads it"
            )
        if module_name is None:
            raise AttributeError(f"module 'sms_status' has no attribute {name!r}")
        module = importlib.import_module(module_name)
        value = module if module_name == f"sms_status.{name}" else getattr(module, name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "PROVIDERS",
    "AsyncClientOptions",
    "AsyncHistoryClient",
    "AsyncRateLimiter",
    "AsyncStatusClient",
    "ClientOptions",
    "DeliveryState",
    "HistoryClient",
    "ProviderKey",
    "RateLimit",
    "RateLimiter",
    "RecipientCounts",
    "RetryEvent",
    "StatusClient",
    "StatusReport",
    "TokenBucket",
    "__version__",
    "connect",
    "connect_async",
    "errors",
    "pacing",
    "provider_key",
    "webhooks",
]
