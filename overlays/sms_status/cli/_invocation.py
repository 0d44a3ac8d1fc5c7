"""What one `sms-status` invocation knows: the secret to mask, the debug log, the API key
(and the `--api-key`/`--base-url` options every calling command takes).

Kept apart from the command group so a command in its own module (`track`) reads its key
the way the group's commands do, without importing the group.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import click

from sms_status.cli import _exit
from sms_status.cli._terminal import DebugLog, printable

api_key_option = click.option(
    "--api-key",
    envvar=None,
    help=(
        "API key. Prefer the environment variable SMS_STATUS_<PROVIDER>_API_KEY: a key on "
        "the command line is seen by other users in the process list and kept in shell history."
    ),
)
base_url_option = click.option(
    "--base-url",
    help=(
        "Origin to call instead of the provider's production one "
        "(default: $SMS_STATUS_<PROVIDER>_BASE_URL)."
    ),
)


class State:
    """One invocation's settings; `_Commands.main` resets them (tests invoke many times)."""

    secret = ""
    debug: DebugLog | None = None


def fail(message: str, code: int = _exit.USAGE) -> NoReturn:
    click.echo(f"error: {printable(message, State.secret)}", err=True)
    sys.exit(code)


def read_api_key(provider: str, given: str | None) -> str:
    """`given`, else $SMS_STATUS_<PROVIDER>_API_KEY, kept as the secret to mask; without
    one a usage error (exit 3) naming the variable."""
    variable = f"SMS_STATUS_{provider.upper()}_API_KEY"
    key = given or os.environ.get(variable, "")
    if not key:
        fail(f"no API key for {provider}: set {variable} (or pass --api-key)")
    State.secret = key
    return key
