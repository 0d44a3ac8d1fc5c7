"""Local sandbox servers for the five providers' status APIs, and a pytest plugin.

    from sms_status.testing import FakeClock, Sandbox

    clock = FakeClock()
    with Sandbox("telecom23", clock=clock).serve() as sb:
        sb.add_message("m1", statuses=("pending", "sent", "DELIVRD"))
        ...  # point a client at sb.base_url with sb.api_key

Each sandbox speaks what ``specs/<key>.yaml`` says: the documented paths, auth and error
bodies, scripted lifecycles on a controllable clock, and a log of every request. Injected
faults, and the ``rate_limit`` option's 429 (which namirial's and roycetalk's specs do not
list), answer beyond the spec on purpose: as a real server, or a proxy before it, may. Needs the
``testing`` extra (Starlette, uvicorn); importing this package does not load them until
``Sandbox``/``FakeClock``/... are first used.

Layout: ``_sandbox`` holds the ``Sandbox`` and its public controls; beside it ``_clock``,
``_store`` (messages, lifecycles), ``_faults``, ``_dispatch`` (routing, auth, rate windows,
the request log), ``_server`` (the uvicorn thread) and ``_webhooks``. ``_base`` is what a
provider's fake declares, and ``<key>.py`` is that fake, mirroring
``sms_status/providers/<key>.py``.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from sms_status.testing._keys import DEMO_KEYS, PROVIDER_KEYS

if TYPE_CHECKING:
    from sms_status.testing._sandbox import (
        FAULT_KINDS,
        Clock,
        FakeClock,
        Fault,
        MessageHandle,
        RealClock,
        RecordedRequest,
        Sandbox,
    )
    from sms_status.testing._webhooks import WebhookDelivery

__all__ = [
    "DEMO_KEYS",
    "FAULT_KINDS",
    "PROVIDER_KEYS",
    "Clock",
    "FakeClock",
    "Fault",
    "MessageHandle",
    "RealClock",
    "RecordedRequest",
    "Sandbox",
    "WebhookDelivery",
]

_LAZY = frozenset(__all__) - {"DEMO_KEYS", "PROVIDER_KEYS"}

MISSING_TESTING_EXTRA = (
    'the sms-status sandbox needs the testing extra: pip install "sms-status[testing]"'
)


def require_testing_extra() -> None:
    """Raise ModuleNotFoundError naming the extra when Starlette or uvicorn is missing."""
    for module in ("starlette", "uvicorn"):
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(MISSING_TESTING_EXTRA, name=module)


if not TYPE_CHECKING:  # checkers see the imports above: a misspelt name is an error there

    def __getattr__(name: str) -> Any:
        if name == "WebhookDelivery":
            from sms_status.testing import _webhooks

            return _webhooks.WebhookDelivery
        if name in _LAZY:
            require_testing_extra()
            from sms_status.testing import _sandbox

            return getattr(_sandbox, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
