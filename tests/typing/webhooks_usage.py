"""A webhook receiver as a user writes one: mounted in Starlette, fed to a callback, drained
at shutdown (type-checked only)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

from sms_status import webhooks
from starlette.applications import Starlette
from starlette.routing import Mount, Route


def store(event: webhooks.WebhookEvent) -> None:
    print(event.provider, event.event_id, event.report.state.value)


receiver: webhooks.Receiver = webhooks.app("telecom23", secret="whsec_x", on_report=store)
stored_first: webhooks.Receiver = webhooks.app(
    "seven", secret="whsec_y", on_report=store, acknowledge="after_report"
)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncGenerator[None]:
    yield
    # Starlette does not pass its lifespan on to a mounted app: drain it here.
    drained: bool = await asyncio.to_thread(receiver.drain, 10.0)
    print("drained" if drained else "reports still running")


service = Starlette(
    routes=[Route("/hooks/telecom23", receiver), Mount("/hooks/seven", app=stored_first)],
    lifespan=lifespan,
)
