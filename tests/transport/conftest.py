"""Fixtures shared by the transport tests."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def count_ca_loads(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[object]]:
    """Call it to start counting CA bundle loads (~20 ms each): it returns the list each
    `load_verify_locations` call is added to. The default CA setting is used throughout."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)

    def start() -> list[object]:
        loads: list[object] = []
        original = ssl.SSLContext.load_verify_locations

        def counting(context: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
            loads.append(args or kwargs)
            original(context, *args, **kwargs)

        monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
        return loads

    return start
