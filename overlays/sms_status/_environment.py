"""Settings read from the environment when `connect()` is not given them.

`SMS_STATUS_<KEY>_API_KEY` and `SMS_STATUS_<KEY>_BASE_URL` (e.g. `SMS_STATUS_TELECOM23_API_KEY`),
the names the command line reads too, so a key lives in one place and staging or a test run can
point every client at a sandbox without touching code.
"""

from __future__ import annotations

import os


def variable(provider: str, setting: str) -> str:
    """The environment variable of `setting` ("API_KEY", "BASE_URL") for `provider`."""
    return f"SMS_STATUS_{provider.upper()}_{setting}"


def api_key(provider: str, given: str | None) -> str:
    """`given`, else the provider's API-key variable; ValueError naming both when neither."""
    if given is not None:
        return given
    name = variable(provider, "API_KEY")
    found = os.environ.get(name)
    if not found:
        raise ValueError(f"no API key for {provider}: pass api_key= or set {name}")
    return found


def base_url(provider: str, given: str | None) -> str | None:
    """`given`, else the provider's base-URL variable, else None (the production origin)."""
    if given is not None:
        return given
    return os.environ.get(variable(provider, "BASE_URL")) or None
