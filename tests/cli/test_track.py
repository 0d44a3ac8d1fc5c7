"""`sms-status track` against the sandbox over real loopback HTTP (#17).

In-process runs go through click's CliRunner on the sandbox's clock (`obj=sandbox_clock`), so
polling cadences and deadlines pass in no real time; the interrupt, the live view and the
demo step run as real processes on a sped-up clock.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sms_status import tracking
from sms_status.cli import _demo_tracking, _exit, _track_input, cli
from sms_status.testing import FakeClock, Sandbox

SMS_STATUS = str(Path(sys.executable).parent / "sms-status")
SECRET = "whsec_track_test"
WRONG_KEY = "sk_test_refused_7e6f5a"


def invoke(*args: str, obj: object = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=obj, env=env, catch_exceptions=False)


def common(sandbox: Sandbox) -> list[str]:
    return ["--provider", sandbox.key, "--api-key", sandbox.api_key, "--base-url", sandbox.base_url]


def ids_file(tmp_path: Path, *ids: str) -> str:
    path = tmp_path / "ids.txt"
    path.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    return str(path)


def outcomes(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def counts(store: Path) -> tracking.Counts:
    with tracking.Tracker(store, on_final=lambda _outcome: None) as tracker:
        return tracker.counts()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "deliveries.db"


# -- exit codes: the whole store's verdict -------------------------------------------------------


@pytest.mark.parametrize(
    ("lifecycles", "deadline", "expected"),
    [
        ({"a": ("pending", "DELIVRD"), "b": ("sent", "DELIVRD")}, "72h", _exit.OK),
        ({"a": ("pending", "DELIVRD"), "b": ("sent", "UNDELIV")}, "72h", _exit.FAILED),
        ({"a": ("pending", "DELIVRD"), "b": ("sent",)}, "30s", _exit.TIMEOUT),
        ({"a": ("sent", "UNDELIV"), "b": ("sent",)}, "30s", _exit.FAILED),
    ],
    ids=[
        "all-delivered",
        "one-undelivered",
        "one-at-its-deadline",
        "undelivered-outranks-deadline",
    ],
)
def test_the_exit_code_says_delivered_failed_or_deadline(
    telecom23_sandbox, sandbox_clock, tmp_path, store, lifecycles, deadline, expected
):
    for message_id, statuses in lifecycles.items():
        telecom23_sandbox.add_message(message_id, statuses=statuses)
    args = [*common(telecom23_sandbox), "--store", str(store), "--deadline", deadline]
    result = invoke("track", *args, ids_file(tmp_path, *lifecycles), obj=sandbox_clock)
    assert result.exit_code == expected, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"2 ids: 2 new, 0 already tracked in {store}"
    assert lines[-3] == f"{store}: 2 tracked, 2 settled, 0 in flight, 0 awaiting hand-over"
    assert counts(store).settled == 2


def test_an_id_the_provider_never_knew_settles_not_found_and_exits_1(
    telecom23_sandbox, sandbox_clock, tmp_path, store
):
    args = [*common(telecom23_sandbox), "--store", str(store), "--json"]
    result = invoke("track", *args, ids_file(tmp_path, "nope-1"), obj=sandbox_clock)
    assert result.exit_code == _exit.FAILED, result.output
    (outcome,) = outcomes(result)
    assert outcome["reason"] == "not_found"
    assert outcome["state"] == "unknown"


def test_an_ids_file_saved_with_a_byte_order_mark_tracks_its_first_id_as_written(
    telecom23_sandbox, sandbox_clock, tmp_path, store
):
    # Notepad's or Excel's "UTF-8" files start with U+FEFF: it was kept in the first id.
    telecom23_sandbox.add_message("m-1", statuses=("DELIVRD",))
    path = tmp_path / "ids.txt"
    path.write_text("m-1\n", encoding="utf-8-sig")
    args = [*common(telecom23_sandbox), "--store", str(store), "--json", str(path)]
    result = invoke("track", *args, obj=sandbox_clock)
    assert result.exit_code == _exit.OK, result.output
    assert [(o["message_id"], o["state"]) for o in outcomes(result)] == [("m-1", "delivered")]


def test_json_prints_one_outcome_per_line_on_stdout_and_progress_on_stderr(
    seven_sandbox, sandbox_clock, tmp_path, store
):
    ids = [str(77233100000 + i) for i in range(150)]  # two of seven's 100-id batches
    for i, message_id in enumerate(ids):
        status = "DELIVERED" if i % 10 else "NOTDELIVERED"
        seven_sandbox.add_message(message_id, statuses=("TRANSMITTED", status))
    args = [*common(seven_sandbox), "--store", str(store), "--json"]
    result = invoke("track", *args, ids_file(tmp_path, *ids), obj=sandbox_clock)
    assert result.exit_code == _exit.FAILED, result.output
    lines = outcomes(result)
    assert sorted(o["message_id"] for o in lines) == sorted(ids)
    first = lines[0]
    assert set(first) == {
        "key", "provider", "message_id", "tag", "state", "reason", "source", "polls",
        "delivery", "added_at", "settled_at", "report",
    }  # fmt: skip
    assert {o["delivery"] for o in lines} == {1}
    assert {o["source"] for o in lines} == {"poll"}
    assert sum(o["state"] == "undelivered" for o in lines) == 15
    assert all(o["key"] == f"seven:{o['message_id']}" for o in lines)
    # Two polls of two batches: seven looks up to 100 ids a request.
    assert len(seven_sandbox.requests) == 4
    assert "done after" in result.stderr
    assert f"{store}: 150 tracked, 150 settled" in result.stderr


# -- the store: resume, summary, other providers -------------------------------------------------


def test_a_rerun_on_the_same_store_resumes_and_hands_each_outcome_over_once(
    telecom23_sandbox, sandbox_clock, tmp_path, store
):
    telecom23_sandbox.add_message("a", statuses=("DELIVRD",))
    args = [*common(telecom23_sandbox), "--store", str(store), "--json"]
    first = invoke("track", *args, ids_file(tmp_path, "a"), obj=sandbox_clock)
    assert [o["message_id"] for o in outcomes(first)] == ["a"]
    telecom23_sandbox.add_message("b", statuses=("sent", "DELIVRD"))
    second = invoke("track", *args, ids_file(tmp_path, "a", "b"), obj=sandbox_clock)
    assert second.exit_code == _exit.OK, second.output
    assert [o["message_id"] for o in outcomes(second)] == ["b"]  # "a" was handed over before
    assert "2 ids: 1 new, 1 already tracked" in second.stderr
    third = invoke("track", *args, ids_file(tmp_path, "a", "b"), obj=sandbox_clock)
    assert third.exit_code == _exit.OK
    assert third.stdout == ""


def test_summary_prints_the_counts_without_a_provider(
    telecom23_sandbox, sandbox_clock, tmp_path, store
):
    telecom23_sandbox.add_message("a", statuses=("DELIVRD",))
    telecom23_sandbox.add_message("b", statuses=("UNDELIV",))
    invoke(
        "track",
        *common(telecom23_sandbox),
        "--store",
        str(store),
        ids_file(tmp_path, "a", "b"),
        obj=sandbox_clock,
    )
    result = invoke("track", "--store", str(store), "--summary", env={})
    assert result.exit_code == _exit.OK, result.output
    assert result.stdout.splitlines() == [
        f"{store}: 2 tracked, 2 settled, 0 in flight, 0 awaiting hand-over",
        "  by state:  delivered 1, undelivered 1",
        "  by reason: final 2",
    ]
    as_json = json.loads(invoke("track", "--store", str(store), "--summary", "--json").stdout)
    assert as_json == {
        "store": str(store),
        "total": 2,
        "in_flight": 0,
        "settled": 2,
        "awaiting_handover": 0,
        "by_state": {"delivered": 1, "undelivered": 1},
        "by_reason": {"final": 2},
    }


def test_summary_of_a_missing_store_is_a_usage_error_and_creates_nothing(store):
    result = invoke("track", "--store", str(store), "--summary")
    assert result.exit_code == _exit.USAGE
    assert result.stderr == f"error: no tracker store at {store}\n"
    assert not store.exists()


def test_summary_of_an_empty_file_is_refused_and_writes_nothing_into_it(store):
    # An empty file (a typo'd or touched path) was made into a 40 KB store by --summary,
    # which reads only, and reported "0 tracked".
    store.touch()
    result = invoke("track", "--store", str(store), "--summary")
    assert result.exit_code == _exit.USAGE
    assert result.stderr == f"error: {store} is empty: not a tracker store\n"
    assert store.stat().st_size == 0


def test_other_providers_ids_in_the_store_settle_with_their_keys_from_the_environment(
    telecom23_sandbox, seven_sandbox, sandbox_clock, tmp_path, store
):
    telecom23_sandbox.add_message("t1", statuses=("sent", "DELIVRD"))
    seven_sandbox.add_message("77233200001", statuses=("DELIVERED",))
    with tracking.Tracker(store, on_final=lambda _o: None, clock=sandbox_clock.now) as sender:
        sender.add("seven", "77233200001", tag="order-7")
    env = {
        "SMS_STATUS_SEVEN_API_KEY": seven_sandbox.api_key,
        "SMS_STATUS_SEVEN_BASE_URL": seven_sandbox.base_url,
    }
    args = [*common(telecom23_sandbox), "--store", str(store), "--json"]
    result = invoke("track", *args, ids_file(tmp_path, "t1"), obj=sandbox_clock, env=env)
    assert result.exit_code == _exit.OK, result.output
    by_key = {o["key"]: o for o in outcomes(result)}
    assert set(by_key) == {"telecom23:t1", "seven:77233200001"}
    assert by_key["seven:77233200001"]["tag"] == "order-7"


def test_another_providers_bad_base_url_is_a_warning_not_a_refusal(
    telecom23_sandbox, sandbox_clock, tmp_path, store
):
    # A base URL refused at connect (a port out of range) for another provider in the
    # environment ended the run with a usage error naming neither it nor its variable.
    telecom23_sandbox.add_message("t1", statuses=("DELIVRD",))
    env = {
        "SMS_STATUS_SEVEN_API_KEY": "sk_x",
        "SMS_STATUS_SEVEN_BASE_URL": "http://127.0.0.1:99999",
    }
    args = [*common(telecom23_sandbox), "--store", str(store), "--json"]
    result = invoke("track", *args, ids_file(tmp_path, "t1"), obj=sandbox_clock, env=env)
    assert result.exit_code == _exit.OK, result.output
    assert "warning: not polling seven here:" in result.stderr
    assert "SMS_STATUS_SEVEN_*" in result.stderr
    assert [o["key"] for o in outcomes(result)] == ["telecom23:t1"]


# -- webhooks in the same process -------------------------------------------------------------


class _HeldClock(FakeClock):
    """A FakeClock that the tracker cannot move until the test lets it: its first sleep
    signals `asleep` (ids added, webhook receiver up) and waits for `go`."""

    def __init__(self) -> None:
        super().__init__()
        self.asleep = threading.Event()
        self.go = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.asleep.set()
        assert self.go.wait(60), "the test never let time move"
        super().sleep(seconds)


class _Settled(logging.Handler):
    """Counts the tracker's "settled ... by a push" log lines; `done` once `expected` came."""

    def __init__(self, expected: int) -> None:
        super().__init__(logging.INFO)
        self.expected, self.seen = expected, 0
        self.done = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "by a push" in record.getMessage():
            self.seen += 1
            if self.seen >= self.expected:
                self.done.set()


@pytest.fixture
def settled_by_push() -> Iterator[_Settled]:
    logger = logging.getLogger("sms_status.tracking")
    handler, level = _Settled(expected=3), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_webhooks_received_in_the_same_process_settle_ids_without_a_poll(
    telecom23_sandbox, tmp_path, store, settled_by_push
):
    clock = _HeldClock()
    telecom23_sandbox.clock = clock  # webhook timestamps are checked on the tracker's clock
    port = _free_port()
    ids = ["w-1", "w-2", "w-3"]
    args = [*common(telecom23_sandbox), "--store", str(store), "--json"]
    webhook = ["--webhook-port", str(port), "--secret", SECRET]
    results: list[Result] = []
    command = threading.Thread(
        target=lambda: results.append(
            invoke("track", *args, *webhook, ids_file(tmp_path, *ids), obj=clock)
        )
    )
    command.start()
    try:
        assert clock.asleep.wait(60), "track never started waiting"
        telecom23_sandbox.add_webhook(f"http://127.0.0.1:{port}/hooks/telecom23", secret=SECRET)
        for message_id in ids:  # final from the start: the sandbox pushes each at once
            telecom23_sandbox.add_message(
                message_id, statuses=("UNDELIV",) if message_id == "w-3" else ("DELIVRD",)
            )
        assert settled_by_push.done.wait(60), f"{settled_by_push.seen} of 3 pushes recorded"
    finally:
        clock.go.set()
        command.join(60)
    (result,) = results
    assert result.exit_code == _exit.FAILED, result.output  # w-3 was undelivered
    lines = outcomes(result)
    assert sorted(o["message_id"] for o in lines) == ids
    assert {(o["source"], o["polls"], o["delivery"]) for o in lines} == {("push", 0, 1)}
    assert telecom23_sandbox.requests == []  # not one status poll
    assert f"receiving telecom23 webhooks on http://127.0.0.1:{port}/" in result.stderr
    assert "3 webhooks received" in result.stderr


def test_webhooks_refused_for_a_wrong_secret_are_said(telecom23_sandbox, tmp_path, store):
    # Every delivery was a 401 and track said nothing ("0 webhooks"), its first poll a
    # quarter of an hour away: `listen` prints each refusal, and so does track now.
    clock = _HeldClock()
    telecom23_sandbox.clock = clock
    port = _free_port()
    args = [*common(telecom23_sandbox), "--store", str(store), "--json"]
    webhook = ["--webhook-port", str(port), "--secret", SECRET]
    results: list[Result] = []
    command = threading.Thread(
        target=lambda: results.append(
            invoke("track", *args, *webhook, ids_file(tmp_path, "w-1"), obj=clock)
        )
    )
    command.start()
    try:
        assert clock.asleep.wait(60), "track never started waiting"
        telecom23_sandbox.add_webhook(f"http://127.0.0.1:{port}/hooks", secret="not-" + SECRET)
        telecom23_sandbox.add_message("w-1", statuses=("DELIVRD",))
        telecom23_sandbox.wait_for_webhooks(1, timeout=60, where=lambda d: d.http_status == 401)
    finally:
        clock.go.set()
        command.join(60)
    (result,) = results
    assert "telecom23 delivery refused: 401" in result.stderr
    # The count at the end (the sandbox may have retried the delivery meanwhile).
    assert re.search(r"\n(\d+) deliver(y|ies) refused \(\1 x 401\)\n", result.stderr)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--webhook-port", "0"], "telecom23 webhooks are signed: pass --secret"),
        (["--secret", SECRET], "--secret and --webhook-url go with --webhook-port"),
    ],
    ids=["signed-without-secret", "secret-without-port"],
)
def test_webhook_options_are_checked_before_anything_is_stored(
    telecom23_sandbox, tmp_path, store, extra, message
):
    args = [*common(telecom23_sandbox), "--store", str(store), *extra]
    result = invoke("track", *args, ids_file(tmp_path, "a"), env={})
    assert result.exit_code == _exit.USAGE
    assert message in result.stderr
    assert not store.exists()


def test_a_busy_webhook_port_is_a_usage_error(telecom23_sandbox, tmp_path, store):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        args = [*common(telecom23_sandbox), "--store", str(store)]
        webhook = ["--webhook-port", str(port), "--secret", SECRET]
        result = invoke("track", *args, *webhook, ids_file(tmp_path, "a"))
    assert result.exit_code == _exit.USAGE
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert not store.exists()


# -- bad input: exit 3, nothing stored ---------------------------------------------------------


def test_a_bad_id_names_its_line_and_stores_nothing(telecom23_sandbox, tmp_path, store):
    path = tmp_path / "ids.txt"
    path.write_text("good-1\n\n  good-2  \n..\n", encoding="utf-8")
    result = invoke("track", *common(telecom23_sandbox), "--store", str(store), str(path))
    assert result.exit_code == _exit.USAGE
    assert result.stderr.startswith(f"error: {path}, line 4: invalid message id '..'")
    assert not store.exists()
    assert telecom23_sandbox.requests == []


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_ids_file_lines_end_as_text_files_end_them(newline, telecom23_sandbox, tmp_path, store):
    # Read as bytes (for the line of a bad byte), a CR-only file was one line, refused.
    path = tmp_path / "ids.txt"
    path.write_bytes(newline.join([b"\xef\xbb\xbfm-1", b"m-2", b"", b".."]) + newline)
    result = invoke("track", *common(telecom23_sandbox), "--store", str(store), str(path))
    assert result.exit_code == _exit.USAGE  # line 4, as an editor counts: lines 1-3 read
    assert result.stderr.startswith(f"error: {path}, line 4: invalid message id '..'")


def test_a_line_not_utf8_is_named_by_its_line_and_column(telecom23_sandbox, tmp_path, store):
    # The decoder's message named neither file nor line, and an offset inside a read chunk.
    path = tmp_path / "ids.txt"
    path.write_bytes(b"".join(b"good-%d\n" % n for n in range(2000)) + b"caf\xe9\n")
    result = invoke("track", *common(telecom23_sandbox), "--store", str(store), str(path))
    assert result.exit_code == _exit.USAGE
    assert result.stderr.startswith(
        f"error: {path}, line 2001: not UTF-8 text (byte 0xe9 at column 4)"
    ), result.stderr
    assert not store.exists()


def test_a_comma_in_a_seven_id_is_refused_before_anything_is_stored(seven_sandbox, tmp_path, store):
    args = [*common(seven_sandbox), "--store", str(store)]
    result = invoke("track", *args, ids_file(tmp_path, "77233300001", "1,2"))
    assert result.exit_code == _exit.USAGE
    assert "line 2" in result.stderr
    assert not store.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--provider", "telecom24", "IDS"],
        ["--provider", "telecom23", "--deadline", "soon", "IDS"],
        ["--provider", "telecom23", "--deadline", "0s", "IDS"],
        ["--provider", "telecom23", "--deadline", "-5m", "IDS"],
        ["--provider", "telecom23", "--deadline", "nan", "IDS"],
        ["IDS"],
        ["--provider", "telecom23"],
        ["--provider", "telecom23", "no-such-file.txt"],
        ["--summary", "IDS"],
    ],
    ids=[
        "unknown-provider",
        "deadline-words",
        "deadline-zero",
        "deadline-negative",
        "deadline-nan",
        "no-provider",
        "no-ids-file",
        "missing-ids-file",
        "summary-with-ids",
    ],
)
def test_usage_errors_exit_3_and_store_nothing(tmp_path, store, args):
    ids = ids_file(tmp_path, "a")
    argv = [ids if a == "IDS" else a for a in args]
    result = invoke(
        "track", "--store", str(store), *argv, env={"SMS_STATUS_TELECOM23_API_KEY": WRONG_KEY}
    )
    assert result.exit_code == _exit.USAGE, result.output
    assert "Traceback" not in result.output
    assert not store.exists()


def test_no_api_key_is_a_usage_error_naming_the_variable(tmp_path, store):
    result = invoke(
        "track",
        "--provider",
        "roycetalk",
        "--store",
        str(store),
        ids_file(tmp_path, "a"),
        env={"SMS_STATUS_ROYCETALK_API_KEY": ""},
    )
    assert result.exit_code == _exit.USAGE
    assert "SMS_STATUS_ROYCETALK_API_KEY" in result.stderr
    assert not store.exists()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("72h", 259200), ("3d", 259200), ("1h30m", 5400), ("45", 45)],
)
def test_durations(text, seconds):
    assert _track_input.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0", "inf", "nan", "37000d", "1e12", "5y"])
def test_a_duration_that_is_no_deadline_is_refused(text):
    with pytest.raises(ValueError, match=r"duration|100 years"):
        _track_input.parse_duration(text)


def test_a_file_that_is_not_a_tracker_store_is_refused(telecom23_sandbox, tmp_path):
    not_a_store = tmp_path / "ids.txt"
    not_a_store.write_text("a\n", encoding="utf-8")
    args = [*common(telecom23_sandbox), "--store", str(not_a_store)]
    result = invoke("track", *args, str(not_a_store))
    assert result.exit_code == _exit.USAGE
    assert result.stderr.startswith(f"error: {not_a_store} is not a tracker store")
    assert not_a_store.read_text(encoding="utf-8") == "a\n"


def test_a_store_in_a_missing_directory_is_one_usage_line(telecom23_sandbox, tmp_path):
    store = tmp_path / "no-such-dir" / "deliveries.db"
    args = [*common(telecom23_sandbox), "--store", str(store)]
    result = invoke("track", *args, ids_file(tmp_path, "a"))
    assert result.exit_code == _exit.USAGE
    assert result.stderr.startswith(f"error: cannot open the store {store}: ")
    assert len(result.stderr.splitlines()) == 1


def test_a_store_another_tracker_runs_on_is_a_usage_error(
    telecom23_sandbox, sandbox_clock, tmp_path, store
):
    running = tracking.SqliteStore(store)
    try:
        with running.running():
            args = [*common(telecom23_sandbox), "--store", str(store)]
            result = invoke("track", *args, ids_file(tmp_path, "a"), obj=sandbox_clock)
    finally:
        running.close()
    assert result.exit_code == _exit.USAGE
    assert "another tracker is running on this store" in result.stderr
    # Refused before anything was added: the running tracker (it may have a short
    # --deadline) is not kept going by ids of this one, with the default 72 h deadline.
    assert "ids not added; let it finish, or use another --store" in result.stderr
    assert "RedisStore" not in result.stderr  # a Python fix, no help on the command line
    assert counts(store).in_flight == 0


# -- 4: a refused key ---------------------------------------------------------------------------


def test_a_refused_key_exits_4_and_the_ids_stay_tracked(
    telecom23_sandbox, sandbox_clock, tmp_path, store
):
    args = ["--provider", "telecom23", "--api-key", WRONG_KEY, "--base-url"]
    result = invoke(
        "track",
        *args,
        telecom23_sandbox.base_url,
        "--store",
        str(store),
        ids_file(tmp_path, "a", "b"),
        obj=sandbox_clock,
    )
    assert result.exit_code == _exit.AUTHENTICATION
    assert "INVALID_API_KEY" in result.stderr
    assert f"2 ids stay tracked in {store}: fix the key and run again" in result.stderr
    assert WRONG_KEY not in result.output
    assert counts(store).in_flight == 2
    telecom23_sandbox.add_message("a", statuses=("DELIVRD",))
    telecom23_sandbox.add_message("b", statuses=("DELIVRD",))
    fixed = invoke(
        "track", *common(telecom23_sandbox), "--store", str(store), ids_file(tmp_path, "a", "b"),
        obj=sandbox_clock,
    )  # fmt: skip
    assert fixed.exit_code == _exit.OK, fixed.output


def test_an_id_repeated_in_the_file_is_tracked_once(
    telecom23_sandbox, sandbox_clock, tmp_path, store
):
    telecom23_sandbox.add_message("r", statuses=("DELIVRD",))
    args = [*common(telecom23_sandbox), "--store", str(store), "--json"]
    result = invoke("track", *args, ids_file(tmp_path, "r", "r", "r"), obj=sandbox_clock)
    assert result.exit_code == _exit.OK, result.output
    assert result.stderr.startswith("1 ids: 1 new, 0 already tracked")
    assert [o["message_id"] for o in outcomes(result)] == ["r"]


@pytest.mark.parametrize("exempt", [True, False], ids=["NO_PROXY exempts it", "its own"])
def test_a_socks_proxy_in_the_environment(
    telecom23_sandbox, sandbox_clock, tmp_path, store, monkeypatch, exempt
):
    # track's own httpx client read every proxy the environment names: without httpx[socks]
    # a bare ImportError ended it, even for a proxy NO_PROXY exempts the provider from.
    if importlib.util.find_spec("socksio") is not None:
        pytest.skip("httpx[socks] is installed")
    for name in ("ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:9")
    # Another provider's key: its client, whose origin the proxy is for, cannot be made.
    monkeypatch.setenv("SMS_STATUS_SEVEN_API_KEY", "seven-key")
    if exempt:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    telecom23_sandbox.add_message("s", statuses=("DELIVRD",))
    args = [*common(telecom23_sandbox), "--store", str(store), "--json"]
    result = CliRunner().invoke(cli, ["track", *args, ids_file(tmp_path, "s")], obj=sandbox_clock)
    if exempt:  # tracked; the other provider is left out, and said so
        assert result.exit_code == _exit.OK, result.output
        assert [o["message_id"] for o in outcomes(result)] == ["s"]
        assert "warning: not polling seven here" in result.stderr
    else:  # one clear line (not an "unexpected" error), never a request around the proxy
        assert result.exit_code != _exit.OK
        assert "httpx[socks]" in result.stderr, result.output
        assert "unexpected" not in result.stderr
        assert telecom23_sandbox.requests == []


# -- real processes: Ctrl-C then resume, output closed, the live view ---------------------------


def _env(sandbox: Sandbox) -> dict[str, str]:
    prefix = f"SMS_STATUS_{sandbox.key.upper()}"
    return {
        **os.environ,
        f"{prefix}_API_KEY": sandbox.api_key,
        f"{prefix}_BASE_URL": sandbox.base_url,
    }


def test_ctrl_c_keeps_the_state_and_the_same_command_resumes(telecom23_sandbox, tmp_path, store):
    ids = ["i-1", "i-2", "i-3"]
    for message_id in ids:
        telecom23_sandbox.add_message(message_id, statuses=("pending",))  # never final, for now
    command = [SMS_STATUS, "track", "-p", "telecom23", "--store", str(store), "--json",
               "--clock-speed", "100", ids_file(tmp_path, *ids)]  # fmt: skip
    process = subprocess.Popen(
        command, env=_env(telecom23_sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        assert process.stderr.readline().startswith("3 ids: 3 new")
        assert process.stderr.readline().startswith("[")  # a progress line: it runs and waits
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == _exit.INTERRUPTED, err
    assert "interrupted: 3 in flight and 0 awaiting hand-over stay in" in err
    assert "Traceback" not in err
    assert out == ""
    for message_id in ids:
        telecom23_sandbox.add_message(message_id, statuses=("DELIVRD",))
    again = subprocess.run(
        command, env=_env(telecom23_sandbox), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert again.returncode == _exit.OK, again.stderr
    assert again.stderr.startswith("3 ids: 0 new, 3 already tracked")
    lines = [json.loads(line) for line in again.stdout.splitlines()]
    assert sorted(o["message_id"] for o in lines) == ids
    assert {o["delivery"] for o in lines} == {1}


def test_json_piped_into_head_ends_with_141_and_keeps_the_rest_for_a_rerun(
    seven_sandbox, tmp_path, store
):
    ids = [str(77233400000 + i) for i in range(300)]
    for message_id in ids:
        seven_sandbox.add_message(message_id, statuses=("DELIVERED",))
    command = [SMS_STATUS, "track", "-p", "seven", "--store", str(store), "--json",
               "--clock-speed", "100", ids_file(tmp_path, *ids)]  # fmt: skip
    process = subprocess.Popen(
        command, env=_env(seven_sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    first = json.loads(process.stdout.readline())
    process.stdout.close()  # as `| head -1` does
    try:
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == _exit.OUTPUT_CLOSED, err
    assert "Traceback" not in err
    left = counts(store)
    assert left.settled >= 1  # what was not read, or not yet settled, is kept for a rerun
    assert 1 <= left.awaiting_handover < 300
    again = subprocess.run(
        command, env=_env(seven_sandbox), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert again.returncode == _exit.OK, again.stderr
    handed = [json.loads(line) for line in again.stdout.splitlines()]
    assert first["message_id"] not in {o["message_id"] for o in handed if o["delivery"] == 1}
    assert len(handed) == left.awaiting_handover + left.in_flight
    assert counts(store).awaiting_handover == 0


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_json_into_a_full_disk_ends_with_74_and_keeps_every_outcome_for_a_rerun(
    telecom23_sandbox, tmp_path, store
):
    # An output that cannot be written (a full disk) had on_final raise at each hand-over,
    # retried for ever: the run never ended.
    ids = ["full-1", "full-2"]
    for message_id in ids:
        telecom23_sandbox.add_message(message_id, statuses=("DELIVRD",))
    command = [SMS_STATUS, "track", "-p", "telecom23", "--store", str(store), "--json",
               "--clock-speed", "100", ids_file(tmp_path, *ids)]  # fmt: skip
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            command, env=_env(telecom23_sandbox), stdout=full, stderr=subprocess.PIPE,
            text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == _exit.OUTPUT_FAILED, done.stderr
    assert "error: cannot write the output: No space left on device" in done.stderr
    assert "Traceback" not in done.stderr
    assert counts(store).awaiting_handover == 2  # none handed over: a rerun gives both
    again = subprocess.run(
        command, env=_env(telecom23_sandbox), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert again.returncode == _exit.OK, again.stderr
    assert sorted(json.loads(line)["message_id"] for line in again.stdout.splitlines()) == ids


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


def test_on_a_terminal_track_draws_a_live_view(telecom23_sandbox, tmp_path, store):
    telecom23_sandbox.add_message("v-1", statuses=("pending", "sent", "DELIVRD"))
    telecom23_sandbox.add_message("v-2", statuses=("pending", "UNDELIV"))
    primary, secondary = pty.openpty()
    env = {**_env(telecom23_sandbox), "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"}
    process = subprocess.Popen(
        [SMS_STATUS, "track", "-p", "telecom23", "--store", str(store), "--clock-speed", "100",
         ids_file(tmp_path, "v-1", "v-2")],
        stdin=secondary, stdout=secondary, stderr=secondary, env=env, close_fds=True,
    )  # fmt: skip
    os.close(secondary)
    try:
        output = _read_until(primary, b"by reason:", timeout=60)
        assert process.wait(timeout=30) == _exit.FAILED
    finally:
        process.kill()
        os.close(primary)
    text = output.decode(errors="replace")
    assert "\x1b[" in text  # drawn with terminal control sequences
    assert "tracking telecom23" in text
    assert "2/2 settled" in text
    assert "undelivered" in text
    assert "requests" in text


# -- the demo's step ---------------------------------------------------------------------------


@pytest.mark.slow  # ~5 s: two tracker processes, one killed
def test_the_demo_step_kills_the_tracker_and_every_outcome_comes_once(
    telecom23_sandbox, seven_sandbox
):
    result = _demo_tracking.demo(telecom23_sandbox, seven_sandbox, messages=120)
    assert result.ok, result.lines
    assert result.outcomes >= 120
    assert result.missing == 0
    assert result.again == result.interrupted


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_demo_step_reads_its_tracker_under_a_latin1_locale(
    telecom23_sandbox, seven_sandbox, monkeypatch
):
    # The child tracker wrote its "·" in latin-1 (the inherited encoding) and the demo's
    # UTF-8 readers died on it: two thread tracebacks, and a child left writing to a pipe
    # nobody read.
    monkeypatch.setenv("PYTHONIOENCODING", "latin-1")
    result = _demo_tracking.demo(telecom23_sandbox, seven_sandbox, messages=20)
    assert result.ok, result.lines
    assert result.missing == 0


@pytest.mark.parametrize(("flags", "level"), [((), 1), (("--durable",), 2)])
def test_durable_makes_each_commit_wait_for_the_disk(
    telecom23_sandbox, sandbox_clock, tmp_path, store, monkeypatch, flags, level
):
    # The docs name synchronous="FULL" as the remedy for a power cut; track had no way to it.
    opened: list[int] = []

    class Recording(tracking.SqliteStore):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self._db.execute("PRAGMA synchronous").fetchone()[0])

    monkeypatch.setattr(tracking, "SqliteStore", Recording)
    telecom23_sandbox.add_message("m-1", statuses=("DELIVRD",))
    args = [*common(telecom23_sandbox), "--store", str(store), *flags]
    result = invoke("track", *args, ids_file(tmp_path, "m-1"), obj=sandbox_clock)
    assert result.exit_code == _exit.OK, result.output
    assert opened == [level]  # SQLite's PRAGMA synchronous: 1 NORMAL, 2 FULL
