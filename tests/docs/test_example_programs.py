"""Every script in examples/ runs against the sandbox servers and says what it found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sms_status import PROVIDERS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# seven's deprecated status endpoint is announced once (documented); other warnings fail.
SEVEN_DEPRECATION = "ignore:seven's status endpoint:DeprecationWarning"

# What each script must print: the sandbox serves the providers' documented example messages.
EXPECTED = {
    "telecom23_status.py": [
        "api_42_1743667200123456789_a3f8b2c1d9e45f67: delivered (final: True), "
        "delivered 2026-02-13T10:30:04+00:00, cost 0.0085",
        "api_42_1743667200123456789_0000000000000000: no such message on this account",
    ],
    "namirial_history.py": [
        "latest 1 message(s) to +1234567890:",
        "011d9d6e-b5b9-4cb9-be13-2bc336a923ce  delivered",
        "reference EXT_KEY: 1 message(s), 1 delivered",
    ],
    "roycetalk_wait.py": ["f2672215-c20b-452a-9b6b-1ba51884c55e: delivered, delivered at 2025"],
    "lisoloo_bulk.py": [
        "507f1f77bcf86cd799439011: delivered, 1/1 delivered, 0 failed, 0 pending",
        "507f1f77bcf86cd799439099: NotFoundError",
    ],
    "seven_bulk.py": [
        '"message_id": "77232007287", "state": "delivered"',
        '"message_id": "77232000000", "state": "unknown"',
        '"error_code": "NOT_FOUND"',
    ],
}


def test_every_provider_has_an_example_and_every_example_is_checked() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts == set(EXPECTED)
    for key in PROVIDERS:  # the registry: a new provider needs an example too
        assert any(name.startswith(key) for name in scripts), key


@pytest.mark.slow  # 4-6 s each: a subprocess
@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_against_the_sandbox(script: str, sandbox_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-W", "default", "-W", SEVEN_DEPRECATION, str(EXAMPLES / script)],
        env=sandbox_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for line in EXPECTED[script]:
        assert line in result.stdout, result.stdout
    assert "Warning" not in result.stderr, result.stderr
