#!/usr/bin/env python3
"""Run the pinned uv, installing it first if this machine lacks it.

The README's two commands go through this script so a fresh machine with only Python >= 3.11
and pip needs nothing else: `python3 scripts/uv.py run …` behaves exactly like `uv run …`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

UV_VERSION = "0.13.9"
TOOLS = Path(__file__).resolve().parent.parent / ".tools"


def _uv_version(uv: str) -> str | None:
    try:
        out = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    parts = out.stdout.split()
    return parts[1] if len(parts) > 1 else None


def find_uv() -> str:
    """Return a uv of the pinned version: the project's own, else PATH's, else install one."""
    local = TOOLS / "bin" / "uv"
    if _uv_version(str(local)) == UV_VERSION:
        return str(local)
    on_path = shutil.which("uv")
    if on_path and _uv_version(on_path) == UV_VERSION:
        return on_path
    print(f"scripts/uv.py: installing uv {UV_VERSION} into {TOOLS}", file=sys.stderr)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--prefix",
            str(TOOLS),
            "--ignore-installed",
            f"uv=={UV_VERSION}",
        ],
        check=True,
    )
    if _uv_version(str(local)) != UV_VERSION:
        sys.exit(f"scripts/uv.py: uv {UV_VERSION} did not install into {local}")
    return str(local)


def main() -> None:
    uv = find_uv()
    os.environ["PATH"] = os.pathsep.join([str(Path(uv).parent), os.environ.get("PATH", "")])
    os.execv(uv, [uv, *sys.argv[1:]])


if __name__ == "__main__":
    main()
