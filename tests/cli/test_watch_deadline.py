"""`watch --timeout` spends the whole budget: wait_for_final's last look comes just before the
deadline, and a request still in flight then is cut (#13: `--timeout 12` used to give up at
5.6 s without a last look)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sms_status._flows import LAST_LOOK_RESERVE
from sms_status.cli import _exit, cli
from sms_status.cli._watch import LAST_ANSWER_GRACE
from sms_status.testing import Sandbox

SMS_STATUS = str(Path(sys.executable).parent / "sms-status")


def common(sandbox: Sandbox) -> list[str]:
    return ["--provider", sandbox.key, "--api-key", sandbox.api_key, "--base-url", sandbox.base_url]


def test_the_last_poll_is_just_before_the_deadline_not_when_the_next_interval_would_pass_it(
    roycetalk_sandbox, sandbox_clock
):
    # roycetalk's cadence is 5, 10, 30 s: polls at 0 and 5; the next interval would pass the
    # deadline (15 > 12), so the last look comes at 11 and sees the message delivered.
    roycetalk_sandbox.add_message("m1", statuses=("pending", "sent", "delivered"))
    args = ["watch", *common(roycetalk_sandbox), "--timeout", "12", "m1"]
    result = CliRunner().invoke(cli, args, obj=sandbox_clock, catch_exceptions=False)
    assert result.exit_code == _exit.OK, result.output
    lines = result.stdout.splitlines()
    assert re.match(r"\[\s+11\.0s\] m1  delivered  final", lines[-2]), lines
    assert lines[-1] == "1/1 final after 11.0s"
    assert len(roycetalk_sandbox.requests) == 3


def test_no_poll_happens_after_the_deadline(roycetalk_sandbox, sandbox_clock):
    roycetalk_sandbox.add_message("m1", statuses=("pending",))
    args = ["watch", *common(roycetalk_sandbox), "--timeout", "12", "m1"]
    result = CliRunner().invoke(cli, args, obj=sandbox_clock, catch_exceptions=False)
    assert result.exit_code == _exit.TIMEOUT
    assert [r.at - roycetalk_sandbox.requests[0].at for r in roycetalk_sandbox.requests] == [
        0.0,
        5.0,
        12.0 - LAST_LOOK_RESERVE,
    ]


@pytest.mark.slow  # 6 s: waits for a real stall
def test_a_request_stalled_at_the_deadline_is_cut(roycetalk_sandbox):
    # Real time here: the sandbox holds the request for 30 s, the client's own timeout is 10 s;
    # with --timeout 1 the watch ends about 1 s (+1 s grace) after it started.
    roycetalk_sandbox.add_message("m1", statuses=("pending",))
    roycetalk_sandbox.inject_fault("stall", message_id="m1", seconds=30.0, times=None)
    result = subprocess.run(
        [SMS_STATUS, "watch", *common(roycetalk_sandbox), "--timeout", "1", "m1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == _exit.UNAVAILABLE, result.stderr
    # Cut by the SDK at the time left of the 1 s (not its own 10 s), or else by the watch's
    # guard 1 s later.
    assert re.search(
        r"m1  ERROR  roycetalk: .*(no complete response within (0\.\d+|1) s|"
        r"no answer within --timeout 1 s)",
        result.stdout,
    ), result.stdout
    # The watch's own clock, not the wall time of the subprocess: on a loaded machine
    # starting Python and importing the CLI alone can take longer than the 10 s.
    watched = re.search(r"0/1 final after ([\d.]+)s", result.stdout)
    assert watched is not None, result.stdout
    assert float(watched[1]) < 1.0 + LAST_ANSWER_GRACE + 2.0  # (10 s were it not cut)
