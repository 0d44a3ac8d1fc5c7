"""The `sms-status` command: status, watch, history, sandbox and demo.

Only click is imported up front so `sms-status --help` answers at once; the SDK, httpx and
rich load inside the command that needs them.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

import click

from sms_status._registry import PROVIDERS
from sms_status.cli._terminal import printable

if TYPE_CHECKING:
    from sms_status.client import StatusClient

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_TIMEOUT = 2
EXIT_USAGE = 3

_provider_option = click.option(
    "--provider",
    "-p",
    type=click.Choice(PROVIDERS),
    required=True,
    help="Provider key.",
)
_api_key_option = click.option(
    "--api-key",
    envvar=None,
    help="API key (default: $SMS_STATUS_<PROVIDER>_API_KEY).",
)
_base_url_option = click.option(
    "--base-url", help="Origin to call instead of the provider's production one."
)


class _State:
    debug = False
    secret = ""


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"error: {printable(message, _State.secret)}", err=True)
    sys.exit(code)


def _api_key(provider: str, given: str | None) -> str:
    variable = f"SMS_STATUS_{provider.upper()}_API_KEY"
    key = given or os.environ.get(variable, "")
    if not key:
        _fail(f"no API key for {provider}: pass --api-key or set {variable}")
    _State.secret = key
    return key


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
    """Any failure as one clear line and an exit code; --debug adds the traceback."""
    from sms_status import errors

    _show_traceback(error)
    if isinstance(error, errors.MissingProviderError):
        _fail(str(error))
    if isinstance(error, errors.SmsStatusError):
        _fail(f"{error} — {_advice(error)}", _exit_code(error))
    if isinstance(error, ValueError):
        _fail(str(error))
    # A bug of ours: still one line.
    _fail(
        f"unexpected {type(error).__name__}: {error} (run with --debug and report it)",
        EXIT_FAILED,
    )


class _Commands(click.Group):
    """The command group: every failure inside any command ends as one line."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            _one_line(error)


def _show_traceback(error: BaseException) -> None:
    if _State.debug:
        text = "".join(traceback.format_exception(error)).rstrip("\n")
        click.echo(printable(text, _State.secret), err=True)


def _exit_code(error: BaseException) -> int:
    from sms_status import errors

    return EXIT_USAGE if isinstance(error, errors.AuthenticationError) else EXIT_FAILED


def _connect(provider: str, api_key: str | None, base_url: str | None) -> StatusClient:
    import sms_status

    key = sms_status.provider_key(provider)
    return sms_status.connect(key, api_key=_api_key(provider, api_key), base_url=base_url)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show details (the API key is masked).")
@click.version_option(package_name="sms-status")
def cli(debug: bool) -> None:
    """Delivery status of SMS messages from five providers, in one vocabulary."""
    _State.debug = debug
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
@_provider_option
@click.argument("message_ids", nargs=-1, required=True)
@_api_key_option
@_base_url_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def status(
    provider: str,
    message_ids: tuple[str, ...],
    api_key: str | None,
    base_url: str | None,
    as_json: bool,
) -> None:
    """Print the status of one or more messages."""
    from sms_status.cli import _render

    with _connect(provider, api_key, base_url) as client:
        if len(message_ids) == 1:
            reports = [client.get_status(message_ids[0])]
        else:
            reports = client.get_statuses(list(message_ids))
            fatal = next((r.error for r in reports if r.error is not None), None)
            if fatal is not None and all(r.error is not None for r in reports):
                raise fatal
    if as_json:
        click.echo(_render.as_json(reports))
    else:
        for report in reports:
            click.echo(_render.line(report))
    sys.exit(EXIT_FAILED if any(r.error is not None for r in reports) else EXIT_OK)


@cli.command()
@_provider_option
@click.argument("message_ids", nargs=-1, required=True)
@_api_key_option
@_base_url_option
@click.option("--timeout", type=click.FloatRange(min=0), help="Seconds (default: provider's).")
@click.option(
    "--clock-speed",
    type=click.FloatRange(min=1),
    default=1.0,
    hidden=True,
    help="Run polling time this many times faster (sandbox demos and tests).",
)
def watch(
    provider: str,
    message_ids: tuple[str, ...],
    api_key: str | None,
    base_url: str | None,
    timeout: float | None,
    clock_speed: float,
) -> None:
    """Poll until every message is final (exit 0 all delivered, 1 a failure, 2 timeout)."""
    from sms_status.cli import _watch

    key = _api_key(provider, api_key)
    clock = _watch.FastClock(clock_speed)
    code = _watch.run(
        provider,
        key,
        base_url,
        list(message_ids),
        timeout=timeout,
        clock=clock.monotonic,
        sleep=clock.async_sleep,
    )
    sys.exit(code)


@cli.command()
@click.option("--provider", "-p", type=click.Choice(["namirial"]), default="namirial")
@click.option("--phone", help="E.164 phone number.")
@click.option("--reference", help="Reference key given at send time.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@_api_key_option
@_base_url_option
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
    import sms_status
    from sms_status.cli import _render

    if (phone is None) == (reference is None):
        _fail("give exactly one of --phone and --reference")
    client = sms_status.connect("namirial", api_key=_api_key(provider, api_key), base_url=base_url)
    with client:
        walk = (
            client.iter_history_by_phone(phone, limit=limit)
            if phone is not None
            else client.iter_history_by_reference(reference or "", limit=limit)
        )
        reports = list(walk)
    if as_json:
        click.echo(_render.as_json(reports))
    else:
        for report in reports:
            click.echo(_render.line(report))


@cli.command()
@click.option(
    "--provider", "-p", type=click.Choice([*PROVIDERS, "all"]), default="all", show_default=True
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="First port (0: any).")
def sandbox(provider: str, port: int) -> None:
    """Run local sandbox servers in the foreground until Ctrl-C."""
    from sms_status.cli import _sandbox

    _sandbox.serve_forever(PROVIDERS if provider == "all" else (provider,), port)


@cli.command()
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


def main() -> None:
    """Console entry point."""
    run: Callable[..., object] = cli
    run(prog_name="sms-status")
