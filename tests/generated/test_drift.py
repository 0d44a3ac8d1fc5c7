"""The drift check (`scripts/generate.py --check`, run by `nox -s drift`).

Green on the committed tree; red, with a diff naming the file, when a spec changes without
regeneration or when a stray file sits in `generated/`. The red cases run on a copy of the
tree in tmp_path (`scripts/generate.py` takes its root from its own location).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_check(root: Path, *providers: str) -> subprocess.CompletedProcess[str]:
    """`scripts/generate.py --check` with this interpreter and its bin dir first on PATH
    (so the pinned `openapi-python-client` and `ruff` resolve)."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])}
    return subprocess.run(
        [sys.executable, str(root / "scripts" / "generate.py"), "--check", *providers],
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        timeout=600,
        check=False,
    )


def copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name in ("specs", "generator", "generated", "scripts"):
        shutil.copytree(
            ROOT / name,
            root / name,
            ignore=shutil.ignore_patterns("__pycache__", ".ruff_cache", ".mypy_cache"),
        )
    registry = root / "overlays" / "sms_status" / "_registry.py"  # the list of providers
    registry.parent.mkdir(parents=True)
    shutil.copy(ROOT / "overlays" / "sms_status" / "_registry.py", registry)
    return root


@pytest.mark.slow  # 22 s: regenerates every client
def test_drift_is_green_on_the_committed_tree() -> None:
    result = run_check(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "generated/ matches the specs" in result.stdout


@pytest.mark.slow  # 21 s: regenerates every client
def test_drift_turns_red_when_a_spec_changes_without_regeneration(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    spec = root / "specs" / "telecom23.yaml"
    text = spec.read_text()
    old = "      summary: Get message status\n"
    assert text.count(old) == 1
    spec.write_text(text.replace(old, "      summary: Get the status of a message\n"))

    result = run_check(root)

    assert result.returncode == 1, result.stdout + result.stderr
    module = "generated/telecom23/sms_status_telecom23/api/status/get_message_status.py"
    assert f"--- {module} (committed)" in result.stdout
    assert f"+++ {module} (fresh)" in result.stdout
    assert '+    """Get the status of a message' in result.stdout
    assert "generated/telecom23/PROVENANCE.json (committed)" in result.stdout  # new spec_sha256
    assert "generated/namirial/" not in result.stdout  # only the changed provider drifts
    assert "generated/ is stale" in result.stderr


@pytest.mark.slow  # 10 s: regenerates every client
def test_drift_turns_red_on_a_stray_or_edited_file(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    package = root / "generated" / "seven" / "sms_status_seven"
    (package / "stale.py").write_text("LEFT_OVER = True\n")
    client = package / "client.py"
    client.write_text(client.read_text() + "# a hand edit\n")
    # Empty, it read as no lines, as a missing file does: "matches", and it would ship.
    (package / "api" / "legacy").mkdir()
    (package / "api" / "legacy" / "__init__.py").write_text("")

    result = run_check(root, "seven")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "generated/seven/sms_status_seven/api/legacy/__init__.py: not generated" in result.stdout
    assert "generated/seven/sms_status_seven/stale.py (committed)" in result.stdout
    assert "-LEFT_OVER = True" in result.stdout
    assert "generated/seven/sms_status_seven/client.py (committed)" in result.stdout
    assert "-# a hand edit" in result.stdout


def test_drift_refuses_a_spec_that_no_registry_entry_names(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    shutil.copy(root / "specs" / "roycetalk.yaml", root / "specs" / "notaprovider.yaml")

    result = run_check(root, "seven")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "specs without a registry entry: notaprovider" in result.stderr
    assert "nox -s new_provider -- <key>" in result.stderr


@pytest.mark.slow  # 5 s: regenerates one client
def test_an_integer_enum_a_spec_adds_is_open_too(tmp_path: Path) -> None:
    # Only string enums had the generator's `_missing_`: an integer enum a vendor added
    # (a priority, say) raised ValueError at its first unknown value, and every status
    # lookup of the provider failed with it, the status itself known.
    root = copy_tree(tmp_path)
    spec = root / "specs" / "lisoloo.yaml"
    text = spec.read_text()
    assert text.count("\n  schemas:\n") == 1
    priority = "    Priority:\n      type: integer\n      enum: [1, 2, 3]\n"
    spec.write_text(text.replace("\n  schemas:\n", "\n  schemas:\n" + priority))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])}
    subprocess.run(
        [sys.executable, str(root / "scripts" / "generate.py"), "lisoloo"],
        cwd=root,
        env=env,
        capture_output=True,
        timeout=600,
        check=True,
    )
    probe = (
        "from sms_status_lisoloo.models import Priority\n"
        "new = Priority(4)\n"
        "print(new.name, new.value, int(new), Priority(2).name, Priority(2) is Priority.VALUE_2)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "PYTHONPATH": str(root / "generated" / "lisoloo")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.split() == ["UNRECOGNIZED", "4", "4", "VALUE_2", "True"], result.stderr
