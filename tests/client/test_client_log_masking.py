"""How long a key stays masked in the process-wide log filter: from a client's construction
to its close, and never for a client that failed to construct (nobody can close that one, so
its key would stay in the filter, growing it, for the life of the process)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sms_status

# One key per test: another test's open client on the same key would keep it masked.
KEYS = iter(f"sk_test_LogMask{n:04d}x0123456789abcdef" for n in range(10_000))


class _AwaitedLimiter:
    async def reserve(self) -> float:
        return 0.0


def _logged(key: str, caplog: pytest.LogCaptureFixture) -> str:
    """What the SDK's HTTP stack logs for a line that quotes `key`."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="httpx"):
        logging.getLogger("httpx").debug("echoed %s", key)
    return caplog.records[-1].getMessage()


def test_a_key_is_masked_while_a_client_using_it_is_open(caplog: pytest.LogCaptureFixture) -> None:
    key = next(KEYS)
    first = sms_status.connect("telecom23", api_key=key)
    second = sms_status.connect("telecom23", api_key=key)
    assert key not in _logged(key, caplog)
    first.close()
    assert key not in _logged(key, caplog)  # `second` still uses it
    second.close()
    assert key in _logged(key, caplog)  # no client of this key left: nothing to mask


@pytest.mark.parametrize(
    ("connect", "provider", "options"),
    [
        (sms_status.connect, "telecom23", {"timeout": -1}),
        (sms_status.connect, "telecom23", {"max_retries": -1}),
        (sms_status.connect, "telecom23", {"max_response_bytes": 0}),
        (sms_status.connect, "seven", {"signing_secret": "s"}),  # only telecom23 signs
        (sms_status.connect_async, "telecom23", {"concurrency": 0}),
        (sms_status.connect, "telecom23", {"rate_limiter": _AwaitedLimiter()}),
    ],
    ids=["timeout", "max_retries", "max_response_bytes", "signing", "concurrency", "limiter"],
)
def test_a_client_that_fails_to_construct_leaves_no_key_in_the_log_filter(
    connect: Any, provider: str, options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    key = next(KEYS)
    with pytest.raises((ValueError, TypeError)):
        connect(provider, api_key=key, **options)
    assert key in _logged(key, caplog)
