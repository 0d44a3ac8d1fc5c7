"""The provider registry: the one list of provider keys and of what each can do (webhooks,
batch lookups, history, a successor endpoint), and lazy loading of their modules.

Every other list of providers reads `REGISTRY`: the overlay (`PROVIDERS`), the sandbox
(`sms_status.testing.PROVIDER_KEYS`), `scripts/generate.py` (generation and drift), the
noxfile (spec lint, the maintainer sessions), the CLI and the tests (which parametrize over
it and over the capability lists below).
`tests/test_provider_completeness.py` fails, naming the fix, when a piece of a registered
provider is missing or a spec exists that no entry names. `nox -s new_provider -- <key>`
adds an entry together with every piece it names (docs/adding-a-provider.md).

This module is plain data on the standard library only, so scripts load it by file path
without the package installed (`scripts/_providers.py`); keep it that way.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sms_status._provider import Provider


WebhookKind = Literal["signed", "unsigned", "none"]
"""How a provider pushes delivery reports: with credentials to verify (an HMAC signature,
Basic auth), without any (the receiver must authenticate the sender some other way), or not
at all."""


@dataclass(frozen=True)
class ProviderEntry:
    """Where each piece of one provider lives, and what it can do; every path is relative to
    the repository root."""

    key: str
    name: str
    """The provider's own name, as its pages write it."""
    webhooks: WebhookKind = "none"
    """Pushed delivery reports: `signed` ones need `secret=` in `webhooks.parse`, `unsigned`
    ones refuse it; the provider module's `Webhook` verifies and reads them, its sandbox fake
    renders, signs and retries them."""
    batch_lookup: bool = False
    """Many ids in one request: `get_statuses` batches them (the module's `BatchLookup`);
    the others look each id up on its own."""
    history: bool = False
    """Message history by phone and by reference: `connect()` gives a history client
    (the module's `HistoryLookup`), and `sms-status history` offers the provider."""
    successor: str | None = None
    """The name of the endpoint that replaces a deprecated status endpoint
    (`connect(key, lookup=name)`; the module's `Successor`)."""

    @property
    def spec(self) -> str:
        """The hand-written OpenAPI document everything else is generated or checked from."""
        return f"specs/{self.key}.yaml"

    @property
    def generator_config(self) -> str:
        """openapi-python-client settings (names, version), merged over generator/common.yaml."""
        return f"generator/{self.key}.yaml"

    @property
    def generated(self) -> str:
        """The generated distribution's directory (a uv workspace member)."""
        return f"generated/{self.key}"

    @property
    def distribution(self) -> str:
        """The generated client's distribution name on the package index."""
        return f"sms-status-{self.key}"

    @property
    def package(self) -> str:
        """The generated client's import name."""
        return f"sms_status_{self.key}"

    @property
    def overlay_module(self) -> str:
        """The hand-written `Provider` (status table, error codes, readers)."""
        return f"sms_status.providers.{self.key}"

    @property
    def sandbox_module(self) -> str:
        """The sandbox fake (`ProviderDef`) serving what the spec says."""
        return f"sms_status.testing.{self.key}"

    @property
    def sandbox_fixture(self) -> str:
        """The pytest fixture of `sms_status.testing.pytest_plugin`."""
        return f"{self.key}_sandbox"

    @property
    def extra(self) -> str:
        """The extra of `sms-status` that installs this provider (`pip install sms-status[key]`)."""
        return self.key


REGISTRY: dict[str, ProviderEntry] = {
    entry.key: entry
    for entry in (
        ProviderEntry("telecom23", "23 Telecom", webhooks="signed"),
        ProviderEntry("namirial", "Namirial SMS Gateway", webhooks="unsigned", history=True),
        ProviderEntry("roycetalk", "RoyceTalk (RoyceBulkSMS)", webhooks="unsigned"),
        ProviderEntry("lisoloo", "Lisoloo (Bloonio)", webhooks="signed"),
        ProviderEntry(
            "seven", "seven.io", webhooks="signed", batch_lookup=True, successor="logbook"
        ),
        # new providers: above this line (nox -s new_provider adds them here)
    )
}
"""Every provider, in the order of the seed pages."""

PROVIDERS: tuple[str, ...] = tuple(REGISTRY)
"""Every provider key, in the order of the seed pages."""


def with_webhooks(kind: WebhookKind) -> tuple[str, ...]:
    """The keys of the providers whose webhooks are `kind`, in registry order."""
    return tuple(key for key, entry in REGISTRY.items() if entry.webhooks == kind)


BATCH_LOOKUP: tuple[str, ...] = tuple(k for k, e in REGISTRY.items() if e.batch_lookup)
"""Providers that look up many ids in one request."""
PER_ID_LOOKUP: tuple[str, ...] = tuple(k for k, e in REGISTRY.items() if not e.batch_lookup)
"""Providers that look up one id per request."""
HISTORY: tuple[str, ...] = tuple(k for k, e in REGISTRY.items() if e.history)
"""Providers with message history by phone and by reference."""


def load_provider(key: str) -> Provider:
    """The `Provider` of `key`; ValueError lists the keys, MissingProviderError the extra."""
    if key not in REGISTRY:
        raise ValueError(f"unknown provider {key!r}; expected one of: {', '.join(PROVIDERS)}")
    module = importlib.import_module(REGISTRY[key].overlay_module)
    provider: Provider = module.PROVIDER
    return provider
