"""Settings read from the environment when `connect()` is not given them.

`SMS_STATUS_<KEY>_API_KEY` and `SMS_STATUS_<KEY>_BASE_URL` (e.g. `SMS_STATUS_TELECOM23_API_KEY`),
the names the command line reads too, so a key lives in one place and staging or a test run can
point every client at a sandbox without touching code. `SMS_STATUS_LOG=debug` (or `info`)
switches on the `sms_status` logger, as `OPENAI_LOG` and `STRIPE_LOG` do for those SDKs.
"""

from __future__ import annotations

import logging
import os
import sys

LOG_VARIABLE = "SMS_STATUS_LOG"
_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


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


class _EnvironmentHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `SMS_STATUS_LOG` adds (marked, so it is added once)."""


def configure_logging() -> None:
    """`SMS_STATUS_LOG=debug|info`: the `sms_status` logger at that level, to stderr.

    debug: one line per request (method, URL, status) and per retry; info: retries only.
    Lines never contain the API key. Unset or another value: logging is left as it is.
    """
    level = _LOG_LEVELS.get(os.environ.get(LOG_VARIABLE, "").strip().lower())
    if level is None:
        return
    logger = logging.getLogger("sms_status")
    logger.setLevel(level)
    if not any(isinstance(h, _EnvironmentHandler) for h in logger.handlers):
        handler = _EnvironmentHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
