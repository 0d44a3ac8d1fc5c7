"""Every ```python block of README.md runs as written against the sandbox servers.

The blocks are not edited: the test starts one sandbox per provider (wall-clock time, the
docs' example messages seeded) and points the library at them the way a user would, through
`SMS_STATUS_<KEY>_API_KEY` and `SMS_STATUS_<KEY>_BASE_URL`. A block that defines `test_*`
functions is a user's test file and runs under pytest (with the shipped plugin); any other
block runs as a script. Each must exit 0, print something, and leave no unclosed socket.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sms_status.testing import PROVIDER_KEYS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```python\n(.*?)^```\n", re.MULTILINE | re.DOTALL)

# Put beside the README's pytest example: fails the test if anything sleeps on the real clock
# for long (the client must wait on the sandbox's FakeClock, not time.sleep).
REAL_SLEEP_GUARD = """
import time

import pytest


@pytest.fixture(autouse=True)
def _real_sleep_budget(monkeypatch):
    real_sleep = time.sleep
    slept = []

    def recording_sleep(seconds):
        slept.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", recording_sleep)
    yield
    assert sum(slept) < 0.5, f"slept {sum(slept):.1f} s on the real clock"
"""


def python_blocks() -> list[str]:
    return FENCE.findall(README.read_text(encoding="utf-8"))


def _block_id(block: str) -> str:
    first = block.strip().splitlines()[0]
    words = re.findall(r"[a-z0-9_]+", first.lower())
    return "-".join(words[:4]) or "block"


BLOCKS = python_blocks()

# seven's status endpoint is deprecated: the SDK says so once (documented behaviour, see
# README); every other warning still fails a snippet.
SEVEN_DEPRECATION = "ignore:seven's status endpoint:DeprecationWarning"


def test_the_readme_has_the_snippets_this_test_runs() -> None:
    # One block for first use, one per provider, the pytest example: a fence typo would
    # otherwise silently drop a snippet from this test.
    assert len(BLOCKS) >= 7
    for key in PROVIDER_KEYS:
        assert any(f'"{key}"' in block for block in BLOCKS), key


@pytest.mark.slow  # 4-28 s a block: each runs in a subprocess
@pytest.mark.parametrize("block", BLOCKS, ids=[_block_id(b) for b in BLOCKS])
def test_readme_block_runs_as_written(
    block: str, sandbox_env: dict[str, str], redis_url: str, tmp_path: Path
) -> None:
    if re.search(r"^def test_", block, re.MULTILINE):
        (tmp_path / "conftest.py").write_text(textwrap.dedent(REAL_SLEEP_GUARD))
        (tmp_path / "test_from_readme.py").write_text(block)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                   "no:xdist", "-W", "default", "-W", SEVEN_DEPRECATION, str(tmp_path)]  # fmt: skip
    else:
        (tmp_path / "snippet.py").write_text(block)
        command = [
            sys.executable, "-W", "default", "-W", SEVEN_DEPRECATION, str(tmp_path / "snippet.py")
        ]  # fmt: skip
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env={**sandbox_env, "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert result.stdout.strip(), "the snippet printed nothing"
    assert "ResourceWarning" not in output, output
    assert "Warning" not in result.stderr, result.stderr
