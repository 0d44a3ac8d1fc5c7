"""`sms-status track`'s input: the --deadline duration and the ids of IDS_FILE, each checked
before anything is stored."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

import click

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(text: str) -> float:
    """Seconds in "90s", "30m", "72h", "3d", "1h30m" or a bare number of seconds; ValueError
    unless it is a finite number > 0 and at most 100 years (the tracker's limit)."""
    from sms_status.tracking._rules import MAX_SPAN

    value = text.strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        parts = _PART.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise ValueError(
                f"{text!r} is not a duration: use a number and a unit, e.g. 90s, 30m, 72h, 3d"
            ) from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{text!r} is not a duration > 0")
    if seconds > MAX_SPAN:
        raise ValueError(f"{text!r} is longer than 100 years")
    return seconds


class Duration(click.ParamType[float]):
    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


def read_ids(lines: Iterable[bytes], provider: str) -> list[str]:
    """The ids of an IDS_FILE, one a line of UTF-8 (a BOM first is dropped; surrounding
    blanks dropped, blank lines skipped, repeats once), each checked as the client would
    before anything is stored: ValueError names the line. Decoded a line at a time, so a
    byte that is not UTF-8 is named by its line and column, not by an offset in a chunk."""
    from sms_status import _validation
    from sms_status._registry import load_provider

    batch = load_provider(provider).batch
    separator = batch.separator if batch is not None else None
    ids: dict[str, None] = {}  # in file order, each once
    for number, raw in enumerate(_universal(lines), start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            bad = raw[error.start : error.start + 1].hex()
            raise ValueError(
                f"line {number}: not UTF-8 text (byte 0x{bad} at column {error.start + 1})"
            ) from None
        value = line.strip()
        if not value:
            continue
        try:
            ids[_validation.message_id(value, separator=separator)] = None
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from None
    return list(ids)


def _universal(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Binary lines split as text mode splits them: at "\n", "\r\n" and a lone "\r" (old Mac
    exports, some spreadsheets), so line numbers count as an editor shows them."""
    for raw in lines:
        body = raw[:-2] if raw.endswith(b"\r\n") else raw.rstrip(b"\n")
        yield from body.split(b"\r") if b"\r" in body else (body,)
