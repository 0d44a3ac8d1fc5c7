"""Clients wired to the sandbox fixtures: real loopback HTTP, the sandbox's fake clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sms_status
from sms_status.testing import FakeClock, Sandbox

Connect = Callable[..., sms_status.StatusClient]


@pytest.fixture
def connect(sandbox_clock: FakeClock) -> Connect:
    """`connect(sandbox, **options)`: a sync client on the sandbox's origin and clock."""

    def make(sandbox: Sandbox, **options: object) -> sms_status.StatusClient:
        options.setdefault("clock", sandbox_clock.monotonic)
        options.setdefault("sleep", sandbox_clock.sleep)
        return sms_status.connect(
            sandbox.key, api_key=sandbox.api_key, base_url=sandbox.base_url, **options
        )

    return make


@pytest.fixture(params=["aiohttp", "httpx"])
def connect_async(
    sandbox_clock: FakeClock, request: pytest.FixtureRequest
) -> Callable[..., sms_status.AsyncStatusClient]:
    """`connect_async(sandbox, **options)`, once over each HTTP backend (aiohttp: `[fast]`)."""

    def make(sandbox: Sandbox, **options: object) -> sms_status.AsyncStatusClient:
        options.setdefault("http_backend", request.param)
        options.setdefault("clock", sandbox_clock.monotonic)
        options.setdefault("sleep", sandbox_clock.async_sleep)
        return sms_status.connect_async(
            sandbox.key, api_key=sandbox.api_key, base_url=sandbox.base_url, **options
        )

    return make
