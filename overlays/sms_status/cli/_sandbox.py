"""`sms-status sandbox`: the local provider servers in the foreground until Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Sequence

import click


def serve_forever(providers: Sequence[str], first_port: int) -> None:
    from sms_status.testing import Sandbox

    started: list[Sandbox] = []
    try:
        for offset, key in enumerate(providers):
            sandbox = Sandbox(key)
            sandbox.start(port=first_port + offset if first_port else 0)
            started.append(sandbox)
            click.echo(f"{key:10} {sandbox.base_url}  api key: {sandbox.api_key}")
        click.echo("Serving; press Ctrl-C to stop.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        for sandbox in started:
            sandbox.stop()
        click.echo("Stopped.")
