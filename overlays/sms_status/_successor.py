"""A deprecated status endpoint and its successor (seven's /api/status and its logbook).

Clients use the status endpoint while it answers, with a DeprecationWarning once per process
(pointed at the user's line), and move to the successor for good, per client, once the
provider's `Successor.is_gone` says the endpoint was switched off; `connect(key,
lookup=name)` chooses up front (`lookup_state`).
"""

from __future__ import annotations

import inspect
import logging
import os
import warnings
from collections.abc import Sequence

from sms_status._provider import Provider, RequestKwargs
from sms_status._request import (
    Context,
    Flow,
    LookupState,
    failed_report,
    read_or_malformed,
    request_with_retries,
)
from sms_status.errors import ApiError, AuthenticationError, NotFoundError, SmsStatusError
from sms_status.report import StatusReport

log = logging.getLogger("sms_status")


def lookup_state(provider: Provider, choice: str | None) -> LookupState:
    """The starting state for `connect(..., lookup=choice)`: None or "status" start on the
    status endpoint; the successor's name (seven: "logbook") starts on the successor."""
    names = ("status",) if provider.successor is None else ("status", provider.successor.name)
    if choice is not None and choice not in names:
        raise ValueError(
            f"lookup must be one of {', '.join(map(repr, names))} for {provider.key}, "
            f"got {choice!r}"
        )
    return LookupState(on_successor=choice not in (None, "status"), chosen=choice is not None)


_deprecation_warned: set[str] = set()
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _first_caller_outside_the_package() -> int:
    """The `stacklevel` that points a warning at the user's line (sync or async), so
    Python's default filters show it when that line is in `__main__`."""
    current = inspect.currentframe()
    level, frame = 1, current.f_back if current is not None else None
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


class StatusEndpointGone(Exception):
    """The status endpoint was switched off; the client has moved to the successor."""


def status_call(ctx: Context, request: RequestKwargs, deadline: float | None) -> Flow[object]:
    """`request_with_retries` on the status endpoint; for a provider with a successor, warn
    that the endpoint is deprecated (once per process, unless the user chose it with
    `lookup="status"`) and move this client over when it is gone."""
    if ctx.provider.successor is None:  # the flow itself: no generator layer of our own
        return request_with_retries(ctx, request, deadline=deadline)
    return _status_call_with_successor(ctx, request, deadline)


def _status_call_with_successor(
    ctx: Context, request: RequestKwargs, deadline: float | None
) -> Flow[object]:
    successor = ctx.provider.successor
    assert successor is not None
    if not ctx.lookup.chosen and ctx.provider.key not in _deprecation_warned:
        _deprecation_warned.add(ctx.provider.key)
        level = _first_caller_outside_the_package()
        warnings.warn(successor.deprecation, DeprecationWarning, stacklevel=level)
    try:
        return (yield from request_with_retries(ctx, request, deadline=deadline))
    except ApiError as exc:
        if not successor.is_gone(exc):
            raise
        ctx.lookup.on_successor = True
        log.warning(
            "%s: the status endpoint is gone (HTTP %d); this client uses the %s from now on",
            ctx.provider.key,
            exc.status_code,
            successor.name,
        )
        raise StatusEndpointGone from exc


def successor_status(
    ctx: Context, message_id: str, *, deadline: float | None = None
) -> Flow[StatusReport]:
    """One id looked up on the successor endpoint (seven: the logbook, one id a request)."""
    successor = ctx.provider.successor
    assert successor is not None
    request = successor.request(message_id)
    if request is None:  # nothing was sent: no HTTP status to report but a 404's
        raise NotFoundError(
            f"the {successor.name} cannot hold this id (not asked: {successor.ids})",
            provider=ctx.provider.key,
            status_code=404,
            error_code="NOT_FOUND",
        )
    data = yield from request_with_retries(ctx, request, deadline=deadline)
    report = read_or_malformed(ctx, data, lambda: successor.read(message_id, data))
    if report is not None:
        return report
    raise NotFoundError(
        f"the {successor.name} has no message with this id",
        provider=ctx.provider.key,
        status_code=200,
        error_code="NOT_FOUND",
    )


def successor_statuses(
    ctx: Context, message_ids: Sequence[str], *, deadline: float | None = None
) -> Flow[list[StatusReport]]:
    """Many ids on the successor, one request each, in input order; as in a batch, only an
    authentication error stops the run, any other failure is that id's `error`."""
    results: dict[str, StatusReport] = {}
    for message_id in dict.fromkeys(message_ids):
        try:
            results[message_id] = yield from successor_status(ctx, message_id, deadline=deadline)
        except AuthenticationError:
            raise
        except SmsStatusError as exc:
            results[message_id] = failed_report(ctx, message_id, exc)
    return [results[i] for i in message_ids]
