"""Provider keys and demo API keys: plain data, safe to import anywhere (no server deps)."""

from __future__ import annotations

from typing import Final

from sms_status._registry import PROVIDERS

PROVIDER_KEYS: Final[tuple[str, ...]] = PROVIDERS  # the registry's keys, not a copy
"""Every provider a sandbox can play (`sms_status.PROVIDERS`)."""

DEMO_KEYS: Final[dict[str, str]] = {
    "telecom23": "sk_test_sandbox_telecom23",
    "namirial": "sandbox-namirial-api-key",
    "roycetalk": "SBOX_SANDBOXROYCETALKDEMOKEY0_",
    "lisoloo": "sk_test_sandbox_lisoloo",
    "seven": "sandbox-seven-api-key",
}
"""The API key each sandbox accepts unless told otherwise (``Sandbox(key, api_key=...)``),
shaped like the provider's real keys where the docs show a format."""
