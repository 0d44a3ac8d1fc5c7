"""Every task of the project, run the same way on a laptop and in CI.

`nox` (no arguments) is the full check that `.ci/run` runs: drift, release_check, lint,
lint_specs, typecheck, tests. Each session gets its own virtualenv synced by uv from `uv.lock`, so
nothing depends on what happens to be installed on the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from _providers import provider_keys

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["drift", "release_check", "lint", "lint_specs", "typecheck", "tests"]

ROOT = Path(__file__).parent
PROVIDERS = provider_keys(ROOT)
SPECS = [f"specs/{key}.yaml" for key in PROVIDERS]
SPEC_LINT_TOOLS = ROOT / "tools" / "spec-lint"


def _sync(session: nox.Session, *extra: str, compile_bytecode: bool = False) -> None:
    """Install the locked workspace (every extra, the dev group) into the session's venv.

    `compile_bytecode` for sessions that time imports: with PYTHONDONTWRITEBYTECODE set (as on
    our CI machines) nothing would be cached and every import would compile from source.
    """
    env = {"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}
    if compile_bytecode:
        env["UV_COMPILE_BYTECODE"] = "1"
    session.run_install(
        "uv", "sync", "--locked", "--all-extras", "--all-packages", *extra, env=env, silent=True
    )


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate generated/ from specs/ (after any spec, config or template change)."""
    _sync(session)
    session.run("python", "scripts/generate.py", *session.posargs)


@nox.session
def drift(session: nox.Session) -> None:
    """Fail with the diff if generated/ differs from a fresh generation."""
    _sync(session)
    session.run("python", "scripts/generate.py", "--check")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over everything hand-written."""
    _sync(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def lint_specs(session: nox.Session) -> None:
    """openapi-spec-validator, Spectral (spectral:oas) and Redocly over every spec."""
    _sync(session)
    session.run("openapi-spec-validator", *SPECS)
    bin_dir = SPEC_LINT_TOOLS / "node_modules" / ".bin"
    if not (bin_dir / "spectral").exists() or not (bin_dir / "redocly").exists():
        session.run(
            "npm",
            "ci",
            "--prefix",
            str(SPEC_LINT_TOOLS),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            external=True,
        )
    quiet = {
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
        "SCARF_ANALYTICS": "false",
        "DO_NOT_TRACK": "1",
    }
    session.run(
        str(bin_dir / "spectral"),
        "lint",
        "--fail-severity",
        "warn",
        "--ruleset",
        "specs/.spectral.yaml",
        *SPECS,
        external=True,
        env=quiet,
    )
    output = session.run(
        str(bin_dir / "redocly"),
        "lint",
        "--config",
        "specs/redocly.yaml",
        *SPECS,
        external=True,
        env=quiet,
        silent=True,
    )
    print(output)
    if "warning" in str(output).lower().replace("deprecation warning", ""):
        session.error("Redocly reported warnings: fix them (they are errors here)")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict and pyright on the overlay, the generated clients, tests/typing, examples/."""
    _sync(session)
    generated = [str(p) for p in sorted((ROOT / "generated").glob("*/sms_status_*"))]
    session.run("mypy", "--strict", "overlays/sms_status", "tests/typing", "examples")
    session.run("mypy", "--strict", "scripts", "noxfile.py")  # the maintainer tools
    for package in generated:  # one run each: every package is its own top-level module
        session.run("mypy", "--strict", package)
    # Check against this session's installs, not whatever .venv a developer has.
    session.run(
        "pyright",
        "--pythonpath",
        f"{session.virtualenv.location}/bin/python",
        "overlays",
        "tests/typing",
        "examples",
    )


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite: unit, integration over loopback, specs, packaging."""
    _sync(session, "--group", "docs", compile_bytecode=True)  # tests/docs builds the site
    workers = os.environ.get("PYTEST_WORKERS", "auto")
    session.run("pytest", "-n", workers, *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, API reference from the docstrings, into site/ (--strict)."""
    _sync(session, "--group", "docs")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the floor; writes benchmarks/results.md."""
    _sync(session, "--group", "bench", compile_bytecode=True)
    session.run("python", "-m", "benchmarks", *session.posargs)


def _usage_error(message: str) -> None:
    """Exit 2 on bad arguments, as the maintainer tools document (nox's own code is 1)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


@nox.session
def spec_diff(session: nox.Session) -> None:
    """`nox -s spec_diff -- <key> [<git ref>]`: what changed in specs/<key>.yaml since the ref
    (default HEAD), each change breaking/compatible, the proposed bump, a CHANGELOG draft."""
    if not 1 <= len(session.posargs) <= 2 or session.posargs[0] not in PROVIDERS:
        _usage_error(f"usage: nox -s spec_diff -- <{'|'.join(PROVIDERS)}> [<git ref>]")
    ref = session.posargs[1] if len(session.posargs) == 2 else "HEAD"
    known = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if known.returncode != 0:
        _usage_error(f"not a git ref here: {ref!r}")
    _sync(session)
    session.run("python", "scripts/spec_diff.py", *session.posargs)


@nox.session
def bump(session: nox.Session) -> None:
    """`nox -s bump -- <key|sms-status> <major|minor|patch>`: the version in generator/<key>.yaml,
    the exact pin in pyproject.toml's extra, the regenerated tree, uv.lock and a CHANGELOG.md
    placeholder, together (docs/versioning.md)."""
    if len(session.posargs) != 2:
        _usage_error("usage: nox -s bump -- <key|sms-status> <major|minor|patch>")
    _sync(session)
    session.run("python", "scripts/versions.py", "bump", *session.posargs)


@nox.session(venv_backend="none")
def release_check(session: nox.Session) -> None:
    """Versions agree (config, pin, generated tree, uv.lock); a released generated/<key>/ is
    unchanged, and an unreleased version has a CHANGELOG.md entry (standard library only)."""
    session.run(sys.executable, "scripts/versions.py", "check", external=True)


@nox.session(venv_backend="none")
def record_release(session: nox.Session) -> None:
    """`nox -s record_release -- <key|sms-status>` at publish time: records the version and
    the sha256 of what it was built from in releases.toml, for release_check."""
    if len(session.posargs) != 1:
        _usage_error("usage: nox -s record_release -- <key|sms-status>")
    session.run(sys.executable, "scripts/versions.py", "record", *session.posargs, external=True)


@nox.session
def new_provider(session: nox.Session) -> None:
    """`nox -s new_provider -- <key> ["Provider Name"]`: scaffold every piece of a provider
    (spec, registry entry, generator config, overlay, sandbox fake, fixture, tests, extras),
    generate its client and lock (docs/adding-a-provider.md)."""
    if not 1 <= len(session.posargs) <= 2:
        _usage_error('usage: nox -s new_provider -- <key> ["Provider Name"]')
    _sync(session)
    session.run("python", "scripts/new_provider.py", *session.posargs)
