"""Versions (scripts/versions.py): `nox -s release_check`, `nox -s bump`, `record_release`.

The check must pass on this checkout as committed (CI runs it in a fresh clone) and fail,
naming the fix, when a released `generated/<key>/` changes without a bump, when a bump has
no CHANGELOG entry, or when the version's copies disagree. Red cases run in a copy of the
files the check reads, in tmp_path.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import versions  # noqa: E402
from versions import UMBRELLA, Repo, bump, check, record  # noqa: E402


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "repo"
    for name in ("generator", "generated", "scripts"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns(*versions.IGNORED))
    for name in ("pyproject.toml", "uv.lock", "CHANGELOG.md", "releases.toml"):
        shutil.copy(ROOT / name, root / name)
    registry = root / "overlays" / "sms_status" / "_registry.py"
    registry.parent.mkdir(parents=True)
    shutil.copy(ROOT / "overlays" / "sms_status" / "_registry.py", registry)
    return Repo(root)


def _release_everything(repo: Repo) -> None:
    for dist in (*repo.keys, UMBRELLA):
        record(repo, dist)


def test_release_check_passes_on_this_checkout() -> None:
    assert check(Repo(ROOT)) == []


def test_a_released_tree_that_changes_needs_a_bump(repo: Repo) -> None:
    _release_everything(repo)
    assert check(repo) == []
    model = repo.root / "generated" / "seven" / "sms_status_seven" / "client.py"
    model.write_text(model.read_text() + "# regenerated from a changed spec\n")

    [problem] = check(repo)

    assert problem.startswith("sms-status-seven 0.1.0 is released, but generated/seven/ changed")
    assert "nox -s bump -- seven <major|minor|patch>" in problem
    assert "nox -s spec_diff -- seven <ref>" in problem


def test_a_released_umbrella_whose_pins_move_is_told_a_command_that_runs(repo: Repo) -> None:
    # Its fix named `spec_diff -- sms-status <ref>`, which refuses "unknown provider".
    _release_everything(repo)
    pyproject = repo.root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("sms-status-seven==0.1.0", "sms-status-seven==0.1.1")
    )

    [problem] = [p for p in check(repo) if p.startswith("sms-status 0.1.0 is released")]

    assert "its pins changed since: fix: `python3 scripts/uv.py run --frozen nox" in problem
    assert "-s bump -- sms-status patch` and describe" in problem
    assert "spec_diff" not in problem


def test_bump_moves_config_pin_and_changelog_and_the_umbrella_follows(repo: Repo) -> None:
    _release_everything(repo)
    model = repo.root / "generated" / "seven" / "sms_status_seven" / "client.py"
    model.write_text(model.read_text() + "# regenerated from a changed spec\n")

    assert bump(repo, "seven", "minor", regenerate=False, lock=False) == "0.2.0"

    assert repo.client_version("seven") == "0.2.0"
    config = (repo.root / "generator" / "seven.yaml").read_text()
    assert config.endswith('package_version_override: "0.2.0"\n')
    assert repo.pins()["seven"] == "0.2.0"
    assert repo.pins()["namirial"] == "0.1.0"  # per distribution: the others stay
    assert repo.umbrella_version() == "0.1.1"  # its released pins moved
    problems = "\n".join(check(repo))
    # What bump leaves to the tools it runs (skipped here) and to the maintainer:
    assert "generated/seven/ is version 0.1.0, generator/seven.yaml says 0.2.0" in problems
    assert "sms-status-seven: uv.lock has 0.1.0, expected 0.2.0" in problems
    assert "sms-status-seven 0.2.0 (unreleased) has no entry in CHANGELOG.md" in problems
    assert (
        "- sms-status 0.1.1: pins sms-status-seven 0.2.0\n"
        in (repo.root / "CHANGELOG.md").read_text()
    )

    # ... which done, the check is green.
    generated = repo.root / "generated" / "seven" / "pyproject.toml"
    generated.write_text(generated.read_text().replace('version = "0.1.0"', 'version = "0.2.0"'))
    lock = repo.root / "uv.lock"
    lock.write_text(
        lock.read_text()
        .replace(
            'name = "sms-status-seven"\nversion = "0.1.0"',
            'name = "sms-status-seven"\nversion = "0.2.0"',
        )
        .replace('name = "sms-status"\nversion = "0.1.0"', 'name = "sms-status"\nversion = "0.1.1"')
    )
    changelog = repo.root / "CHANGELOG.md"
    text = changelog.read_text()
    lines = [
        line.split(":")[0] + ": seven's status gains SCHEDULED."
        if versions.PLACEHOLDER in line
        else line
        for line in text.splitlines()
    ]
    changelog.write_text("\n".join(lines) + "\n")
    assert check(repo) == []


def _unreleased(changelog: str) -> str:
    start = changelog.index("## [Unreleased]")
    end = changelog.find("\n## [", start + 1)
    return changelog[start : None if end < 0 else end]


def test_bump_notes_the_changelog_under_its_one_changed_heading(repo: Repo) -> None:
    # Under "## [Unreleased]" the section opened with "### Added": bump wrote a second
    # "### Changed" above it, breaking Keep a Changelog's layout.
    changelog = repo.root / "CHANGELOG.md"
    text = changelog.read_text()
    unreleased = _unreleased(text)
    assert unreleased.count("\n### Changed\n") == 1
    assert not unreleased.startswith("## [Unreleased]\n\n### Changed")  # "### Added" first
    _release_everything(repo)

    bump(repo, "seven", "patch", regenerate=False, lock=False)

    text = changelog.read_text()
    unreleased = _unreleased(text)
    assert unreleased.count("\n### Changed\n") == 1
    changed = unreleased[unreleased.index("### Changed\n") :]
    assert changed.startswith("### Changed\n- sms-status-seven 0.1.1: ")


def test_an_unreleased_version_needs_a_changelog_entry(repo: Repo) -> None:
    changelog = repo.root / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().replace("sms-status-lisoloo 0.1.0", "lisoloo"))
    assert check(repo) == [
        "sms-status-lisoloo 0.1.0 (unreleased) has no entry in CHANGELOG.md; fix: add "
        "`- sms-status-lisoloo 0.1.0: <what changed>` under ## [Unreleased] (replacing the "
        "placeholder `nox -s bump` leaves)"
    ]


def test_a_line_that_only_cites_the_version_is_no_entry_for_it(repo: Repo) -> None:
    # The umbrella's "pins sms-status-seven 0.2.0" line, which bump writes, passed for
    # seven's own entry once its placeholder was deleted with nothing written instead.
    _release_everything(repo)
    bump(repo, "seven", "minor", regenerate=False, lock=False)
    changelog = repo.root / "CHANGELOG.md"
    text = changelog.read_text()
    kept = [line for line in text.splitlines() if versions.PLACEHOLDER not in line]
    changelog.write_text("\n".join(kept) + "\n")
    assert "- sms-status 0.1.1: pins sms-status-seven 0.2.0" in changelog.read_text()
    problems = "\n".join(check(repo))
    assert "sms-status-seven 0.2.0 (unreleased) has no entry in CHANGELOG.md" in problems


def test_a_hand_edited_pin_is_caught(repo: Repo) -> None:
    pyproject = repo.root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("sms-status-roycetalk==0.1.0", "sms-status-roycetalk==0.2.0")
    )
    [problem] = check(repo)
    assert "sms-status-roycetalk: pyproject.toml's extra pins 0.2.0" in problem
    assert "nox -s bump" in problem


def test_a_bump_refused_for_a_hand_edited_pin_writes_nothing(repo: Repo) -> None:
    pyproject = repo.root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("sms-status-roycetalk==0.1.0", "sms-status-roycetalk==0.2.0")
    )
    config = repo.root / "generator" / "roycetalk.yaml"
    before = config.read_text(), pyproject.read_text()
    with pytest.raises(SystemExit, match="no pin"):
        bump(repo, "roycetalk", "minor", regenerate=False, lock=False)
    # Left as it was: the rerun the message asks for bumps from 0.1.0, not from 0.2.0.
    assert (config.read_text(), pyproject.read_text()) == before


def test_record_refuses_to_rewrite_a_release(repo: Repo) -> None:
    record(repo, "namirial")
    model = repo.root / "generated" / "namirial" / "sms_status_namirial" / "client.py"
    model.write_text(model.read_text() + "# changed\n")
    with pytest.raises(SystemExit, match="released with other content"):
        record(repo, "namirial")


def test_bad_arguments_exit_2(repo: Repo) -> None:
    for argv in (
        ["bump", "notaprovider", "minor"],
        ["bump", "seven", "huge"],
        ["record", "notaprovider"],
    ):
        with pytest.raises(SystemExit) as exited:
            versions.main(argv, root=repo.root)
        assert exited.value.code == 2
