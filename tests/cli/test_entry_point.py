"""How the command starts: `python -m sms_status`, the console script, and installs without
the `cli` extra (simulated by blocking the import, as a missing package would)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

MISSING = 'sms-status needs the cli extra: pip install "sms-status[cli]"\n'
SMS_STATUS = str(Path(sys.executable).parent / "sms-status")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_python_dash_m_runs_the_command_line():
    result = run("-m", "sms_status", "--help")
    assert result.returncode == 0, result.stderr
    assert "Delivery status of SMS messages" in result.stdout
    assert "Exit codes:" in result.stdout


def test_the_console_script_starts_through_the_guarded_entry_point():
    (script,) = entry_points(group="console_scripts", name="sms-status")
    assert script.value == "sms_status.__main__:main"


@pytest.mark.parametrize("module", ["click", "rich"])
def test_the_installed_command_without_the_cli_extra_exits_3_with_one_line(module, tmp_path):
    # A sitecustomize on PYTHONPATH hides the package from the real `sms-status` script.
    (tmp_path / "sitecustomize.py").write_text(f"import sys\nsys.modules[{module!r}] = None\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [SMS_STATUS, "status", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert (result.returncode, result.stderr, result.stdout) == (3, MISSING, "")


@pytest.mark.parametrize("module", ["click", "rich"])
@pytest.mark.parametrize("how", ["console-script", "dash-m"])
def test_without_the_cli_extra_one_line_says_what_to_install(module, how):
    start = (
        "from sms_status.__main__ import main; main()"
        if how == "console-script"
        else "import runpy; runpy.run_module('sms_status', run_name='__main__')"
    )
    # None in sys.modules makes `import click` fail exactly as an absent package does.
    result = run("-c", f"import sys; sys.modules[{module!r}] = None; {start}", "status", "--help")
    assert result.returncode == 3
    assert result.stderr == MISSING
    assert result.stdout == ""


def test_demo_without_every_provider_says_what_to_install_before_starting(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\nsys.modules['sms_status_namirial'] = None\nsys.modules['uvicorn'] = None\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [SMS_STATUS, "demo"], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert result.returncode == 3
    assert result.stdout == ""  # no sandbox was started
    assert result.stderr == (
        "error: the demo runs every provider's sandbox; missing: namirial, testing: "
        'pip install "sms-status[cli]"\n'
    )
