"""`sms-status track --webhook-port`: the provider's webhooks received in the tracker's process.

The options checked as `listen` checks them, the port bound before anything is stored, and
`webhooks.app(..., on_reports=tracker.ingest_many)` served under uvicorn from a thread.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import attrs
import click

if TYPE_CHECKING:
    from sms_status.cli._track_view import Progress
    from sms_status.tracking import Tracker

SIGNED = ("telecom23", "seven", "lisoloo")


@attrs.frozen
class WebhookOptions:
    port: int
    host: str
    secret: str | None
    url: str | None


def webhook_options(
    provider: str, port: int | None, host: str, secret: str | None, url: str | None
) -> WebhookOptions | None:
    """`--webhook-port`/`--secret` checked as `listen` checks them (a usage error if not)."""
    variable = f"SMS_STATUS_{provider.upper()}_WEBHOOK_SECRET"
    if port is None:
        if secret is not None or url is not None:
            raise click.UsageError("--secret and --webhook-url go with --webhook-port")
        return None
    secret = secret or os.environ.get(variable) or None
    if provider in SIGNED and not secret:
        raise click.UsageError(f"{provider} webhooks are signed: pass --secret or set {variable}")
    if provider not in SIGNED and secret:
        raise click.UsageError(f"{provider} documents no webhook signature: drop --secret")
    return WebhookOptions(port, host, secret, url)


def bind(options: WebhookOptions) -> socket.socket:
    """The webhook receiver's socket, bound before anything is stored: a busy port is a usage
    error that leaves the store as it was."""
    from sms_status.cli._listen import listening_socket

    return listening_socket(options.host, options.port)


@contextlib.contextmanager
def _receiving(app: Any, listener: socket.socket, host: str) -> Generator[str]:
    """Serve `app` under uvicorn from a thread on `listener`; yields its origin once it
    accepts connections."""
    import uvicorn

    from sms_status.cli._listen import http_origin
    from sms_status.webhooks._app import DRAIN_SECONDS

    port = listener.getsockname()[1]
    # A request still waiting for its batch's store write at shutdown is cut after as long as
    # a receiver's drain waits (uvicorn waits for ever by default): unanswered, it is retried.
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", timeout_graceful_shutdown=int(DRAIN_SECONDS)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="sms-status-track-webhooks"
    )
    thread.daemon = True
    thread.start()
    try:
        while not server.started:  # uvicorn's own readiness flag
            if not thread.is_alive():
                raise RuntimeError("the webhook receiver failed to start")
            time.sleep(0.002)
        yield http_origin(host, port)
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


@contextlib.contextmanager
def serve(
    provider: str,
    options: WebhookOptions,
    listener: socket.socket,
    tracker: Tracker,
    progress: Progress,
    wake: threading.Event,
    clock: Callable[[], float],
) -> Generator[str]:
    """`webhooks.app(provider, on_reports=tracker.ingest_many, acknowledge="after_report")`
    served in this process (a 2xx once the report is in the store; the reports that arrive
    together, in one transaction); a report that changed the store sets `wake`. Yields the
    origin it receives on."""
    from sms_status import webhooks

    def on_reports(events: list[webhooks.WebhookEvent]) -> None:
        progress.on_report(len(events))
        if any(tracker.ingest_many(events)):
            wake.set()  # the tracker looks again at once

    app = webhooks.app(
        provider,
        secret=options.secret,
        on_reports=on_reports,
        url=options.url,
        clock=clock,
        acknowledge="after_report",  # the provider retries what the store did not take
    )
    # Each refused delivery on stderr, as `listen` prints them: a wrong --secret (every
    # delivery a 401) said nothing, and the first poll is a quarter of an hour away. After
    # uvicorn's Config, whose logging set-up closes the handlers there are.
    from sms_status.cli._listen import reporting_refusals

    with _receiving(app, listener, options.host) as origin, reporting_refusals():
        progress.receiving = True
        yield origin
