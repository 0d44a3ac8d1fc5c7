"""The command line's contract (#13): one meaning per exit code, per-id results, --debug.

Every exit code in the table is produced here by a real run against the sandbox over
loopback; `watch` runs on the sandbox's clock (`obj=sandbox_clock`), so no test waits on
real time.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sms_status._registry import PROVIDERS
from sms_status.cli import _exit, cli
from sms_status.cli._terminal import DebugLog
from sms_status.testing import Sandbox

README = Path(__file__).parents[2] / "README.md"
TELECOM23_EXAMPLE = "api_42_1743667200123456789_a3f8b2c1d9e45f67"
SMS_STATUS = str(Path(sys.executable).parent / "sms-status")
# Keys as distinctive as real ones: the SDK masks every key it has seen in this process's
# logs, so a one-letter key would mask that letter everywhere.
WRONG_KEY = "sk_test_refused_4c1d2e"
UNUSED_KEY = "sk_test_unused_9a8b7c"


def invoke(*args: str, obj: object = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=obj, env=env, catch_exceptions=False)


def common(sandbox: Sandbox) -> list[str]:
    return ["--provider", sandbox.key, "--api-key", sandbox.api_key, "--base-url", sandbox.base_url]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- the table ------------------------------------------------------------------------------


def test_every_exit_code_has_one_meaning_in_help_and_readme():
    codes = [code for code, _ in _exit.TABLE]
    assert len(codes) == len(set(codes))
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## The command line", 1)[1].split("\n## ", 1)[0]
    commands = ["status", "watch", "history", "track", "listen", "sandbox", "demo"]
    for command in ([], *([c] for c in commands)):
        text = invoke(*command, "--help").output
        for code, meaning in _exit.TABLE:
            assert re.search(rf"^\s*{code}\s+{re.escape(meaning)}$", text, re.MULTILINE), code
    for code, meaning in _exit.TABLE:
        assert f"| {code} | {meaning} |" in section


# -- 0, 1, 2: outcomes ----------------------------------------------------------------------


def test_status_exits_0_when_every_id_is_answered(telecom23_sandbox):
    telecom23_sandbox.add_message("failed-one", statuses=("UNDELIV",))
    result = invoke("status", *common(telecom23_sandbox), TELECOM23_EXAMPLE, "failed-one")
    assert result.exit_code == _exit.OK, result.output


@pytest.mark.parametrize("as_json", [False, True], ids=["lines", "json"])
def test_status_reports_an_unknown_id_on_its_own_entry_and_exits_1(roycetalk_sandbox, as_json):
    flags = ["--json"] if as_json else []
    known = "f2672215-c20b-452a-9b6b-1ba51884c55e"
    result = invoke("status", *common(roycetalk_sandbox), *flags, "nope-1", known)
    assert result.exit_code == _exit.FAILED
    if as_json:
        reports = json.loads(result.stdout)["reports"]
        assert [r["message_id"] for r in reports] == ["nope-1", known]
        assert reports[0]["error"]["error_code"] == "NOT_FOUND"
        assert reports[0]["error"]["status_code"] == 404
        assert reports[1]["error"] is None
        assert reports[1]["state"] == "delivered"
    else:
        lines = result.stdout.splitlines()
        assert lines[0].startswith("nope-1  ERROR  roycetalk: HTTP 404 NOT_FOUND")
        assert lines[1].startswith(f"{known}  delivered  final")


def test_status_json_of_a_single_unknown_id_is_still_a_document(telecom23_sandbox):
    result = invoke("status", *common(telecom23_sandbox), "--json", "nope-1")
    assert result.exit_code == _exit.FAILED
    (report,) = json.loads(result.stdout)["reports"]
    assert report["message_id"] == "nope-1"
    assert report["error"]["type"] == "NotFoundError"


def test_watch_reports_an_unknown_id_and_keeps_watching_the_others(
    telecom23_sandbox, sandbox_clock
):
    telecom23_sandbox.add_message("otp", statuses=("pending", "sent", "DELIVRD"))
    result = invoke("watch", *common(telecom23_sandbox), "nope-1", "otp", obj=sandbox_clock)
    assert result.exit_code == _exit.FAILED, result.output
    lines = result.stdout.splitlines()
    assert any(re.match(r"\[\s*[\d.]+s\] nope-1  ERROR  .*NOT_FOUND", line) for line in lines)
    assert any(re.match(r"\[\s*[\d.]+s\] otp  delivered  final", line) for line in lines)
    assert lines[-1].startswith("1/2 final after")


def test_watch_timeout_is_2_and_a_final_failure_outranks_it(telecom23_sandbox, sandbox_clock):
    telecom23_sandbox.add_message("stuck", statuses=("sent",))
    telecom23_sandbox.add_message("bounced", statuses=("UNDELIV",))
    args = [*common(telecom23_sandbox), "--timeout", "20"]
    assert invoke("watch", *args, "stuck", obj=sandbox_clock).exit_code == _exit.TIMEOUT
    assert invoke("watch", *args, "stuck", "bounced", obj=sandbox_clock).exit_code == 1


# -- 3: usage -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--provider", "telecom24", "m1"],
        ["status", "--provider", "telecom23"],
        ["watch", "--provider", "telecom23", "--no-such-option", "m1"],
        ["no-such-command"],
        ["watch", "--provider", "telecom23", "--timeout", "-1", "m1"],
    ],
    ids=["bad-choice", "no-ids", "unknown-option", "unknown-command", "bad-timeout"],
)
def test_click_usage_errors_exit_3_not_2(args):
    result = invoke(*args, env={"SMS_STATUS_TELECOM23_API_KEY": UNUSED_KEY})
    assert result.exit_code == _exit.USAGE, result.output
    assert "Traceback" not in result.output


def test_an_invalid_id_in_watch_is_a_usage_error_before_any_request(
    telecom23_sandbox, sandbox_clock
):
    result = invoke("watch", *common(telecom23_sandbox), "ok", "..", obj=sandbox_clock)
    assert result.exit_code == _exit.USAGE
    assert result.stderr.startswith("error: invalid message id '..'")
    assert telecom23_sandbox.requests == []


def test_a_busy_port_for_the_sandbox_is_one_line_exit_3():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("sandbox", "--provider", "lisoloo", "--port", str(port))
    assert result.exit_code == _exit.USAGE
    assert result.stderr.splitlines() == [
        f"error: cannot serve lisoloo on port {port}: it is in use "
        "(choose another --port, or 0 for any free ports)"
    ]
    assert result.stdout == ""


def test_a_first_port_without_room_for_every_sandbox_is_refused():
    last_first = 65535 - len(PROVIDERS) + 1  # one port a sandbox (a sixth provider: one more)
    result = invoke("sandbox", "--port", str(last_first + 2))
    assert result.exit_code == _exit.USAGE
    assert len(result.stderr.splitlines()) == 1
    assert f"pick one <= {last_first}" in result.stderr


# -- 4: authentication ----------------------------------------------------------------------


def test_a_refused_key_exits_4_and_json_still_lists_every_id(telecom23_sandbox):
    args = ["--provider", "telecom23", "--api-key", WRONG_KEY, "--base-url"]
    result = invoke("status", *args, telecom23_sandbox.base_url, "--json", "a", "b")
    assert result.exit_code == _exit.AUTHENTICATION
    reports = json.loads(result.stdout)["reports"]
    assert [(r["message_id"], r["error"]["type"]) for r in reports] == [
        ("a", "AuthenticationError"),
        ("b", "AuthenticationError"),
    ]
    assert result.stderr.startswith("error: telecom23: HTTP 401 INVALID_API_KEY")


def test_watch_with_a_refused_key_exits_4(telecom23_sandbox, sandbox_clock):
    args = ["--provider", "telecom23", "--api-key", WRONG_KEY, "--base-url"]
    result = invoke("watch", *args, telecom23_sandbox.base_url, "a", obj=sandbox_clock)
    assert result.exit_code == _exit.AUTHENTICATION


# -- 5: could not tell ----------------------------------------------------------------------


def test_status_on_an_unreachable_provider_exits_5_not_1(closed_port):
    args = ["--provider", "lisoloo", "--api-key", UNUSED_KEY, "--base-url"]
    result = invoke("status", *args, f"http://127.0.0.1:{closed_port}", "m1")
    assert result.exit_code == _exit.UNAVAILABLE
    assert "m1  ERROR  lisoloo: " in result.stdout
    assert "Connection refused" in result.stdout


def test_watch_on_a_failing_server_exits_5_and_still_reports_the_others(
    roycetalk_sandbox, sandbox_clock
):
    roycetalk_sandbox.add_message("ok", statuses=("delivered",))
    roycetalk_sandbox.add_message("broken", statuses=("delivered",))
    roycetalk_sandbox.inject_fault("server_error", message_id="broken", status=500, times=None)
    args = [*common(roycetalk_sandbox), "--timeout", "60", "broken", "ok"]
    result = invoke("watch", *args, obj=sandbox_clock)
    assert result.exit_code == _exit.UNAVAILABLE, result.output
    assert re.search(r"broken  ERROR  roycetalk: HTTP 500", result.stdout)
    assert re.search(r"ok  delivered  final", result.stdout)


def test_a_server_error_in_status_exits_5(telecom23_sandbox):
    telecom23_sandbox.inject_fault("server_error", status=500, times=None)
    result = invoke("status", *common(telecom23_sandbox), TELECOM23_EXAMPLE)
    assert result.exit_code == _exit.UNAVAILABLE


# -- --debug --------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_works_before_or_after_the_command_and_masks_the_key_in_http_logs(
    telecom23_sandbox, where
):
    secret = telecom23_sandbox.api_key
    # The id holds the key, so the request line httpx logs would show it.
    args = ["status", *common(telecom23_sandbox), f"id-{secret}"]
    result = invoke(*(["--debug", *args] if where == "before" else [*args, "--debug"]))
    assert result.exit_code == _exit.FAILED
    # The sync client logs the request line itself on http.client (as httpx would).
    assert "HTTP Request: GET" in result.stderr
    request_line = next(x for x in result.stderr.splitlines() if "HTTP Request: GET" in x)
    assert "/id-" in request_line
    assert "***" in request_line
    assert secret not in result.output


def test_without_debug_no_http_logs_are_shown(telecom23_sandbox):
    result = invoke("status", *common(telecom23_sandbox), TELECOM23_EXAMPLE)
    assert "httpx" not in result.stderr
    assert logging.getLogger("httpcore").level == logging.NOTSET


def test_debug_log_masks_a_key_echoed_in_response_headers(capsys):
    secret = "sk_live_4f9a8b7c6d5e"
    debug = DebugLog(lambda: secret)
    try:
        # Logged on "httpcore" itself: the SDK's own logger filters sit on its children, so
        # only the command's handler filter is under test here.
        logging.getLogger("httpcore").debug(
            "receive_response_headers.complete return_value=%r",
            (b"HTTP/1.1", 200, b"OK", [(b"x-echo-key", secret.encode()), (b"x-bad", b"\x1b[2J")]),
        )
        logging.getLogger("httpcore").debug("url %s", f"https://x/?key={secret}%2F")
    finally:
        debug.close()
    err = capsys.readouterr().err
    assert secret not in err
    assert "b'***'" in err
    assert "\x1b" not in err
    assert "key=***%2F" in err
    assert not logging.getLogger("httpcore").handlers


def test_an_empty_history_says_so_on_stderr(namirial_sandbox):
    result = invoke("history", *common(namirial_sandbox), "--phone", "+14155550999")
    assert result.exit_code == _exit.OK
    assert result.stdout == ""
    assert result.stderr == "no messages for +14155550999\n"


def test_the_origin_can_come_from_the_environment_like_the_key(telecom23_sandbox):
    env = {
        "SMS_STATUS_TELECOM23_API_KEY": telecom23_sandbox.api_key,
        "SMS_STATUS_TELECOM23_BASE_URL": telecom23_sandbox.base_url,
    }
    result = invoke("status", "--provider", "telecom23", TELECOM23_EXAMPLE, env=env)
    assert result.exit_code == _exit.OK, result.output
    assert len(telecom23_sandbox.requests) == 1


def test_an_error_line_names_the_code_and_http_status_once(telecom23_sandbox):
    args = ["--provider", "telecom23", "--api-key", WRONG_KEY, "--base-url"]
    result = invoke("status", *args, telecom23_sandbox.base_url, "m1")
    (line,) = result.stderr.splitlines()
    assert line.count("INVALID_API_KEY") == 1
    assert line.count("HTTP 401") == 1
    assert line.endswith("— check the API key and its permissions")


def test_ctrl_c_during_a_watch_exits_130_without_a_traceback(telecom23_sandbox):
    telecom23_sandbox.add_message("m1", statuses=("pending",))
    process = subprocess.Popen(
        [SMS_STATUS, "watch", *common(telecom23_sandbox), "m1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the first poll answered: now it waits 3 s
        assert "m1  pending" in first
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == _exit.INTERRUPTED
    assert "Traceback" not in err


def test_watch_json_prints_only_one_document_with_every_id(telecom23_sandbox, sandbox_clock):
    telecom23_sandbox.add_message("otp", statuses=("pending", "DELIVRD"))
    args = [*common(telecom23_sandbox), "--json", "otp", "nope-1"]
    result = invoke("watch", *args, obj=sandbox_clock)
    assert result.exit_code == _exit.FAILED
    reports = json.loads(result.stdout)["reports"]
    assert [(r["message_id"], r["state"]) for r in reports] == [
        ("otp", "delivered"),
        ("nope-1", "unknown"),
    ]
    assert reports[1]["error"]["error_code"] == "NOT_FOUND"


def test_output_piped_into_head_ends_quietly_with_141(seven_sandbox):
    ids = [str(77232300000 + i) for i in range(1000)]  # ~100 KB of lines: more than a pipe holds
    for message_id in ids:
        seven_sandbox.add_message(message_id, statuses=("DELIVERED",))
    process = subprocess.Popen(
        [SMS_STATUS, "status", *common(seven_sandbox), *ids],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith(ids[0])
    process.stdout.close()  # as `| head -1` does
    try:
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == _exit.OUTPUT_CLOSED
    assert err == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("as_json", [[], ["--json"]], ids=["lines", "json"])
def test_output_to_a_full_disk_is_one_line_and_74_not_a_bug(telecom23_sandbox, as_json):
    # It was "unexpected OSError ... (run with --debug and report it)", exit 70.
    telecom23_sandbox.add_message("on-a-full-disk", statuses=("DELIVRD",))
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [SMS_STATUS, "status", *common(telecom23_sandbox), *as_json, "on-a-full-disk"],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == _exit.OUTPUT_FAILED
    assert done.stderr == "error: cannot write the output: No space left on device\n"


def test_a_json_document_piped_into_head_ends_with_141(seven_sandbox):
    # Written in one go, a document of megabytes into a pipe whose reader had left lost
    # its rest silently: exit 1, nothing said.
    ids = [str(77232300000 + i) for i in range(1000)]  # unknown ids: ~600 KB of JSON
    process = subprocess.Popen(
        [SMS_STATUS, "status", *common(seven_sandbox), "--json", *ids],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdout.read(10).startswith(b"{")
    process.stdout.close()  # as `| head -c 10` does
    try:
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == _exit.OUTPUT_CLOSED
    assert err == b""


def test_a_command_added_from_another_module_gets_debug_and_one_line_errors():
    import click

    @click.command()
    def explode() -> None:
        raise RuntimeError("kaboom")

    cli.add_command(explode, "explode-for-test")
    try:
        quiet = invoke("explode-for-test")
        loud = invoke("explode-for-test", "--debug")
    finally:
        cli.commands.pop("explode-for-test")
    assert quiet.exit_code == loud.exit_code == _exit.INTERNAL
    assert (
        quiet.stderr == "error: unexpected RuntimeError: kaboom (run with --debug and report it)\n"
    )
    assert "Traceback" in loud.stderr
