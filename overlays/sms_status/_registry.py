"""Provider keys and lazy loading of their modules (a provider loads on first use)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sms_status._provider import Provider

PROVIDERS = ("telecom23", "namirial", "roycetalk", "lisoloo", "seven")
"""Every provider key, in the order of the seed pages."""


def load_provider(key: str) -> Provider:
    """The `Provider` of `key`; ValueError lists the keys, MissingProviderError the extra."""
    if key not in PROVIDERS:
        raise ValueError(f"unknown provider {key!r}; expected one of: {', '.join(PROVIDERS)}")
    module = importlib.import_module(f"sms_status.providers.{key}")
    provider: Provider = module.PROVIDER
    return provider
