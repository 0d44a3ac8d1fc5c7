"""The pytest plugin, as a user of sms-status meets it: installed, loaded by its entry point."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sms_status
from sms_status.testing import FakeClock, Sandbox

USER_TESTS = """
import httpx
import pytest


def test_mine(telecom23_sandbox):
    telecom23_sandbox.add_message("m1", statuses=("pending", "DELIVRD"))
    url = telecom23_sandbox.base_url + "/api/v1/sms/status/m1"
    headers = {"X-API-Key": telecom23_sandbox.api_key}
    assert httpx.get(url, headers=headers).json()["message"]["status"] == "pending"
    assert httpx.get(url, headers=headers).json()["message"]["status"] == "DELIVRD"
    assert [r.raw_path for r in telecom23_sandbox.requests] == ["/api/v1/sms/status/m1"] * 2


def test_isolated_from_the_previous_test(telecom23_sandbox):
    assert telecom23_sandbox.requests == []
    headers = {"X-API-Key": telecom23_sandbox.api_key}
    r = httpx.get(telecom23_sandbox.base_url + "/api/v1/sms/status/m1", headers=headers)
    assert r.status_code == 404


def test_clock_and_faults(lisoloo_sandbox, sandbox_clock):
    lisoloo_sandbox.add_message("m", advance=5)
    lisoloo_sandbox.inject_fault("rate_limit")
    url = lisoloo_sandbox.base_url + "/api/v1/lisoloo/sms-api/status/m"
    headers = {"app-key": lisoloo_sandbox.api_key}
    assert httpx.get(url, headers=headers).status_code == 429
    sandbox_clock.advance(10)
    assert httpx.get(url, headers=headers).json()["data"]["status"] == "delivered"


@pytest.mark.sms_sandbox(api_key="my-own-key")
def test_options(seven_sandbox, namirial_sandbox, roycetalk_sandbox):
    assert seven_sandbox.api_key == "my-own-key"
    assert namirial_sandbox.base_url.startswith("http://127.0.0.1:")
"""


def _pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow  # 35 s: a pytest run in a fresh project
def test_a_user_project_gets_the_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    result = _pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


@pytest.mark.slow  # 31 s: a pytest run in a fresh project
def test_the_fixtures_come_from_the_entry_point(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    result = _pytest(tmp_path, "-p", "no:sms_status")
    assert result.returncode != 0
    assert "fixture 'telecom23_sandbox' not found" in result.stdout


def test_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, sms_status.testing.pytest_plugin, sms_status.testing as t;"
        "t.DEMO_KEYS, t.PROVIDER_KEYS;"
        "heavy = {'starlette', 'uvicorn', 'sms_status.testing._sandbox'} & set(sys.modules);"
        "print(sorted(heavy)); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _no_real_sleep(seconds: float) -> None:
    raise AssertionError(f"slept {seconds} s on the real clock")


def test_the_client_fixture_waits_on_the_sandbox_clock(
    telecom23_sandbox: Sandbox,
    telecom23_client: sms_status.StatusClient,
    sandbox_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    telecom23_sandbox.add_message("m1", statuses=("pending", "sent", "DELIVRD"))
    telecom23_sandbox.inject_fault("rate_limit", message_id="m1", retry_after="1")
    monkeypatch.setattr(time, "sleep", _no_real_sleep)
    started = sandbox_clock.monotonic()

    assert telecom23_client.wait_for_final("m1").is_delivered
    # Retry-After 1 s, then two polling waits of telecom23's 3-5 s cadence, all simulated.
    assert sandbox_clock.monotonic() - started >= 1 + 3 + 3
    assert telecom23_client.base_url == telecom23_sandbox.base_url


def test_connect_async_runs_on_the_sandbox_clock(
    roycetalk_sandbox: Sandbox, sandbox_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    roycetalk_sandbox.add_message("m1", statuses=("queued", "sent", "delivered"))
    monkeypatch.setattr(time, "sleep", _no_real_sleep)

    async def wait() -> tuple[sms_status.StatusReport, bool]:
        async with roycetalk_sandbox.connect_async(max_retries=0) as client:
            report = await client.wait_for_final("m1")
        return report, client._http.is_closed

    report, closed = asyncio.run(wait())
    assert report.is_delivered
    assert closed
    assert sandbox_clock.monotonic() - FakeClock.DEFAULT_START >= 5 + 10  # roycetalk's cadence


def test_example_ids_are_served_by_a_seeded_sandbox(
    roycetalk_sandbox: Sandbox, roycetalk_client: sms_status.StatusClient
) -> None:
    assert roycetalk_sandbox.example_ids == ("f2672215-c20b-452a-9b6b-1ba51884c55e",)
    reports = roycetalk_client.get_statuses(roycetalk_sandbox.example_ids)
    assert [(r.error, r.is_delivered) for r in reports] == [(None, True)]


def test_the_seven_client_fixture_warns_of_nothing(seven_client, recwarn) -> None:
    # The default lookup's DeprecationWarning, once a process, failed the first seven test
    # of each worker of a suite that turns warnings into errors.
    assert seven_client.get_status("77232007287").is_final
    assert [w for w in recwarn if issubclass(w.category, DeprecationWarning)] == []


def test_the_logs_are_read_after_the_sandbox_stopped() -> None:
    # `requests` outlived `stop()`; `webhook_deliveries` was emptied by it.
    from sms_status import webhooks
    from webhook_support import serve

    receiving = webhooks.app("roycetalk", secret=None, on_report=lambda _event: None)
    with serve(receiving) as origin:
        with Sandbox("roycetalk").serve() as sandbox:
            sandbox.add_webhook(f"{origin}/first")
            sandbox.add_message("m1", statuses=("delivered",))
            sandbox.wait_for_webhooks(1)
        assert [d.http_status for d in sandbox.webhook_deliveries] == [200]
        assert len(sandbox.wait_for_webhooks(1)) == 1  # it was "no webhook was added"
        with sandbox.serve():  # served again, subscribed again: the first log is kept
            sandbox.add_webhook(f"{origin}/second")
            sandbox.wait_for_webhooks(1)
        assert [d.url.rsplit("/", 1)[1] for d in sandbox.webhook_deliveries] == [
            "first",
            "second",
        ]
        sandbox.reset()
        assert sandbox.webhook_deliveries == []


def test_a_truncation_past_the_body_still_cuts_it() -> None:
    # `length` at or past the body's size sent it whole, logged as truncated.
    with Sandbox("telecom23").serve() as sandbox:
        sandbox.add_message("m1", statuses=("DELIVRD",))
        sandbox.inject_fault("truncated_json", length=10_000)
        with (
            sandbox.connect(max_retries=0) as client,
            pytest.raises(sms_status.errors.MalformedResponseError),
        ):
            client.get_status("m1")
