"""The sandbox servers that README snippets and examples/ run against, as a user would."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sms_status.testing import PROVIDER_KEYS, Sandbox


@pytest.fixture(scope="module")
def sandbox_env() -> Iterator[dict[str, str]]:
    """One sandbox per provider (wall-clock time, the docs' example messages seeded), and an
    environment whose SMS_STATUS_<KEY>_API_KEY / _BASE_URL point the library at them."""
    sandboxes = [Sandbox(key).start() for key in PROVIDER_KEYS]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMS_STATUS_")}
    for sandbox in sandboxes:
        env[f"SMS_STATUS_{sandbox.key.upper()}_API_KEY"] = sandbox.api_key
        env[f"SMS_STATUS_{sandbox.key.upper()}_BASE_URL"] = sandbox.base_url
    try:
        yield env
    finally:
        for sandbox in sandboxes:
            sandbox.stop()
