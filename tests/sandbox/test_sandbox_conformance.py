"""schemathesis (4.x CLI) against every provider's served sandbox, using that provider's spec.

All five runs start together (one subprocess each, against five sandboxes served from this
process) and take ~6 s in all on an idle machine; each provider's test then waits for its own
run to end. No wall-clock budget is asserted: under load (more workers than cores) a run can
take minutes, and that says nothing about conformance. `HANG_GUARD_SECONDS` only stops a run
that hangs.

Checks: ``--checks all`` minus those that cannot apply, per provider:

- roycetalk ``missing_required_header``: schemathesis insists on 401 for a request without
  ``Authorization``; RoyceTalk documents 403 for it (and the sandbox answers 403).
- seven ``ignored_auth``: seven answers a missing or wrong key with HTTP 200 and the body
  ``900`` (the spec's ``invalidApiKey`` example of the 200 response), not 401/403.
- seven ``negative_data_rejection``: errors, e.g. ``901`` for a missing ``msg_id``, come as
  numeric bodies with HTTP 200 (the spec's ``default`` response admits any status).
- namirial ``negative_data_rejection``: the spec documents no 400, so the sandbox clamps an
  out-of-range ``count`` and ignores a malformed ``sendDate`` rather than invent an answer
  (``invalid_query="reject"`` exists for tests that want a 400).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_support import AUTH_HEADER_NAME, SPECS
from sms_status.testing import PROVIDER_KEYS, FakeClock, Sandbox

EXCLUDED = {
    "telecom23": (),
    "namirial": ("negative_data_rejection",),
    "roycetalk": ("missing_required_header",),
    "lisoloo": (),
    "seven": ("ignored_auth", "missing_required_header", "negative_data_rejection"),
}
HANG_GUARD_SECONDS = 600
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def _command(key: str, sb: Sandbox) -> list[str]:
    value = f"Bearer {sb.api_key}" if key == "roycetalk" else sb.api_key
    command = [
        str(SCHEMATHESIS),
        "--no-color",
        "run",
        str(SPECS / f"{key}.yaml"),
        "--url",
        sb.base_url,
        "--max-examples",
        "20",
        "--seed",
        "1",
        "-H",
        f"{AUTH_HEADER_NAME[key]}: {value}",
        "--checks",
        "all",
        "--request-timeout",
        "60",
    ]
    if EXCLUDED[key]:
        command += ["--exclude-checks", ",".join(EXCLUDED[key])]
    return command


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, subprocess.Popen[str]]]:
    if not SCHEMATHESIS.exists():
        pytest.skip("schemathesis is not installed (dev dependency group)")
    sandboxes = {key: Sandbox(key, clock=FakeClock()).start() for key in PROVIDER_KEYS}
    work = tmp_path_factory.mktemp("schemathesis")
    processes = {
        key: subprocess.Popen(
            _command(key, sb),
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for key, sb in sandboxes.items()
    }
    try:
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
        for sb in sandboxes.values():
            sb.stop()


@pytest.mark.slow  # 13-34 s each: schemathesis
@pytest.mark.parametrize("key", PROVIDER_KEYS)
def test_schemathesis_finds_no_issue(key: str, runs: dict[str, subprocess.Popen[str]]) -> None:
    try:
        output, _ = runs[key].communicate(timeout=HANG_GUARD_SECONDS)
    except subprocess.TimeoutExpired:
        runs[key].kill()
        pytest.fail(f"schemathesis on {key} hung for {HANG_GUARD_SECONDS} s")
    assert runs[key].returncode == 0, output
    summary = output.strip().splitlines()[-1]
    assert "failure" not in summary, output
    assert "error" not in summary, output
    assert "Test cases:" in output, output
