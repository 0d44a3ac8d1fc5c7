"""The `sms-status` command: status, watch, history, sandbox and demo.

Only click is imported up front so `sms-status --help` answers at once; the SDK, httpx and
rich load inside the command that needs them. Every command is registered on `cli` with
`@cli.command()` (or `cli.add_command(...)`) and gets `--debug` and the one-line error
handling from the group.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from sms_status._registry import HISTORY, PROVIDERS
from sms_status.cli import _exit
from sms_status.cli._invocation import (
    State,
    api_key_option,
    base_url_option,
    fail,
    read_api_key,
)
from sms_status.cli._listen import listen
from sms_status.cli._terminal import DebugLog, echo_document, printable, tolerant_stdout
from sms_status.cli._track import track

if TYPE_CHECKING:
    from sms_status.client import StatusClient
    from sms_status.report import StatusReport

_provider_option = click.option(
    "--provider",
    "-p",
    type=click.Choice(PROVIDERS),
    required=True,
    help="Provider key.",
)


def _advice(error: BaseException) -> str:
    from sms_status import errors

    if isinstance(error, errors.AuthenticationError):
        return "check the API key and its permissions"
    if isinstance(error, errors.NotFoundError):
        return "check the message id (and that it belongs to this account)"
    if isinstance(error, errors.RateLimitError):
        wait = f"{error.retry_after:g} s" if error.retry_after is not None else "a while"
        return f"slow down and retry after {wait}"
    if isinstance(error, errors.TransportError):
        return "check the network and --base-url"
    if isinstance(error, errors.MalformedResponseError):
        return "the provider sent something unexpected; retry, or report it with --debug"
    return "retry later; if it persists, contact the provider"


def _one_line(error: Exception) -> NoReturn:
    """Any failure as one clear line and its exit code; --debug adds the traceback first."""
    from sms_status import errors

    if State.debug is not None:
        text = "".join(traceback.format_exception(error)).rstrip("\n")
        click.echo(printable(text, State.secret), err=True)
    code = _exit.for_error(error)
    if isinstance(error, errors.MissingProviderError):
        fail(str(error), code)
    if isinstance(error, errors.SmsStatusError):
        fail(f"{error} — {_advice(error)}", code)
    if code == _exit.USAGE:
        fail(str(error), code)
    fail(f"unexpected {type(error).__name__}: {error} (run with --debug and report it)", code)


_DEBUG_HELP = "Show request logs and tracebacks (the API key is masked)."


def _enable_debug(_ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and State.debug is None:
        State.debug = DebugLog(lambda: State.secret)


def _debug_option() -> click.Option:
    return click.Option(
        ["--debug"],
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_enable_debug,
        help=_DEBUG_HELP,
    )


def _silence_stdout() -> None:
    """The reader of our output left (`| head`): point stdout at /dev/null so the flush at
    exit does not fail again with "Exception ignored ... BrokenPipeError"."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (tests' CliRunner)
        pass


def _usage_exit(error: click.UsageError) -> None:
    # click exits 2 on usage errors, which is watch's "timed out" here. Set on the instance
    # (click types it as a class variable) so click's own message and hints stay as they are.
    setattr(error, "exit_code", _exit.USAGE)  # noqa: B010


class _Commands(click.Group):
    """The command group: `--debug` before or after the command, usage errors exit 3, and any
    failure inside a command ends as one line with its exit code."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not any(param.name == "debug" for param in cmd.params):
            cmd.params.append(_debug_option())
        super().add_command(cmd, name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        State.secret, State.debug = "", None
        tolerant_stdout()
        try:
            return super().main(*args, **kwargs)
        finally:
            if State.debug is not None:
                State.debug.close()
            State.secret, State.debug = "", None

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            _usage_exit(error)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            _usage_exit(error)
            raise
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("", err=True)
            sys.exit(_exit.INTERRUPTED)
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(_exit.OUTPUT_CLOSED)
        except OSError as error:
            if error.errno not in _exit.OUTPUT_ERRNOS:
                _one_line(error)
            # Not "a bug in sms-status": standard output cannot be written (a full disk).
            with contextlib.suppress(OSError):
                click.echo(f"error: cannot write the output: {error.strerror}", err=True)
            _silence_stdout()  # the flush at exit would fail again
            sys.exit(_exit.OUTPUT_FAILED)
        except Exception as error:
            _one_line(error)


def _connect(provider: str, api_key: str | None, base_url: str | None) -> StatusClient:
    import sms_status

    key = sms_status.provider_key(provider)
    return sms_status.connect(key, api_key=read_api_key(provider, api_key), base_url=base_url)


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=_exit.help_text(),
)
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_enable_debug,
    help=_DEBUG_HELP,
)
@click.version_option(package_name="sms-status")
def cli() -> None:
    """Delivery status of SMS messages from five providers, in one vocabulary."""


@cli.command(epilog=_exit.help_text())
@_provider_option
@click.argument("message_ids", nargs=-1, required=True)
@api_key_option
@base_url_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, errors included.")
def status(
    provider: str,
    message_ids: tuple[str, ...],
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """Print the status of one or more messages: one line per id (--json: one JSON document,
    {"reports": [...]}, a report per id)."""
    from sms_status import errors
    from sms_status.cli import _render

    with _connect(provider, api_key, base_url) as client:
        try:
            reports = client.get_statuses(list(message_ids))
        except errors.AuthenticationError as error:
            # A refused key fails every id: JSON readers still get one entry per id.
            if as_json:
                failed = [_render.failed(provider, i, error) for i in message_ids]
                echo_document(_render.as_json(failed, State.secret))
            raise
    if as_json:
        echo_document(_render.as_json(reports, State.secret))
    else:
        for report in reports:
            click.echo(printable(_render.line(report), State.secret))
    sys.exit(_exit.for_lookups(reports))


@cli.command(epilog=_exit.help_text())
@_provider_option
@click.argument("message_ids", nargs=-1, required=True)
@api_key_option
@base_url_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    help=(
        "Seconds to keep polling (default: the provider's); the last poll comes a second "
        "before the end, if that is no sooner than the provider's shortest interval after the "
        "poll before."
    ),
)
@click.option(
    "--clock-speed",
    type=click.FloatRange(min=1),
    default=1.0,
    hidden=True,
    help="Run polling time this many times faster (sandbox demos and tests).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print only one JSON document at the end: each id's last report, errors included.",
)
@click.pass_context
def watch(
    ctx: click.Context,
    provider: str,
    message_ids: tuple[str, ...],
    api_key: str | None,
    base_url: str | None,
    timeout: float | None,
    clock_speed: float,
    as_json: bool,
) -> None:
    """Poll until every message is final: a line per change, each id on its own."""
    from sms_status.cli import _render, _watch

    key = read_api_key(provider, api_key)
    # Tests hand in the sandbox's clock as the context object (CliRunner.invoke(obj=...)).
    clock = ctx.obj if isinstance(ctx.obj, _watch.WatchClock) else _watch.FastClock(clock_speed)
    reports = _watch.run(
        provider,
        key,
        base_url,
        list(message_ids),
        timeout=timeout,
        clock=clock,
        quiet=as_json,
    )
    if as_json:
        echo_document(_render.as_json(reports, State.secret))
    sys.exit(_exit.for_watch(reports))


@cli.command(epilog=_exit.help_text())
@click.option("--provider", "-p", type=click.Choice(HISTORY), default=HISTORY[0])
@click.option("--phone", help="E.164 phone number.")
@click.option("--reference", help="Reference key given at send time.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Most messages to list.",
)
@api_key_option
@base_url_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def history(
    provider: str,
    phone: str | None,
    reference: str | None,
    limit: int,
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """List a phone number's or reference key's messages, newest first."""
    from sms_status.cli import _render
    from sms_status.client import HistoryClient
    from sms_status.errors import SmsStatusError

    if (phone is None) == (reference is None):
        fail("give exactly one of --phone and --reference")
    client = _connect(provider, api_key, base_url)
    assert isinstance(client, HistoryClient)  # the registry's `history` capability
    reports: list[StatusReport] = []
    failure: SmsStatusError | None = None
    with client:
        walk = (
            client.iter_history_by_phone(phone, limit=limit)
            if phone is not None
            else client.iter_history_by_reference(reference or "", limit=limit)
        )
        try:
            reports.extend(walk)
        except SmsStatusError as exc:  # a later page failed: the pages read are still shown
            if not reports:
                raise
            failure = exc
    if as_json:
        echo_document(_render.as_json(reports, State.secret))
    else:
        for report in reports:
            click.echo(printable(_render.line(report), State.secret))
        if not reports:
            click.echo(printable(f"no messages for {phone or reference}", ""), err=True)
    if failure is not None:
        raise failure  # its line on stderr, and its exit code
    sys.exit(_exit.for_lookups(reports))


@cli.command(epilog=_exit.help_text())
@click.option(
    "--provider", "-p", type=click.Choice([*PROVIDERS, "all"]), default="all", show_default=True
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="First port; the others follow it (0: any free ports).",
)
def sandbox(provider: str, port: int) -> None:
    """Run local sandbox servers in the foreground until Ctrl-C."""
    from sms_status.cli import _sandbox

    keys: Sequence[str] = PROVIDERS if provider == "all" else (provider,)
    _sandbox.serve_forever(keys, port)


@cli.command(epilog=_exit.help_text())
@click.option(
    "--speed",
    type=click.FloatRange(min=1),
    default=50.0,
    show_default=True,
    help="How much faster than real time the sandbox clock runs.",
)
def demo(speed: float) -> None:
    """Run every command against the built-in sandbox: no account needed."""
    from sms_status.cli import _demo

    sys.exit(_demo.run(speed=speed))


# A command kept in its own module (a plain `@click.command()`, heavy imports inside the
# function) is registered with one line here: `cli.add_command(_module.command)`. The group
# gives it --debug and the one-line error handling.
cli.add_command(listen)
cli.add_command(track)


def main() -> None:
    """Console entry point."""
    run: Callable[..., object] = cli
    run(prog_name="sms-status")
