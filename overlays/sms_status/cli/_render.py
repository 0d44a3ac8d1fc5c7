"""How reports look on a terminal: one plain line each, a rich table, or one JSON document.

Every server string goes through `_terminal.safe` in lines and tables; JSON needs nothing
more, since `json.dumps` escapes every control character (and lone surrogates).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from sms_status.cli._terminal import mask, masked, safe
from sms_status.report import DeliveryState, StatusReport

if TYPE_CHECKING:
    from rich.table import Table

    from sms_status.errors import SmsStatusError


def failed(provider: str, message_id: str, error: SmsStatusError) -> StatusReport:
    """The report shown for an id that could not be looked up (as `get_statuses` gives)."""
    return StatusReport(
        provider=provider,
        message_id=message_id,
        state=DeliveryState.UNKNOWN,
        is_final=False,
        provider_status="",
        error=error,
    )


def as_json(reports: list[StatusReport], secret: str = "") -> str:
    """One document of `reports`, `secret` masked in each string before encoding: masked in
    the encoded text, a short key broke the JSON itself (`"is_final": fals***`)."""
    return json.dumps({"reports": [masked(r.to_dict(), secret) for r in reports]}, indent=2)


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def line(report: StatusReport) -> str:
    """One line a support engineer can read and grep."""
    message_id = safe(report.message_id)
    if report.error is not None:
        return f"{message_id}  ERROR  {safe(str(report.error))}"
    final = "final" if report.is_final else "in-flight"
    cost = f"  cost={report.cost}" if report.cost is not None else ""
    counts = report.recipients
    recipients = (
        f"  recipients={counts.delivered}/{counts.total} delivered, {counts.failed} failed"
        if counts
        else ""
    )
    return (
        f"{message_id}  {report.state.value}  {final}  ({safe(report.provider_status)})"
        f"  created={_when(report.created_at)}  updated={_when(report.updated_at)}"
        f"  delivered={_when(report.delivered_at)}{cost}{recipients}"
    )


_STYLE = {
    "delivered": "green",
    "read": "green",
    "pending": "yellow",
    "sent": "cyan",
    "unrecognized": "magenta",
    "unknown": "magenta",
}


def table(reports: list[StatusReport], title: str | None = None, secret: str = "") -> Table:
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=title)
    for column in ("message id", "state", "final", "provider status", "updated", "cost"):
        grid.add_column(column)
    for r in reports:
        style = _STYLE.get(r.state.value, "red")
        # Server text goes in as Text, never as markup: "[red]" in a status stays literal.
        grid.add_row(
            Text(safe(mask(r.message_id, secret))),
            Text(r.state.value, style=style) if r.error is None else Text("error", style="red"),
            "yes" if r.is_final else "no",
            Text(safe(mask(r.provider_status if r.error is None else str(r.error), secret))),
            _when(r.updated_at or r.delivered_at),
            str(r.cost) if r.cost is not None else "-",
        )
    return grid
