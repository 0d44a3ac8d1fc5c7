"""Packaging: every wheel builds, and `sms-status[telecom23]` installs from them alone.

A provider extra is a production install: the sandbox's web stack (Starlette, uvicorn) comes
only with the `testing` extra, and the pytest fixtures say so in one line when it is missing.

A module-scoped fixture builds all six wheels (`uv build --all-packages`), makes a fresh venv,
installs the locked third-party dependencies (httpx, attrs, python-dateutil and theirs, from
`uv export --frozen`), then installs `sms-status[telecom23]` with `--no-index --find-links
dist`, so every `sms-status*` distribution can only come from the wheels just built. The
checks then run in that venv with `python -I` from a directory outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from sms_status._registry import PROVIDERS

ROOT = Path(__file__).resolve().parents[2]
# Each distribution has its own version (docs/versioning.md): read them, never restate them.
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
CLIENT_VERSIONS = {
    key: tomllib.loads((ROOT / "generated" / key / "pyproject.toml").read_text())["project"][
        "version"
    ]
    for key in PROVIDERS
}


def _uv() -> str:
    local = Path(sys.executable).parent / "uv"  # the dev group pins uv
    found = str(local) if local.exists() else shutil.which("uv")
    assert found, "uv is required for the packaging test"
    return found


def _env() -> dict[str, str]:
    # Nothing of the calling environment (nox's venv, a PYTHONPATH) may leak into the new venv.
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT", "CONDA_PREFIX"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@dataclass(frozen=True)
class Installed:
    dist: Path
    python: Path
    workdir: Path

    def run(self, code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), "-I", "-c", textwrap.dedent(code)],
            cwd=self.workdir,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def json(self, code: str) -> object:
        result = self.run(code)
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("packaging")
    dist, venv, workdir = tmp / "dist", tmp / "venv", tmp / "work"
    workdir.mkdir()
    uv = _uv()
    _run(uv, "build", "--all-packages", "-o", dist, cwd=ROOT)
    requirements = tmp / "third-party.txt"
    _run(
        uv, "export", "--frozen", "--no-emit-workspace", "--no-dev", "--no-hashes",
        "--extra", "telecom23", "-o", requirements, cwd=ROOT,
    )  # fmt: skip
    _run(uv, "venv", venv, "-p", sys.executable, cwd=workdir)
    python = venv / "bin" / "python"
    _run(uv, "pip", "install", "-p", python, "-r", requirements, cwd=workdir)
    _run(
        uv, "pip", "install", "-p", python, "--no-index", "--find-links", dist,
        "sms-status[telecom23]", cwd=workdir,
    )  # fmt: skip
    return Installed(dist=dist, python=python, workdir=workdir)


def test_every_wheel_is_built(installed: Installed) -> None:
    wheels = {p.name: p for p in installed.dist.glob("*.whl")}
    expected = {f"sms_status-{VERSION}-py3-none-any.whl"} | {
        f"sms_status_{key}-{CLIENT_VERSIONS[key]}-py3-none-any.whl" for key in PROVIDERS
    }
    assert set(wheels) == expected
    print("\nwheel sizes:")
    for name, path in sorted(wheels.items()):
        print(f"  {name}: {path.stat().st_size:,} bytes")

    for key in PROVIDERS:
        wheel_name = f"sms_status_{key}-{CLIENT_VERSIONS[key]}-py3-none-any.whl"
        with zipfile.ZipFile(wheels[wheel_name]) as wheel:
            names = wheel.namelist()
        assert f"sms_status_{key}/py.typed" in names
        assert f"sms_status_{key}/client.py" in names

    with zipfile.ZipFile(wheels[f"sms_status-{VERSION}-py3-none-any.whl"]) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(f"sms_status-{VERSION}.dist-info/METADATA").decode()
    assert "sms_status/py.typed" in names
    assert "License-Expression: MIT" in metadata
    assert "License-File: LICENSE" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    assert f"sms_status-{VERSION}.dist-info/licenses/LICENSE" in names
    # The umbrella carries the overlay only; each client is its own distribution.
    assert not [n for n in names if n.startswith("sms_status_") and ".dist-info/" not in n]
    for key in PROVIDERS:
        assert f"Provides-Extra: {key}" in metadata
        requirement = f"Requires-Dist:sms-status-{key}=={CLIENT_VERSIONS[key]};extra=='{key}'"
        assert requirement in metadata.replace(" ", "").splitlines()


def test_only_the_telecom23_client_is_installed(installed: Installed) -> None:
    listing = _run(
        _uv(), "pip", "list", "-p", installed.python, "--format", "json", cwd=installed.workdir
    )
    versions = {p["name"]: p["version"] for p in json.loads(listing.stdout)}
    ours = {name: v for name, v in versions.items() if name.startswith("sms-status")}
    assert ours == {"sms-status": VERSION, "sms-status-telecom23": CLIENT_VERSIONS["telecom23"]}


def test_telecom23_client_imports_from_the_installed_wheel(installed: Installed) -> None:
    files = installed.json(
        """
        import json, sms_status, sms_status_telecom23
        from sms_status_telecom23 import AuthenticatedClient
        print(json.dumps([sms_status.__file__, sms_status_telecom23.__file__]))
        """
    )
    venv = installed.python.parent.parent.resolve()
    assert isinstance(files, list)
    for file in files:
        assert Path(file).resolve().is_relative_to(venv), file  # not the repository's copy


def test_the_sandbox_web_stack_stays_out_of_a_provider_install(installed: Installed) -> None:
    listing = _run(
        _uv(), "pip", "list", "-p", installed.python, "--format", "json", cwd=installed.workdir
    )
    names = {p["name"].lower() for p in json.loads(listing.stdout)}
    assert not names & {"starlette", "uvicorn", "click"}, sorted(names)


def test_seven_client_is_absent(installed: Installed) -> None:
    result = installed.json(
        """
        import json
        try:
            import sms_status_seven
        except ModuleNotFoundError as exc:
            print(json.dumps(exc.name))
        else:
            print(json.dumps("imported"))
        """
    )
    assert result == "sms_status_seven"


MISSING_PROVIDER_PROBE = """
    import json
    from sms_status.errors import MissingProviderError
    try:
        {action}
    except MissingProviderError as exc:
        print(json.dumps({{"message": str(exc), "is_import_error": isinstance(exc, ImportError),
                          "provider": exc.provider}}))
    else:
        print(json.dumps(None))
"""


@pytest.mark.parametrize(
    "action",
    [
        "import sms_status.providers.seven",
        'import sms_status; sms_status.connect("seven", api_key="x")',
    ],
    ids=["import-provider-module", "connect"],
)
def test_the_overlay_names_the_missing_extra(installed: Installed, action: str) -> None:
    result = installed.json(MISSING_PROVIDER_PROBE.format(action=action))
    assert isinstance(result, dict), f"{action!r} did not raise MissingProviderError"
    assert 'pip install "sms-status[seven]"' in result["message"]
    assert result["is_import_error"] is True
    assert result["provider"] == "seven"


USER_TEST = """
import sms_status


def test_mine(telecom23_sandbox):
    telecom23_sandbox.add_message("m1", statuses=("pending", "DELIVRD"))
    client = sms_status.connect(
        "telecom23", api_key=telecom23_sandbox.api_key, base_url=telecom23_sandbox.base_url
    )
    with client:
        assert client.get_status("m1").is_final is False
        assert client.get_status("m1").is_delivered
"""


def _run_user_tests(installed: Installed) -> subprocess.CompletedProcess[str]:
    project = installed.workdir / "user_project"
    project.mkdir(exist_ok=True)
    (project / "test_mine.py").write_text(textwrap.dedent(USER_TEST))
    return subprocess.run(
        [str(installed.python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow  # 21 s: installs the testing extra
def test_the_sandbox_fixture_names_the_testing_extra_then_works_with_it(
    installed: Installed,
) -> None:
    import importlib.metadata

    pytest_version = importlib.metadata.version("pytest")
    _run(_uv(), "pip", "install", "-p", installed.python, f"pytest=={pytest_version}",
         cwd=installed.workdir)  # fmt: skip
    without = _run_user_tests(installed)
    assert without.returncode == 1, without.stdout + without.stderr
    assert 'needs the testing extra: pip install "sms-status[testing]"' in without.stdout
    assert "Traceback" not in without.stdout  # one line, not a stack

    requirements = installed.workdir / "testing-extra.txt"
    _run(
        _uv(), "export", "--frozen", "--no-emit-workspace", "--no-dev", "--no-hashes",
        "--extra", "testing", "-o", requirements, cwd=ROOT,
    )  # fmt: skip
    _run(_uv(), "pip", "install", "-p", installed.python, "-r", requirements,
         cwd=installed.workdir)  # fmt: skip
    _run(
        _uv(), "pip", "install", "-p", installed.python, "--no-index", "--find-links",
        installed.dist, "sms-status[telecom23,testing]", cwd=installed.workdir,
    )  # fmt: skip
    with_extra = _run_user_tests(installed)
    assert with_extra.returncode == 0, with_extra.stdout + with_extra.stderr
    assert "1 passed" in with_extra.stdout


def test_the_command_without_the_cli_extra_says_which_extra_to_install(
    installed: Installed,
) -> None:
    # sms-status[telecom23] has neither click nor rich, yet every install gets the command.
    result = subprocess.run(
        [str(installed.python.parent / "sms-status"), "status", "--help"],
        cwd=installed.workdir,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == 'sms-status needs the cli extra: pip install "sms-status[cli]"\n'
