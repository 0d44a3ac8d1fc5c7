"""`sms-status listen`: the sandbox pushes, listen verifies, merges and prints each report."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sms_status import DeliveryState
from sms_status.cli import _exit, _listen, cli
from sms_status.testing import FakeClock, Sandbox

SECRET = "whsec_listen_test"


def test_signed_providers_need_a_secret_and_unsigned_ones_refuse_it() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["listen", "--provider", "telecom23"], env={})
    assert result.exit_code == _exit.USAGE
    assert "--secret" in result.output
    result = runner.invoke(cli, ["listen", "--provider", "namirial", "--secret", "x"])
    assert result.exit_code == _exit.USAGE
    assert "no webhook signature" in result.output


def test_listen_prints_each_verified_report_as_json_and_merges_them(
    telecom23_sandbox: Sandbox, sandbox_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = _listen.Receiver(_listen.printer(as_json=True, interactive=False))
    app = _listen.build("telecom23", SECRET, receiver, clock=sandbox_clock.now)
    with _listen.serving(app) as origin:
        telecom23_sandbox.add_webhook(origin + "/hooks", secret=SECRET)
        telecom23_sandbox.add_message("m-a", statuses=("sent", "DELIVRD"), advance=5)
        telecom23_sandbox.add_message("m-b", statuses=("sent", "UNDELIV"), advance=5)
        sandbox_clock.advance(5)
        assert receiver.wait_until(lambda latest: len(latest) == 2, timeout=10)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(line["report"]["provider_status"] for line in lines) == ["DELIVRD", "UNDELIV"]
    assert receiver.latest["m-a", None].state is DeliveryState.DELIVERED
    assert receiver.latest["m-b", None].state is DeliveryState.UNDELIVERED


def test_a_report_not_kept_is_labelled_by_why(capsys: pytest.CaptureFixture[str]) -> None:
    # A provider's retry of the same delivery was labelled "older than the report kept".
    from datetime import UTC, datetime

    from sms_status import StatusReport
    from sms_status.webhooks import WebhookEvent

    def event(status: str, state: DeliveryState, at: int | None) -> WebhookEvent:
        when = None if at is None else datetime(2026, 2, 13, 10, 30, at, tzinfo=UTC)
        report = StatusReport(
            provider="telecom23",
            message_id="m",
            state=state,
            is_final=state is DeliveryState.DELIVERED,
            provider_status=status,
            updated_at=when,
        )
        return WebhookEvent(provider="telecom23", report=report, event_id=status, kind="x")

    receiver = _listen.Receiver(_listen.printer(as_json=False, interactive=False))
    receiver(event("sent", DeliveryState.SENT, 5))
    receiver(event("sent", DeliveryState.SENT, 5))
    receiver(event("accepted", DeliveryState.PENDING, 1))
    receiver(event("queued", DeliveryState.PENDING, None))
    receiver(event("DELIVRD", DeliveryState.DELIVERED, 7))
    receiver(event("sent", DeliveryState.SENT, 9))  # newer, but not final
    lines = capsys.readouterr().out.splitlines()
    assert "kept" not in lines[0]
    assert lines[1].endswith("  (a repeat of the report kept)")
    assert lines[2].endswith("  (older than the report kept)")
    assert lines[3].endswith("  (not newer than the report kept, which stays)")
    assert "kept" not in lines[4]
    assert lines[5].endswith("  (the final report kept stays)")


def test_lisoloo_reports_are_merged_per_recipient_and_the_view_stays_bounded(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One message to two recipients: B's "sent" was labelled as not kept beside A's
    # DELIVERED, and the view held A's DELIVERED for the whole message. And every report
    # of a long-running listener was kept for ever.
    from sms_status import StatusReport
    from sms_status.webhooks import WebhookEvent

    def event(message_id: str, recipient: str, state: DeliveryState) -> WebhookEvent:
        report = StatusReport(
            provider="lisoloo",
            message_id=message_id,
            state=state,
            is_final=state is DeliveryState.DELIVERED,
            provider_status=state.value,
            recipient=recipient,
        )
        return WebhookEvent(provider="lisoloo", report=report, event_id=recipient, kind="x")

    receiver = _listen.Receiver(_listen.printer(as_json=False, interactive=False))
    receiver(event("m", "+15550000001", DeliveryState.DELIVERED))
    receiver(event("m", "+15550000002", DeliveryState.SENT))
    assert "kept" not in capsys.readouterr().out
    assert receiver.latest["m", "+15550000002"].state is DeliveryState.SENT
    monkeypatch.setattr(_listen, "KEPT_AT_MOST", 3)
    for n in range(5):
        receiver(event(f"n{n}", "+15550000001", DeliveryState.SENT))
    assert [key[0] for key in receiver.latest] == ["n2", "n3", "n4"]


def test_demo_step_agrees_with_polling(seven_sandbox: Sandbox, sandbox_clock: FakeClock) -> None:
    # The fixture's clock is fake: let it run on real time while the step waits.
    sandbox_clock.advance(0)
    seven_sandbox.clock = _Ticking(sandbox_clock)
    outcome, ok = _listen.demo(seven_sandbox, step_seconds=0.05)
    assert ok, outcome
    assert outcome.startswith("9 pushed")  # 3 + 2 + 4 lifecycle steps, one DLR each


class _Ticking:
    """Real time offset onto a FakeClock's start (for a step that waits on real time)."""

    def __init__(self, start: FakeClock) -> None:
        self._offset = start.now() - time.time()

    def now(self) -> float:
        return time.time() + self._offset

    def monotonic(self) -> float:
        return self.now()

    def sleep(self, seconds: float) -> None:
        self._offset += (
            seconds  # a client's pause (pacing, backoff) jumps ahead, as a fake clock does
        )


# -- the real command, as a user runs it -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _listen_process(*options: str, stdout: object = subprocess.PIPE) -> subprocess.Popen[str]:
    env = {**os.environ, "SMS_STATUS_SEVEN_WEBHOOK_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-c", "from sms_status.cli import main; main()", "listen"]
    return subprocess.Popen(
        [*command, "--provider", "seven", *options],
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def listening() -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_port()
    process = _listen_process("--port", str(port))
    try:
        yield process, port
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_listen_into_a_full_disk_stops_and_says_so_with_74() -> None:
    # Each report was answered 200 and dropped without a word: the provider counted it
    # delivered, listen ran on, and its exit said nothing of the loss.
    with open("/dev/full", "w") as full:
        process = _listen_process("--port", "0", stdout=full)
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        port = int(banner.rsplit(":", 1)[1].strip().rstrip("/"))
        with Sandbox("seven").serve() as sandbox:  # real clock: listen checks timestamps
            sandbox.add_webhook(f"http://127.0.0.1:{port}/", secret=SECRET)
            sandbox.add_message("77120000002", statuses=("DELIVERED",))
            sandbox.wait_for_webhooks(1, timeout=30)
        assert process.wait(30) == _exit.OUTPUT_FAILED
        assert "error: cannot write the output: No space left on device" in process.stderr.read()
    finally:
        process.kill()
        process.wait(10)


def test_listen_on_an_ipv6_address_says_its_url_in_brackets() -> None:
    # `--host ::1` was refused ("Address family for hostname not supported").
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    process = _listen_process("--host", "::1", "--port", "0")
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        found = re.search(r"on http://\[::1\]:(\d+)/$", banner.strip())
        assert found, banner
        connection = http.client.HTTPConnection("::1", int(found[1]), timeout=30)
        connection.request("POST", "/", body=b"{}", headers={"X-Nonce": "n"})
        assert connection.getresponse().status == 401  # it answers over IPv6: unsigned
        connection.close()
    finally:
        process.terminate()
        process.wait(10)


def test_a_report_that_could_not_be_printed_is_said_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The refusals' handler on the webhooks logger kept Python's last-resort handler from
    # printing on_report's ERROR records, and printed only refusals: nothing was said.
    with _listen.reporting_refusals():
        try:
            raise UnicodeEncodeError("ascii", "é", 0, 1, "no é here")
        except UnicodeEncodeError as exc:
            logging.getLogger("sms_status.webhooks").error("on_report failed", exc_info=exc)
    assert "on_report failed: UnicodeEncodeError: 'ascii' codec" in capsys.readouterr().err


def test_under_debug_each_refusal_and_failure_is_said_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # --debug's log printed each refusal, and the refusals' handler printed it again.
    from sms_status.cli._terminal import DebugLog

    debug = DebugLog(lambda: "")
    try:
        with _listen.reporting_refusals() as refusals:
            webhooks_log = logging.getLogger("sms_status.webhooks")
            webhooks_log.info("seven delivery refused: 401, why", extra={"status": 401})
            webhooks_log.error("on_report failed for seven event 'e1'")
    finally:
        debug.close()
    said = capsys.readouterr().err
    assert said.count("seven delivery refused: 401, why") == 1, said
    assert said.count("on_report failed for seven event 'e1'") == 1, said
    assert refusals.by_status == {401: 1}
    assert "1 delivery refused (1 x 401)" in said


def test_listen_command_end_to_end_with_a_real_clock_sandbox(
    listening: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = listening
    assert process.stderr is not None
    # listen binds before it prints this line: from here connections are accepted.
    assert "listening for seven webhooks" in process.stderr.readline()
    with Sandbox("seven").serve() as sandbox:  # real clock: listen checks timestamps on it
        sandbox.add_webhook(f"http://127.0.0.1:{port}/", secret=SECRET)
        sandbox.add_message("77120000001", statuses=("TRANSMITTED", "DELIVERED"), advance=0.05)
        deliveries = sandbox.wait_for_webhooks(2, timeout=30)
    assert [d.http_status for d in deliveries] == [200, 200]
    assert process.stdout is not None
    lines = [process.stdout.readline().strip() for _ in range(2)]
    # The app answers 200 before it hands a report over (in a worker thread), so the second
    # delivery can be handed over first: either order, the final one never marked older.
    assert sum("(TRANSMITTED)" in line for line in lines) == 1, lines
    (delivered,) = [line for line in lines if "delivered  final  (DELIVERED)" in line]
    assert "older than the report kept" not in delivered


@pytest.mark.parametrize(
    ("stop", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 128 + signal.SIGTERM)]
)
def test_listen_says_why_it_refused_a_delivery_and_counts_them_at_exit(
    listening: tuple[subprocess.Popen[str], int], stop: signal.Signals, exit_code: int
) -> None:
    # SIGTERM (kill, docker stop, systemd) ended listen by the signal itself, after
    # uvicorn's shutdown and before the count was printed.
    # A wrong secret showed nothing but "listening…", even with --debug.
    process, port = listening
    assert process.stderr is not None
    assert "listening for seven webhooks" in process.stderr.readline()
    body = b'{"webhook_event": "dlr", "data": {"msg_id": "77120000001"}}'
    headers = {"X-Signature": "0" * 64, "X-Timestamp": str(int(time.time())), "X-Nonce": "n"}
    for _ in range(2):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/", body=body, headers=headers)
        assert connection.getresponse().status == 401
        connection.close()
    process.send_signal(stop)  # uvicorn shuts down, listen sums up
    assert process.wait(30) == exit_code
    said = process.stderr.read()
    refused = "seven delivery refused: 401, the signature does not match (without url=, "
    assert said.count(refused + f"checked against http://127.0.0.1:{port}/..., ") == 2
    assert "2 deliveries refused (2 x 401)" in said
    assert "0" * 64 not in said


def _never(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("called")


def test_refusals_are_counted_without_waiting_on_a_stuck_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Written from the server's loop, a flood of refusals filled an undrained stderr pipe
    # and the loop blocked on it: a genuine delivery got no answer (and a closed stderr
    # turned each refusal into a 500).
    stuck, printing = threading.Event(), threading.Event()

    def blocked_echo(*_args: object, **_kwargs: object) -> None:
        printing.set()
        stuck.wait(30)
        raise BrokenPipeError  # its reader left meanwhile

    monkeypatch.setattr(_listen.click, "echo", blocked_echo)
    monkeypatch.setattr(_listen.Refusals, "CLOSE_SECONDS", 0.2)
    record = logging.LogRecord("sms_status.webhooks", logging.INFO, "", 0, "r", (), None)
    record.status = 401
    counted: list[_listen.Refusals] = []
    exited = threading.Event()

    def serve_then_exit() -> None:  # as listen does around uvicorn's run()
        with _listen.reporting_refusals() as refusals:
            counted.append(refusals)
            refusals.emit(record)
            assert printing.wait(30)  # the printing thread holds the first line, stuck
            for _ in range(_listen.Refusals.BACKLOG + 5):
                refusals.emit(record)  # returns at once: queued, then dropped
        with monkeypatch.context() as again:  # logging.shutdown closes it again: nothing waits
            again.setattr(refusals._lines, "put", _never)
            refusals.close()
        exited.set()

    exiting = threading.Thread(target=serve_then_exit)
    exiting.start()
    # The summary went to the stuck stderr from the main thread: the exit hung there.
    assert exited.wait(20), "listen's exit waited on a stuck stderr"
    stuck.set()
    exiting.join(30)
    (refusals,) = counted
    refusals._lines.put(None)  # its end did not fit the full queue: the thread ends now
    refusals._printer.join(30)
    assert refusals.by_status == {401: _listen.Refusals.BACKLOG + 6}
    assert refusals.dropped == 5
    assert "5 not printed" in (refusals.summary() or "")


def test_a_busy_port_is_one_usage_line() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["listen", "--provider", "namirial", "--port", str(port)], env={}
        )
    assert result.exit_code == _exit.USAGE
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_listen_on_port_0_names_its_port_and_exits_141_once_its_reader_left() -> None:
    # `listen --json | head -1`: the printing happens in the app's worker threads, where the
    # command group never saw the BrokenPipeError: it served on, a traceback per delivery.
    # And with --port 0 the banner named port 0, not the one to send webhooks to.
    env = {**os.environ, "SMS_STATUS_NAMIRIAL_WEBHOOK_SECRET": "", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            *(sys.executable, "-c", "from sms_status.cli import main; main()"),
            *("listen", "--provider", "namirial", "--port", "0", "--json"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        banner = process.stderr.readline()
        port = int(banner.rsplit(":", 1)[1].strip().strip("/"))
        assert port != 0, banner
        with Sandbox("namirial").serve() as sandbox:  # unsigned: no clock to agree on
            sandbox.add_webhook(f"http://127.0.0.1:{port}/", secret=None)
            sandbox.add_message("m-1", statuses=("DELIVERED",), advance=0.05)
            sandbox.wait_for_webhooks(1, timeout=30)
            assert json.loads(process.stdout.readline())["report"]["message_id"] == "m-1"
            process.stdout.close()  # the reader leaves, as `head -1` does
            sandbox.add_message("m-2", statuses=("DELIVERED",), advance=0.05)
            assert process.wait(30) == _exit.OUTPUT_CLOSED
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
