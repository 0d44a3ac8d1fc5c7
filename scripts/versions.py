"""Versions of the distributions: bump them, check them, record a release.

    python scripts/versions.py bump <key|sms-status> <major|minor|patch>   # nox -s bump -- ...
    python scripts/versions.py check                                        # nox -s release_check
    python scripts/versions.py record <key|sms-status>                      # nox -s record_release

Each distribution has its own version (docs/versioning.md). A generated client's version
lives in `generator/<key>.yaml` (`package_version_override`); the umbrella `sms-status` pins
each client exactly in its extra, so a client bump moves that pin too, and `uv.lock`.

`releases.toml` records, per released version, the sha256 of `generated/<key>/` (for
`sms-status`: of its pins). `check` needs nothing but this checkout (it runs in a fresh
clone in CI): a released version's tree may not change; a version not yet released must
have an entry in CHANGELOG.md. Standard library only: runs before anything is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _providers import provider_keys

ROOT = Path(__file__).resolve().parent.parent
UMBRELLA = "sms-status"
PARTS = ("major", "minor", "patch")
# Left by tools next to generated code; never part of a distribution.
IGNORED = {".ruff_cache", ".mypy_cache", ".pytest_cache", "__pycache__"}
VERSION_LINE = re.compile(
    r'^package_version_override:[ \t]*"?([0-9][^"\s]*)"?[ \t]*$', re.MULTILINE
)
PLACEHOLDER = "(describe the change"
RUN = "python3 scripts/uv.py run --frozen nox -s"


def bumped(version: str, part: str) -> str:
    major, minor, patch = (int(n) for n in version.split(".")[:3])
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def _key_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version)[:3])


@dataclass(frozen=True)
class Repo:
    root: Path

    @property
    def keys(self) -> tuple[str, ...]:
        return provider_keys(self.root)

    # --- where each version lives ---------------------------------------------------------
    def client_version(self, key: str) -> str:
        match = VERSION_LINE.search((self.root / "generator" / f"{key}.yaml").read_text())
        if not match:
            raise SystemExit(f"generator/{key}.yaml has no package_version_override")
        return match.group(1)

    def pyproject(self) -> dict[str, object]:
        return tomllib.loads((self.root / "pyproject.toml").read_text())

    def umbrella_version(self) -> str:
        return str(self.pyproject()["project"]["version"])  # type: ignore[index]

    def version(self, dist: str) -> str:
        return self.umbrella_version() if dist == UMBRELLA else self.client_version(dist)

    def pins(self) -> dict[str, str]:
        extras = self.pyproject()["project"]["optional-dependencies"]  # type: ignore[index]
        found = {}
        for key in self.keys:
            for requirement in extras.get(key, []):
                name, _, version = requirement.partition("==")
                if name == f"sms-status-{key}":
                    found[key] = version
        return found

    def generated_version(self, key: str) -> str | None:
        path = self.root / "generated" / key / "pyproject.toml"
        if not path.is_file():
            return None
        return str(tomllib.loads(path.read_text())["project"]["version"])

    def locked_version(self, dist: str) -> str | None:
        lock = (self.root / "uv.lock").read_text()
        match = re.search(rf'^name = "{re.escape(dist)}"\nversion = "([^"]+)"', lock, re.MULTILINE)
        return match.group(1) if match else None

    # --- what a release is ------------------------------------------------------------------
    def tree_hash(self, dist: str) -> str:
        """sha256 over the released content: generated/<key>/ (paths and bytes), or the pins."""
        digest = hashlib.sha256()
        if dist == UMBRELLA:
            for key, version in sorted(self.pins().items()):
                digest.update(f"sms-status-{key}=={version}\n".encode())
            return digest.hexdigest()
        tree = self.root / "generated" / dist
        for path in sorted(tree.rglob("*")):
            rel = path.relative_to(tree)
            if path.is_file() and not IGNORED.intersection(rel.parts):
                digest.update(f"{rel.as_posix()}\0".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    def releases(self) -> dict[str, dict[str, str]]:
        path = self.root / "releases.toml"
        return tomllib.loads(path.read_text()) if path.is_file() else {}

    def write_releases(self, releases: dict[str, dict[str, str]]) -> None:
        lines = [
            "# Released versions and the sha256 of what each was built from (generated/<key>/,",
            "# or for sms-status its pins). Written by `nox -s record_release -- <dist>` when a",
            "# version is published; read by `nox -s release_check`. Never edit by hand.",
        ]
        for dist in sorted(releases):
            lines += ["", f'["{dist}"]']
            for version in sorted(releases[dist], key=_key_tuple):
                lines.append(f'"{version}" = "{releases[dist][version]}"')
        (self.root / "releases.toml").write_text("\n".join(lines) + "\n")

    def changelog(self) -> str:
        path = self.root / "CHANGELOG.md"
        return path.read_text() if path.is_file() else ""


def dist_name(dist: str) -> str:
    return dist if dist == UMBRELLA else f"sms-status-{dist}"


def check(repo: Repo) -> list[str]:
    """Every problem with the versions of this checkout, each with its fix."""
    problems: list[str] = []
    releases = repo.releases()
    pins = repo.pins()
    changelog = repo.changelog()
    for dist in (*repo.keys, UMBRELLA):
        name = dist_name(dist)
        version = repo.version(dist)
        if dist != UMBRELLA:
            if pins.get(dist) != version:
                problems.append(
                    f"{name}: pyproject.toml's extra pins {pins.get(dist)} but "
                    f"generator/{dist}.yaml says {version}; fix: `{RUN} bump` moves both together"
                )
            if repo.generated_version(dist) != version:
                problems.append(
                    f"{name}: generated/{dist}/ is version {repo.generated_version(dist)}, "
                    f"generator/{dist}.yaml says {version}; fix: `{RUN} generate`"
                )
        if repo.locked_version(name) != version:
            problems.append(
                f"{name}: uv.lock has {repo.locked_version(name)}, expected {version}; "
                "fix: `python3 scripts/uv.py lock`"
            )
        released = releases.get(name, {})
        if version in released:
            if repo.tree_hash(dist) != released[version]:
                if dist == UMBRELLA:  # spec_diff knows providers only
                    what, fix = "its pins", f"`{RUN} bump -- {dist} patch`"
                else:
                    what = f"generated/{dist}/"
                    fix = (
                        f"`{RUN} bump -- {dist} <major|minor|patch>` "
                        f"(`{RUN} spec_diff -- {dist} <ref>` proposes the part)"
                    )
                problems.append(
                    f"{name} {version} is released, but {what} changed since: fix: {fix} "
                    "and describe the change in CHANGELOG.md"
                )
            continue
        if released and _key_tuple(version) <= max(map(_key_tuple, released)):
            problems.append(
                f"{name} {version} is not above its last release "
                f"{max(released, key=_key_tuple)}; fix: `{RUN} bump -- {dist} <part>`"
            )
        # A bullet of its own (`_entry`): a line that only cites the version (the umbrella's
        # "pins sms-status-x 0.1.1", prose) is no entry for it.
        entry = _entry(changelog, name, version)
        if entry is None or PLACEHOLDER in entry:
            problems.append(
                f"{name} {version} (unreleased) has no entry in CHANGELOG.md; fix: add "
                f"`- {name} {version}: <what changed>` under ## [Unreleased] (replacing the "
                "placeholder `nox -s bump` leaves)"
            )
    return problems


def _set_client_version(repo: Repo, key: str, old: str, new: str) -> None:
    pyproject = repo.root / "pyproject.toml"
    text = pyproject.read_text()
    pin = f'"sms-status-{key}=={old}"'
    if pin not in text:  # checked before anything is written: a rerun starts from the same
        raise SystemExit(f"pyproject.toml has no pin {pin}: fix it by hand, then rerun")
    config = repo.root / "generator" / f"{key}.yaml"
    config.write_text(
        VERSION_LINE.sub(f'package_version_override: "{new}"', config.read_text(), count=1)
    )
    pyproject.write_text(text.replace(pin, f'"sms-status-{key}=={new}"'))


def _set_umbrella_version(repo: Repo, old: str, new: str) -> None:
    pyproject = repo.root / "pyproject.toml"
    text = pyproject.read_text()
    line = f'\nversion = "{old}"\n'
    if line not in text:
        raise SystemExit(f"pyproject.toml has no line version = {old!r}")
    pyproject.write_text(text.replace(line, f'\nversion = "{new}"\n', 1))


def _note_in_changelog(repo: Repo, name: str, version: str, text: str = "") -> None:
    """Add `- <name> <version>: <text>` under [Unreleased] / Changed (a placeholder if no text)."""
    path = repo.root / "CHANGELOG.md"
    changelog = repo.changelog()
    if _entry(changelog, name, version) is not None:
        return
    marker = "## [Unreleased]\n"
    if marker not in changelog:
        raise SystemExit("CHANGELOG.md has no '## [Unreleased]' section")
    line = f"- {name} {version}: {text or PLACEHOLDER + '; `nox -s spec_diff` drafts it)'}\n"
    start = changelog.index(marker) + len(marker)
    end = changelog.find("\n## [", start)
    unreleased = changelog[start : len(changelog) if end < 0 else end + 1]
    # Its own "### Changed" wherever it stands in the section (after "### Added", say):
    # a second one broke Keep a Changelog's layout.
    found = re.search(r"^### Changed\n", unreleased, re.MULTILINE)
    if found:
        at = start + found.end()
        changelog = changelog[:at] + line + changelog[at:]
    else:
        changelog = changelog.replace(marker, f"{marker}\n### Changed\n" + line, 1)
    path.write_text(changelog)


def _entry(changelog: str, name: str, version: str) -> str | None:
    """The CHANGELOG bullet for `<name> <version>`: `- a 1.0, b 2.0: text` names a and b
    (only before its first colon: prose and other entries may cite versions)."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(name)} {re.escape(version)}(?![\w.])")
    bullets = (line for line in changelog.splitlines() if line.lstrip().startswith("- "))
    return next((line for line in bullets if pattern.search(line.partition(": ")[0])), None)


def bump(repo: Repo, dist: str, part: str, *, regenerate: bool = True, lock: bool = True) -> str:
    """Move `dist`'s version (config, pin, generated tree, uv.lock, CHANGELOG placeholder)."""
    old = repo.version(dist)
    new = bumped(old, part)
    if dist == UMBRELLA:
        _set_umbrella_version(repo, old, new)
    else:
        _set_client_version(repo, dist, old, new)
        if regenerate:  # the generated pyproject.toml and PROVENANCE carry the version
            subprocess.run(
                [sys.executable, str(repo.root / "scripts" / "generate.py"), dist], check=True
            )
        umbrella = repo.umbrella_version()
        if umbrella in repo.releases().get(UMBRELLA, {}):  # its pins move: it needs a release
            print(f"{UMBRELLA}: {umbrella} is released and its pin moved, bumping it too")
            _set_umbrella_version(repo, umbrella, bumped(umbrella, "patch"))
            pin = f"pins {dist_name(dist)} {new}"
            _note_in_changelog(repo, UMBRELLA, repo.umbrella_version(), pin)
    _note_in_changelog(repo, dist_name(dist), new)
    if lock:
        subprocess.run([sys.executable, str(repo.root / "scripts" / "uv.py"), "lock"], check=True)
    print(f"{dist_name(dist)} {old} -> {new}; describe it in CHANGELOG.md (placeholder added)")
    return new


def record(repo: Repo, dist: str) -> None:
    """Record the current version of `dist` as released (at publish time)."""
    version = repo.version(dist)
    releases = repo.releases()
    recorded = releases.setdefault(dist_name(dist), {})
    digest = repo.tree_hash(dist)
    if recorded.get(version, digest) != digest:
        raise SystemExit(f"{dist_name(dist)} {version} was released with other content: bump")
    recorded[version] = digest
    repo.write_releases(releases)
    print(f"recorded {dist_name(dist)} {version} ({digest[:12]})")


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    repo = Repo(root)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    bump_parser = commands.add_parser("bump", help="move a version (config, pin, lock)")
    bump_parser.add_argument("dist", help=f"a provider key or {UMBRELLA}")
    bump_parser.add_argument("part", choices=PARTS)
    commands.add_parser("check", help="versions consistent; changed trees bumped and described")
    record_parser = commands.add_parser("record", help="record the current version as released")
    record_parser.add_argument("dist", help=f"a provider key or {UMBRELLA}")
    args = parser.parse_args(argv)
    if args.command in ("bump", "record") and args.dist not in (*repo.keys, UMBRELLA):
        known = ", ".join((*repo.keys, UMBRELLA))
        parser.error(f"unknown distribution {args.dist!r}; one of {known}")
    if args.command == "bump":
        bump(repo, args.dist, args.part)
        return 0
    if args.command == "record":
        record(repo, args.dist)
        return 0
    problems = check(repo)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        versions = (f"{dist_name(d)} {repo.version(d)}" for d in (*repo.keys, UMBRELLA))
        print(f"versions consistent: {', '.join(versions)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
