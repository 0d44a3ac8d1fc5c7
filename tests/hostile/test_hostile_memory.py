"""Peak memory stays flat whatever the body: measured in a fresh process (ru_maxrss is a
process-wide peak, so the call runs alone there, after a warm-up call)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sms_status
from hostile_support import API_KEY, HostileServer, huge, raw, response
from sms_status.errors import MalformedResponseError, SmsStatusError

HERE = Path(__file__).parent
CHILD = """
import asyncio, json, resource, sys, time
sys.path.insert(0, {here!r})
import sms_status
from hostile_support import API_KEY, HostileServer, bomb, gzip_bomb, huge, json_response, raw
from hostile_support import TELECOM23_DELIVERED, endless_chunked

scripts = {{"200MB": huge(200 * 1024 * 1024), "bomb": bomb, "endless": endless_chunked}}
gzip_bomb()  # built before the baseline
warm = HostileServer(raw(json_response(200, TELECOM23_DELIVERED)))
server = HostileServer(scripts[{case!r}])

def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def lookup(base_url):
    options = dict(api_key=API_KEY, base_url=base_url, max_retries=0, timeout=60)
    if {mode!r} == "sync":
        with sms_status.connect("telecom23", **options) as client:
            return client.get_status("m1")
    backend = {{"async-httpx": {{"http_backend": "httpx"}}}}.get({mode!r}, {{}})
    async def main():
        async with sms_status.connect_async("telecom23", **options, **backend) as client:
            return await client.get_status("m1")
    return asyncio.run(main())

lookup(warm.base_url)
before = peak_kib()
started = time.monotonic()
try:
    lookup(server.base_url)
    outcome = "report"
except sms_status.errors.SmsStatusError as exc:
    outcome = type(exc).__name__
elapsed = time.monotonic() - started
print(json.dumps({{"delta_kib": peak_kib() - before, "outcome": outcome,
                  "elapsed": elapsed, "sent": server.bytes_sent}}))
server.close()
warm.close()
"""


def measure(case: str, mode: str) -> dict[str, float | str]:
    script = CHILD.format(here=str(HERE), case=case, mode=mode)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, float | str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow  # 5.5-7.3 s each: 200 MB through the reader
@pytest.mark.parametrize("mode", ["sync", "async", "async-httpx"])
@pytest.mark.parametrize("case", ["200MB", "bomb", "endless"])
def test_a_huge_body_or_a_gzip_bomb_costs_a_few_mb_at_most(case: str, mode: str) -> None:
    result = measure(case, mode)
    assert result["outcome"] == "MalformedResponseError"
    # The default cap is 4 MiB: the body buffer, plus one step of inflation, plus slack.
    assert isinstance(result["delta_kib"], int)
    assert result["delta_kib"] < 24 * 1024, result


# -- what a failed call leaves behind --------------------------------------------------------


def _lookups(mode: str, base_url: str, calls: int, **options: Any) -> list[object]:
    """`calls` lookups of one id each, or one `get_statuses` of `calls` ids (mode "bulk-*"):
    what each ended with (a report, or the error raised)."""
    options = {"api_key": API_KEY, "base_url": base_url, "max_retries": 0, **options}
    outcomes: list[object] = []
    if mode == "sync":
        with sms_status.connect("telecom23", **options) as client:
            for n in range(calls):
                try:
                    outcomes.append(client.get_status(f"m{n}"))
                except SmsStatusError as exc:
                    outcomes.append(exc)
        return outcomes
    if mode == "bulk-sync":
        with sms_status.connect("telecom23", **options) as client:
            return list(client.get_statuses([f"m{n}" for n in range(calls)]))
    backend = {"http_backend": "httpx"} if mode.endswith("httpx") else {}

    async def main() -> None:
        async with sms_status.connect_async("telecom23", **options, **backend) as client:
            if mode.startswith("bulk"):
                outcomes.extend(await client.get_statuses([f"m{n}" for n in range(calls)]))
                return
            for n in range(calls):
                try:
                    outcomes.append(await client.get_status(f"m{n}"))
                except SmsStatusError as exc:
                    outcomes.append(exc)

    asyncio.run(main())
    return outcomes


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """What only the cycle collector would free stays allocated, as between its runs."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@pytest.mark.parametrize("mode", ["sync", "async", "async-httpx"])
def test_a_body_refused_at_the_cap_is_freed_when_its_call_ends(
    hostile: Callable[..., HostileServer], mode: str
) -> None:
    # Each refused body (up to the cap) stayed in a reference cycle with the frames that read
    # it: between collector runs, a bulk lookup held cap x concurrency and more.
    server = hostile(huge(3 * 1024 * 1024))
    _lookups(mode, server.base_url, 1, max_response_bytes=1024 * 1024)  # warm-up
    with _no_cycle_collection():
        tracemalloc.start()
        try:
            outcomes = _lookups(mode, server.base_url, 5, max_response_bytes=1024 * 1024)
            left, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert all(isinstance(o, MalformedResponseError) for o in outcomes), outcomes
    assert left < 2 * 1024 * 1024, f"{left / 2**20:.1f} MiB left after 5 refused 1 MiB bodies"


@pytest.mark.parametrize("mode", ["bulk-sync", "bulk-async", "bulk-async-httpx"])
def test_the_failed_reports_of_a_bulk_lookup_hold_excerpts_not_bodies(
    hostile: Callable[..., HostileServer], mode: str
) -> None:
    # Each failed report's error kept its traceback, whose frames held the whole reply: an
    # error page of 500 KB per failed id, for as long as the caller kept the list.
    page = b"<html>" + b"x" * (500 * 1024) + b"</html>"
    server = hostile(raw(response(200, page, {"Content-Type": "text/html", "Connection": "close"})))
    _lookups(mode, server.base_url, 2)  # warm-up: first-use imports and caches
    gc.collect()
    tracemalloc.start()
    try:
        reports = _lookups(mode, server.base_url, 12)
        gc.collect()  # what only the reports hold is left
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    errors = [getattr(r, "error", None) for r in reports]
    assert all(isinstance(e, MalformedResponseError) for e in errors), errors
    assert held < 2 * 1024 * 1024, f"12 failed reports hold {held / 2**20:.1f} MiB"
