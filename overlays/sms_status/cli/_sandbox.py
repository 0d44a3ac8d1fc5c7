"""`sms-status sandbox`: the local provider servers in the foreground until Ctrl-C."""

from __future__ import annotations

import errno
import signal
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sms_status.testing import Sandbox


class PortUnavailableError(ValueError):
    """A port the user chose cannot be listened on (a usage problem, shown as one line)."""


def _try_it(sandbox: Sandbox) -> str:
    prefix = f"SMS_STATUS_{sandbox.key.upper()}"
    return (
        f"Try: {prefix}_API_KEY={sandbox.api_key} {prefix}_BASE_URL={sandbox.base_url} "
        f"sms-status status -p {sandbox.key} {sandbox.provider.examples[0].id}"
    )


def serve_forever(providers: Sequence[str], first_port: int) -> None:
    from sms_status.testing import Sandbox

    if first_port and first_port + len(providers) - 1 > 65535:
        raise PortUnavailableError(
            f"--port {first_port} leaves no room for {len(providers)} servers "
            f"(ports {first_port}-{first_port + len(providers) - 1}); pick one <= "
            f"{65536 - len(providers)}"
        )
    started: list[Sandbox] = []
    try:
        for offset, key in enumerate(providers):
            sandbox = Sandbox(key)
            port = first_port + offset if first_port else 0
            try:
                sandbox.start(port=port)
            except OSError as exc:
                reason = "it is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
                raise PortUnavailableError(
                    f"cannot serve {key} on port {port}: {reason or exc} "
                    "(choose another --port, or 0 for any free ports)"
                ) from exc
            started.append(sandbox)
            examples = ", ".join(example.id for example in sandbox.provider.examples)
            click.echo(
                f"{key:10} {sandbox.base_url}  api key: {sandbox.api_key}  example ids: {examples}"
            )
        click.echo(_try_it(started[0]))
        click.echo("Serving; press Ctrl-C to stop.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
        stop.wait()  # a SIGTERM ends it (exit 0); Ctrl-C too, as an interrupt (exit 130)
    finally:
        for sandbox in started:
            sandbox.stop()
        if started:
            click.echo("Stopped.")
