"""The `sms-status` command driven against the sandbox over real loopback HTTP.

In-process runs use click's CliRunner (the HTTP is still real); the TTY, the sandbox command
and the demo run as real processes.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sms_status.cli import cli
from sms_status.testing import Sandbox

TELECOM23_EXAMPLE = "api_42_1743667200123456789_a3f8b2c1d9e45f67"
SMS_STATUS = str(Path(sys.executable).parent / "sms-status")


def invoke(*args: str, env: dict[str, str] | None = None, obj: object = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), env=env, obj=obj, catch_exceptions=False)


def common(sandbox: Sandbox) -> list[str]:
    return ["--provider", sandbox.key, "--api-key", sandbox.api_key, "--base-url", sandbox.base_url]


def test_status_prints_one_line_per_id_with_state_finality_and_cost(telecom23_sandbox):
    telecom23_sandbox.add_message("in-flight", statuses=("sent",))
    result = invoke("status", *common(telecom23_sandbox), TELECOM23_EXAMPLE, "in-flight")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{TELECOM23_EXAMPLE}  delivered  final  (DELIVRD)")
    assert "cost=0.0085" in lines[0]
    assert lines[1].startswith("in-flight  sent  in-flight  (sent)")


def test_status_json_is_one_document_with_stable_fields(seven_sandbox):
    result = invoke("status", *common(seven_sandbox), "--json", "77232007287", "77232007195")
    assert result.exit_code == 0, result.output
    reports = json.loads(result.output)["reports"]
    assert [r["message_id"] for r in reports] == ["77232007287", "77232007195"]
    assert set(reports[0]) == {
        "provider",
        "message_id",
        "state",
        "is_final",
        "provider_status",
        "recipient",
        "segments",
        "cost",
        "created_at",
        "sent_at",
        "delivered_at",
        "updated_at",
        "provider_code",
        "recipients",
        "channel",
        "error",
    }
    assert reports[0]["state"] == "delivered"
    assert reports[0]["is_final"] is True
    assert reports[0]["updated_at"] == "2024-02-16T15:43:16.905000+01:00"
    assert len(seven_sandbox.requests) == 1  # both ids in one batched request


def test_key_comes_from_the_environment(lisoloo_sandbox):
    env = {"SMS_STATUS_LISOLOO_API_KEY": lisoloo_sandbox.api_key}
    args = ["--provider", "lisoloo", "--base-url", lisoloo_sandbox.base_url]
    result = invoke("status", *args, "507f1f77bcf86cd799439011", env=env)
    assert result.exit_code == 0, result.output
    assert "delivered" in result.output


def test_missing_key_is_a_usage_error_naming_the_variable():
    result = invoke(
        "status", "--provider", "roycetalk", "x", env={"SMS_STATUS_ROYCETALK_API_KEY": ""}
    )
    assert result.exit_code == 3
    assert "SMS_STATUS_ROYCETALK_API_KEY" in result.output


@pytest.mark.parametrize("command", ["status", "watch"])
def test_a_key_that_is_not_utf8_is_a_usage_line_not_a_traceback(command):
    # A stray Latin-1 byte in the variable: Python reads it as a lone surrogate, and the
    # masking of the error line raised UnicodeEncodeError (a traceback, exit 1).
    key = os.fsdecode(b"sk_test_\x80")
    result = invoke(
        command, "--provider", "telecom23", "x", env={"SMS_STATUS_TELECOM23_API_KEY": key}
    )
    assert result.exit_code == 3, result.output
    assert "api_key must be printable ASCII" in result.output
    assert "Traceback" not in result.output


def test_bad_key_prints_one_line_with_code_and_status_never_the_key(telecom23_sandbox):
    secret = "sk_test_wrong_key_0123456789"
    args = [
        "--provider",
        "telecom23",
        "--api-key",
        secret,
        "--base-url",
        telecom23_sandbox.base_url,
    ]
    result = invoke("status", *args, TELECOM23_EXAMPLE)
    assert result.exit_code == 4
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "INVALID_API_KEY" in lines[0]
    assert "HTTP 401" in lines[0]
    assert "check the API key" in lines[0]
    assert "Traceback" not in result.output
    assert secret not in result.output


def test_debug_shows_details_with_the_key_masked(telecom23_sandbox):
    secret = "sk_test_wrong_key_0123456789"
    args = [
        "--provider",
        "telecom23",
        "--api-key",
        secret,
        "--base-url",
        telecom23_sandbox.base_url,
    ]
    result = invoke("--debug", "status", *args, TELECOM23_EXAMPLE)
    assert result.exit_code == 4
    assert "Traceback" in result.output
    assert secret not in result.output


def test_unknown_id_exits_1_with_not_found(roycetalk_sandbox):
    result = invoke("status", *common(roycetalk_sandbox), "no-such-message")
    assert result.exit_code == 1
    assert "NOT_FOUND" in result.output
    assert "HTTP 404" in result.output


def test_invalid_id_is_refused_before_any_request(namirial_sandbox):
    result = invoke("status", *common(namirial_sandbox), "..")
    assert result.exit_code == 3
    assert namirial_sandbox.requests == []


@pytest.mark.parametrize(
    ("lifecycles", "expected_exit"),
    [
        ({"a": ("pending", "DELIVRD"), "b": ("sent", "DELIVRD")}, 0),
        ({"a": ("pending", "DELIVRD"), "b": ("sent", "UNDELIV")}, 1),
        ({"a": ("pending", "DELIVRD"), "b": ("sent",)}, 2),
    ],
    ids=["all-delivered", "a-final-failure", "timeout-in-flight"],
)
def test_watch_exit_code_tells_delivered_failed_or_timed_out(
    telecom23_sandbox, sandbox_clock, lifecycles, expected_exit
):
    for message_id, statuses in lifecycles.items():
        telecom23_sandbox.add_message(message_id, statuses=statuses)
    args = [*common(telecom23_sandbox), "--timeout", "30", *lifecycles]
    # On the sandbox's clock the 30 s pass in no real time, however loaded the machine is.
    result = invoke("watch", *args, obj=sandbox_clock)
    assert result.exit_code == expected_exit, result.output
    plain = result.output.splitlines()
    assert any(re.match(r"\[\s*[\d.]+s\] a  pending", line) for line in plain)  # a line per change
    assert plain[-1].startswith(f"{2 if expected_exit != 2 else 1}/2 final after")


def add_history(sandbox: Sandbox, count: int) -> None:
    """`count` delivered messages to +14155550123, h000 first, sent a second apart."""
    for i in range(count):
        sandbox.add_message(
            f"h{i:03}",
            statuses=("DELIVERED",),
            phone="+14155550123",
            sent_at=f"2026-02-04T06:{i // 60:02}:{i % 60:02}Z",
        )


def test_history_lists_a_phone_numbers_messages_newest_first(namirial_sandbox):
    add_history(namirial_sandbox, 5)
    result = invoke("history", *common(namirial_sandbox), "--phone", "+14155550123", "--limit", "3")
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.output.splitlines()] == ["h004", "h003", "h002"]


def test_history_needs_exactly_one_of_phone_and_reference(namirial_sandbox):
    result = invoke("history", *common(namirial_sandbox))
    assert result.exit_code == 3
    assert namirial_sandbox.requests == []


def _read_until(fd: int, pattern: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while pattern not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_watch_on_a_terminal_draws_a_live_table_with_progress(telecom23_sandbox, encoding):
    # On a terminal that is not UTF-8, rich's own "…" (a cell cut to fit 60 columns) raised
    # UnicodeEncodeError: watch exited 3 before any result, the cursor left hidden.
    telecom23_sandbox.add_message("otp-1", statuses=("pending", "sent", "DELIVRD"))
    telecom23_sandbox.add_message("otp-2", statuses=("pending", "DELIVRD"))
    primary, secondary = pty.openpty()
    columns = "120" if encoding == "utf-8" else "60"
    env = {**os.environ, "COLUMNS": columns, "LINES": "40", "TERM": "xterm-256color"}
    env["PYTHONIOENCODING"] = encoding
    # A real process runs on real time (sped up): a deadline far off (100 s real) keeps a
    # loaded machine from turning this into a timeout; it ends when both are final.
    speed_and_deadline = ["--clock-speed", "100", "--timeout", "10000"]
    process = subprocess.Popen(
        [SMS_STATUS, "watch", *common(telecom23_sandbox), *speed_and_deadline, "otp-1", "otp-2"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    try:
        output = _read_until(primary, b"final after", timeout=60)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        os.close(primary)
    text = output.decode(errors="replace")
    assert "2/2" in text  # the progress bar's final / total
    assert "\x1b[" in text  # drawn with terminal control sequences
    if encoding == "latin-1":
        assert "\\u2026" in text  # a cut cell's "…", escaped
        return
    assert "message id" in text  # the live table's header
    assert "otp-1" in text
    assert "delivered" in text


def test_sandbox_command_serves_until_interrupted():
    process = subprocess.Popen(
        [SMS_STATUS, "sandbox", "--provider", "lisoloo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.match(r"lisoloo\s+(http://127\.0\.0\.1:\d+)\s+api key: (\S+)", first)
        assert match, first
        base_url, key = match.groups()
        reply = httpx.get(
            f"{base_url}/api/v1/lisoloo/sms-api/status/507f1f77bcf86cd799439011",
            headers={"app-key": key},
        )
        assert reply.status_code == 200
        assert reply.json()["data"]["status"] == "delivered"
        assert "example ids: 507f1f77bcf86cd799439011" in first
        # The hint it prints runs as written.
        hint = process.stdout.readline()
        assert hint.startswith("Try: ")
        words = hint.removeprefix("Try: ").split()
        assignments, program, args = words[:2], words[2], words[3:]
        env = {**os.environ, **dict(a.split("=", 1) for a in assignments)}
        assert program == "sms-status"
        tried = subprocess.run(
            [SMS_STATUS, *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert tried.returncode == 0, tried.stderr
        assert tried.stdout.startswith("507f1f77bcf86cd799439011  delivered  final")
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 130  # interrupted, as the exit-code table says (it was 0)
    assert "Stopped." in rest
    assert "Traceback" not in rest


@pytest.mark.slow  # 13 s: the whole demo
def test_demo_runs_to_its_summary_with_exit_code_0():
    result = subprocess.run(
        [SMS_STATUS, "demo"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Summary" in result.stdout
    assert "250 ids / 3 requests" in result.stdout
    assert "30 messages" in result.stdout
    # The tracker killed halfway (SIGKILL) and restarted: every outcome once, and again only
    # for a hand-over the kill cut.
    assert re.search(
        r"^400 messages, 400 settled: every outcome (exactly once \(the kill cut no hand-over\)"
        r"|once, but \d+ again with delivery 2: exactly the ones the kill cut)$",
        result.stdout,
        re.MULTILINE,
    ), result.stdout
    assert "track, kill -9" in result.stdout
    assert " no " not in result.stdout.split("Summary")[1]


def test_help_lists_every_command():
    result = invoke("--help")
    for command in ("status", "watch", "history", "sandbox", "demo"):
        assert command in result.output


@pytest.mark.parametrize("as_json", [False, True], ids=["lines", "json"])
def test_history_shows_the_pages_it_read_when_a_later_page_fails(
    namirial_sandbox, monkeypatch, as_json
):
    # The first 100 messages had come back; the second page's 500 printed none of them.
    from sms_status.client import HistoryClient

    add_history(namirial_sandbox, 150)
    walk = HistoryClient.iter_history_by_phone

    def second_page_fails(self, phone, **options):  # type: ignore[no-untyped-def]
        for n, report in enumerate(walk(self, phone, **options)):
            if n == 99:  # the first page's last: the next request is the second page's
                namirial_sandbox.inject_fault("server_error", times=None)
            yield report

    monkeypatch.setattr(HistoryClient, "iter_history_by_phone", second_page_fails)
    args = ["history", *common(namirial_sandbox), "--phone", "+14155550123", "--limit", "150"]
    result = invoke(*args, *(["--json"] if as_json else []))
    assert result.exit_code == 5, result.output
    if as_json:
        assert len(json.loads(result.stdout)["reports"]) == 100
    else:
        assert len(result.stdout.splitlines()) == 100
    assert "namirial: HTTP 500" in result.stderr


def test_json_output_stays_json_whatever_the_key_is(telecom23_sandbox):
    # The key was masked in the encoded text: a key "e" made `"is_final": fals***`.
    args = ["--provider", "telecom23", "--api-key", "e", "--base-url", telecom23_sandbox.base_url]
    result = invoke("status", *args, "--json", TELECOM23_EXAMPLE)
    assert result.exit_code == 4, result.output  # the key refused
    [report] = json.loads(result.stdout)["reports"]  # masked in each string, not the text
    assert report["is_final"] is False
