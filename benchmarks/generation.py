"""5. Generation: `python scripts/generate.py --generated <tmp>` for all five providers, warm.

The same script `nox -s generate` runs (five openapi-python-client runs in parallel, ruff
post-hooks), writing to a temporary tree so generated/ is untouched. One untimed run warms
the caches; the timed runs follow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import ROOT, Row, Section, Target, child_env


def _generate() -> float:
    bin_dir = str(Path(sys.executable).parent)
    env = child_env(PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    with tempfile.TemporaryDirectory(prefix="sms-status-bench-gen-") as tmp:
        start = time.perf_counter()
        subprocess.run(  # noqa: S603 - the project's own script
            [sys.executable, "scripts/generate.py", "--generated", tmp],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start


def run(*, repetitions: int = 2) -> Section:
    section = Section("5. Generation, all five providers (warm)")
    _generate()
    walls = [_generate() for _ in range(repetitions)]
    row = Row(section.title, "scripts/generate.py (what `nox -s generate` runs)", "s", walls)
    section.rows = [row]
    section.targets.append(
        Target("generation", "≤ 15 s warm", f"{row.median:.1f} s", row.median <= 15)
    )
    return section
