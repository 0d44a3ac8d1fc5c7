"""Peak memory stays flat whatever the body: measured in a fresh process (ru_maxrss is a
process-wide peak, so the call runs alone there, after a warm-up call)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
