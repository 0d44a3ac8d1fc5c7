"""Server text never drives the terminal (#9): escapes shown escaped, JSON still exact.

A status, an error description or an id holding ESC/CR/OSC, C1, bidi overrides or a lone
surrogate is printed escaped on its own line by every command, in plain lines, the rich
table and error lines; `--json` keeps the exact value.
"""

from __future__ import annotations

import io
import json
import unicodedata
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sms_status.cli import cli
from sms_status.testing import Sandbox

# Erase the line, return, set the window title, pretend success, flip text direction, CSI (C1).
HOSTILE = "\x1b[2K\r\x1b]0;owned\x07m1  delivered  final\u202e\x9b31m[red]x[/red]"
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def assert_terminal_safe(text: str) -> None:
    for char in text.replace("\n", ""):
        category = unicodedata.category(char)
        assert category not in ("Cc", "Cs", "Zl", "Zp"), f"raw {char!r} in {text!r}"
        assert char not in BIDI, f"raw {char!r} in {text!r}"


def invoke(*args: str, obj: object = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), obj=obj, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def common(sandbox: Sandbox) -> list[str]:
    return ["--provider", sandbox.key, "--api-key", sandbox.api_key, "--base-url", sandbox.base_url]


def test_status_line_shows_a_hostile_status_escaped_on_one_line(telecom23_sandbox):
    telecom23_sandbox.add_message("m1", statuses=(HOSTILE,))
    code, out, _ = invoke("status", *common(telecom23_sandbox), "m1")
    assert code == 0
    assert_terminal_safe(out)
    assert len(out.splitlines()) == 1
    assert out.startswith("m1  unrecognized  in-flight  (\\x1b[2K\\x0d\\x1b]0;owned\\x07m1")
    assert "\\u202e\\x9b31m[red]x[/red])" in out


def _status_body(sandbox: Sandbox, status: str) -> str:
    sandbox.add_message("template", statuses=("DELIVRD",))
    reply = httpx.get(
        f"{sandbox.base_url}/api/v1/sms/status/template", headers={"X-API-Key": sandbox.api_key}
    )
    data = reply.json()
    data["message"]["status"] = status
    return json.dumps(data)  # ASCII: the surrogate travels as the JSON escape \ud800


def test_a_lone_surrogate_in_a_status_is_printed_not_a_traceback(telecom23_sandbox):
    body = _status_body(telecom23_sandbox, "\ud800sent")
    telecom23_sandbox.inject_fault(
        "not_json", message_id="m1", body=body, content_type="application/json"
    )
    code, out, err = invoke("status", *common(telecom23_sandbox), "m1")
    assert (code, err) == (0, "")
    assert "(\\ud800sent)" in out
    assert_terminal_safe(out)


def test_json_keeps_the_exact_server_value_in_valid_ascii_json(telecom23_sandbox):
    body = _status_body(telecom23_sandbox, HOSTILE + "\ud800")
    telecom23_sandbox.inject_fault(
        "not_json", message_id="m1", body=body, content_type="application/json"
    )
    code, out, _ = invoke("status", *common(telecom23_sandbox), "--json", "m1")
    assert code == 0
    assert out.isascii()
    assert json.loads(out)["reports"][0]["provider_status"] == HOSTILE + "\ud800"


def test_an_error_description_and_code_are_escaped_in_the_error_line(telecom23_sandbox):
    telecom23_sandbox.inject_fault(
        "error",
        message_id="m1",
        status=404,
        code="NOT_FOUND",
        fields={"description": HOSTILE, "error_code": "NOT\x1b[2JFOUND"},
    )
    code, out, err = invoke("status", *common(telecom23_sandbox), "m1")
    assert code == 1
    assert err == ""
    assert len(out.splitlines()) == 1
    assert_terminal_safe(out)
    assert "NOT\\x1b[2JFOUND" in out
    assert "\\x1b]0;owned\\x07" in out

    # The same description as a whole-command error line (a refused key).
    telecom23_sandbox.inject_fault(
        "error", status=401, code="INVALID_API_KEY", fields={"description": HOSTILE}
    )
    code, out, err = invoke("status", *common(telecom23_sandbox), "m1")
    assert code == 4
    assert out == ""
    assert len(err.splitlines()) == 1
    assert_terminal_safe(err)
    assert "\\x1b]0;owned\\x07" in err


def test_watch_lines_escape_each_update(telecom23_sandbox, sandbox_clock):
    telecom23_sandbox.add_message("m1", statuses=(HOSTILE, "DELIVRD"))
    code, out, _ = invoke("watch", *common(telecom23_sandbox), "m1", obj=sandbox_clock)
    assert code == 0, out
    assert_terminal_safe(out)
    assert "\\x1b]0;owned" in out


def test_history_lines_escape_server_fields(namirial_sandbox):
    namirial_sandbox.add_message("h1", statuses=(HOSTILE,), phone="+14155550123")
    code, out, _ = invoke("history", *common(namirial_sandbox), "--phone", "+14155550123")
    assert code == 0
    assert_terminal_safe(out)
    assert out.startswith("h1  unrecognized")


def test_the_rich_table_escapes_server_text_and_never_reads_it_as_markup(telecom23_sandbox):
    import sms_status
    from rich.console import Console
    from sms_status.cli import _render

    telecom23_sandbox.add_message("m1", statuses=(HOSTILE,))
    with sms_status.connect(
        "telecom23", api_key=telecom23_sandbox.api_key, base_url=telecom23_sandbox.base_url
    ) as client:
        report = client.get_status("m1")
    screen = io.StringIO()
    Console(file=screen, width=400, force_terminal=False).print(_render.table([report]))
    text = screen.getvalue()
    assert_terminal_safe(text)
    assert "\\x1b]0;owned\\x07" in text
    assert "[red]x[/red]" in text  # shown literally, not taken as rich markup


def test_an_unexpected_failure_is_one_line_and_its_traceback_only_with_debug(
    telecom23_sandbox, monkeypatch
):
    from sms_status import client as client_module

    def broken(self: object, message_ids: object) -> None:
        raise RuntimeError("a bug\x1b[2J")

    monkeypatch.setattr(client_module.StatusClient, "get_statuses", broken)
    code, _, err = invoke("status", *common(telecom23_sandbox), "m1", "m2")
    assert code == 70
    assert err.splitlines() == [
        "error: unexpected RuntimeError: a bug\\x1b[2J (run with --debug and report it)"
    ]
    code, _, err = invoke("--debug", "status", *common(telecom23_sandbox), "m1", "m2")
    assert "Traceback" in err
    assert_terminal_safe(err)


@pytest.mark.slow  # 8 s: 300 hypothesis examples
@settings(max_examples=300, deadline=None)
@given(
    message_id=st.text(),
    status=st.text(),
    description=st.text(),
    surrogate=st.integers(0xD800, 0xDFFF).map(chr),
)
def test_any_server_text_prints_as_one_safe_line(message_id, status, description, surrogate):
    from sms_status.cli import _render
    from sms_status.errors import NotFoundError
    from sms_status.report import DeliveryState, StatusReport

    status += surrogate
    report = StatusReport(
        provider="telecom23",
        message_id=message_id,
        state=DeliveryState.UNRECOGNIZED,
        is_final=False,
        provider_status=status,
    )
    error = NotFoundError(description, provider="telecom23", status_code=404, error_code=status)
    for text in (
        _render.line(report),
        _render.line(_render.failed("telecom23", message_id, error)),
    ):
        assert "\n" not in text
        assert_terminal_safe(text)
        text.encode("utf-8")  # printable on any UTF-8 terminal: no surrogate left
    document = _render.as_json([report])
    assert document.isascii()
    assert json.loads(document)["reports"][0]["provider_status"] == status


def _ascii_stdout(monkeypatch: pytest.MonkeyPatch) -> io.TextIOWrapper:
    """A terminal whose locale is not UTF-8 (LANG=C without UTF-8 mode): strict ASCII."""
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")
    monkeypatch.setattr("sys.stdout", stream)
    return stream


def test_the_track_live_view_draws_on_an_ascii_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its "·" separators raised UnicodeEncodeError as the view started: track exited 3
    # ("usage") before tracking anything, with the cursor left hidden.
    from rich.console import Console
    from sms_status import tracking
    from sms_status.cli._track_view import Progress
    from sms_status.testing import FakeClock

    stream = _ascii_stdout(monkeypatch)
    store = tracking.SqliteStore(tmp_path / "d\u00e9liveries.db")
    progress = Progress(
        store, str(tmp_path / "d\u00e9liveries.db"), "telecom23", FakeClock(), lambda: 0, err=False
    )
    Console(file=stream, force_terminal=True, width=120).print(progress)
    store.close()
    stream.flush()
    drawn = stream.buffer.getvalue().decode("ascii")  # type: ignore[attr-defined]
    assert "tracking telecom23 - " in drawn
    assert "d\\xe9liveries.db" in drawn


def test_the_track_progress_line_is_plain_ascii_on_an_ascii_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Off a terminal, track prints a progress line a second: under LANG=C its "·" separators
    # came out as "\xb7" between every figure.
    from sms_status import tracking
    from sms_status.cli._track_view import Progress
    from sms_status.testing import FakeClock

    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="backslashreplace")
    monkeypatch.setattr("sys.stderr", stream)
    store = tracking.SqliteStore(tmp_path / "deliveries.db")
    progress = Progress(store, "deliveries.db", "telecom23", FakeClock(), lambda: 0, err=True)
    progress.receiving = True
    line = progress.line()
    store.close()
    assert line.isascii()
    assert " - 0 in flight - 0 requests - 0 webhooks - " in line


def test_listen_prints_an_id_an_ascii_terminal_cannot_show_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The write raised UnicodeEncodeError in the app's worker thread: the report was
    # answered 200 and never printed, without a word.
    from sms_status import StatusReport
    from sms_status.cli import _listen
    from sms_status.report import DeliveryState
    from sms_status.webhooks import WebhookEvent

    stream = _ascii_stdout(monkeypatch)
    report = StatusReport(
        provider="telecom23",
        message_id="m-\u00e9t\u00e9",
        state=DeliveryState.DELIVERED,
        is_final=True,
        provider_status="DELIVRD",
    )
    event = WebhookEvent(provider="telecom23", report=report, event_id="e", kind="delivery")
    _listen.printer(as_json=False, interactive=False)(event, report)
    stream.flush()
    assert "m-\\xe9t\\xe9" in stream.buffer.getvalue().decode("ascii")  # type: ignore[attr-defined]
