"""The python blocks of docs/tracking-many-workers.md run as written, against the sandboxes
(as the README's blocks do: tests/docs/test_readme.py) and a fresh redis-server of their own:
the many workers on one server, the cluster client on a one-node cluster."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sms_status.testing.redis_server import redis_cluster, redis_server

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "tracking-many-workers.md"
FENCE = re.compile(r"^```python\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


@pytest.mark.slow  # a subprocess that waits for telecom23's first poll, 3 s after add()
def test_the_many_workers_example_runs_and_hands_the_outcome_over_once(
    sandbox_env: dict[str, str], tmp_path: Path
) -> None:
    block, _ = FENCE.findall(PAGE.read_text(encoding="utf-8"))
    with redis_server(tmp_path) as redis_url:
        result = _run(block, tmp_path, {**sandbox_env, "REDIS_URL": redis_url})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in result.stderr, result.stderr
    handed = [line for line in result.stdout.splitlines() if line.startswith("telecom23:")]
    assert handed == [
        "telecom23:api_42_1743667200123456789_a3f8b2c1d9e45f67 delivered (delivery 1)"
    ]


def test_the_cluster_example_runs_on_a_cluster(tmp_path: Path) -> None:
    _, block = FENCE.findall(PAGE.read_text(encoding="utf-8"))
    with redis_cluster() as redis_url:
        result = _run(block, tmp_path, {**os.environ, "REDIS_URL": redis_url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stderr, result.stderr
    assert result.stdout.startswith("Counts(in_flight=1,"), result.stdout


def _run(block: str, workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (workdir / "snippet.py").write_text(block)
    return subprocess.run(
        [sys.executable, "-W", "default", str(workdir / "snippet.py")],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
