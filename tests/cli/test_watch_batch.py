"""`sms-status watch` of a provider that looks up many ids in one request (seven): every id
still in flight goes in one request a look, on the cadence and deadline `wait_for_final`
keeps for one id. It used to send one request per id a look: 500 ids, 500 requests every
few seconds against seven's rate limit."""

from __future__ import annotations

import re

from click.testing import CliRunner
from sms_status._flows import LAST_LOOK_RESERVE
from sms_status.cli import _exit, cli
from sms_status.testing import FakeClock, Sandbox


def common(sandbox: Sandbox) -> list[str]:
    return ["--provider", sandbox.key, "--api-key", sandbox.api_key, "--base-url", sandbox.base_url]


def watch(sandbox: Sandbox, clock: object, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(
        cli, ["watch", *common(sandbox), *args], obj=clock, catch_exceptions=False
    )


def asked_ids(sandbox: Sandbox) -> list[list[str]]:
    return [request.query_params["msg_id"][0].split(",") for request in sandbox.requests]


def test_ids_in_flight_go_in_one_request_a_look_and_final_ones_drop_out(
    seven_sandbox, sandbox_clock
):
    seven_sandbox.add_message("1", statuses=("DELIVERED",))
    seven_sandbox.add_message("2", statuses=("TRANSMITTED", "NOTDELIVERED"))
    seven_sandbox.add_message("3", statuses=("ACCEPTED", "TRANSMITTED", "DELIVERED"))
    result = watch(seven_sandbox, sandbox_clock, "--timeout", "60", "1", "2", "3")
    assert result.exit_code == _exit.FAILED, result.output
    assert asked_ids(seven_sandbox) == [["1", "2", "3"], ["2", "3"], ["3"]]
    # seven's cadence, 5 then 10 s, from look to look
    started = seven_sandbox.requests[0].at
    assert [r.at - started for r in seven_sandbox.requests] == [0.0, 5.0, 15.0]
    lines = result.stdout.splitlines()
    changes = [re.sub(r"^\[\s*([\d.]+)s\] (\S+)\s+(\S+).*", r"\1 \2 \3", line) for line in lines]
    assert changes[:-1] == [
        "0.0 1 delivered",
        "0.0 2 sent",
        "0.0 3 pending",
        "5.0 2 undelivered",
        "5.0 3 sent",
        "15.0 3 delivered",
    ], lines
    assert lines[-1] == "3/3 final after 15.0s"


def test_an_unknown_id_is_reported_on_its_line_while_the_others_go_on(seven_sandbox, sandbox_clock):
    seven_sandbox.add_message("1", statuses=("TRANSMITTED", "DELIVERED"))
    result = watch(seven_sandbox, sandbox_clock, "--timeout", "60", "1", "nope")
    lines = result.stdout.splitlines()
    assert any(re.match(r"\[\s*0\.0s\] nope  ERROR  ", line) for line in lines), lines
    assert any(re.match(r"\[\s*5\.0s\] 1  delivered  final", line) for line in lines), lines
    assert asked_ids(seven_sandbox)[-1] == ["1"]  # the unknown id is not asked for again
    assert lines[-1] == "1/2 final after 5.0s"


def test_a_failed_look_is_looked_at_again_and_the_deadline_gets_its_last_look(
    seven_sandbox, sandbox_clock
):
    seven_sandbox.add_message("1", statuses=("TRANSMITTED",))
    seven_sandbox.add_message("2", statuses=("TRANSMITTED",))
    seven_sandbox.inject_fault("server_error")  # the first look fails (a 500 is not retried)
    result = watch(seven_sandbox, sandbox_clock, "--timeout", "12", "1", "2")
    assert result.exit_code == _exit.TIMEOUT, result.output
    started = seven_sandbox.requests[0].at
    # The failed look, then 5 s on, then a last look just before the deadline rather than
    # none (the next interval, 10 s, would pass it).
    assert [(r.at - started, r.status) for r in seven_sandbox.requests] == [
        (0.0, 500),
        (5.0, 200),
        (12.0 - LAST_LOOK_RESERVE, 200),
    ]
    assert all(ids == ["1", "2"] for ids in asked_ids(seven_sandbox))
    assert result.stdout.splitlines()[-1] == "0/2 final after 11.0s"


def test_one_id_is_watched_as_before(seven_sandbox, sandbox_clock):
    seven_sandbox.add_message("1", statuses=("TRANSMITTED", "DELIVERED"))
    result = watch(seven_sandbox, sandbox_clock, "--timeout", "60", "1")
    assert result.exit_code == _exit.OK, result.output
    assert asked_ids(seven_sandbox) == [["1"], ["1"]]


def test_a_look_is_one_attempt_cut_at_the_deadline(seven_sandbox, sandbox_clock):
    # A look retried inside get_statuses, through Retry-After waits, past --timeout: with
    # `Retry-After: 30` and --timeout 12 it sent 3 requests and ended at 60 s, and the 429
    # was replaced by "no answer within --timeout".
    seven_sandbox.add_message("1", statuses=("TRANSMITTED",))
    seven_sandbox.add_message("2", statuses=("TRANSMITTED",))
    seven_sandbox.inject_fault("rate_limit", retry_after="30", times=None)
    result = watch(seven_sandbox, sandbox_clock, "--timeout", "12", "1", "2")
    assert result.exit_code == _exit.UNAVAILABLE, result.output
    assert len(seven_sandbox.requests) == 1  # the next look (30 s on) would pass the deadline
    lines = result.stdout.splitlines()
    assert all("429" in line for line in lines[:-1]), lines
    assert lines[-1] == "0/2 final after 0.0s"


class ReplicaBehind(FakeClock):
    """Before its first sleep the sandbox forgets message "1" (a replica behind), before
    its second it knows it again, delivered."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self.sandbox, self.sleeps = sandbox, 0

    async def async_sleep(self, seconds: float) -> None:
        if self.sleeps == 0:
            self.sandbox.remove_message("1")
        elif self.sleeps == 1:
            self.sandbox.add_message("1", statuses=("DELIVERED",))
            self.sandbox.add_message("2", statuses=("DELIVERED",))
        self.sleeps += 1
        await super().async_sleep(seconds)


def test_an_id_unknown_once_after_it_was_reported_is_looked_at_again():
    # The batch path ended it as an ERROR (exit 1) where wait_for_final looks through it.
    clock = FakeClock()
    with Sandbox("seven", clock=clock).serve() as sandbox:
        behind = ReplicaBehind(sandbox)
        sandbox.clock = behind
        sandbox.add_message("1", statuses=("TRANSMITTED",))
        sandbox.add_message("2", statuses=("TRANSMITTED",))
        result = watch(sandbox, behind, "--timeout", "60", "1", "2")
    assert result.exit_code == _exit.OK, result.output
    assert result.stdout.splitlines()[-1] == "2/2 final after 15.0s"
