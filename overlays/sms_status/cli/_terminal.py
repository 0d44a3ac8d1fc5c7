"""What reaches the terminal: server text made harmless, the API key masked.

Every string a server sent (statuses, codes, ids, error messages, log lines) goes through
`safe` before it is printed: an ESC, CR or bidi override in a status could otherwise rewrite
what the user sees ("m1 delivered final" for an unrecognised status), and a lone surrogate
cannot be encoded at all.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import Any, cast

import click

from sms_status._redact import redact

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 (ESC, CR, LF, BS, ...), DEL and C1 (CSI, OSC, ST as one byte)
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi marks, embeddings, overrides
    "\u2028\u2029"  # line and paragraph separators
    "\ud800-\udfff]"  # lone surrogates: a terminal cannot encode them
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str) -> str:
    """`text` with every control, escape, bidi and surrogate character shown escaped (`\\x1b`),
    so it prints on one line exactly as received."""
    return _UNSAFE.sub(_escape, text)


def shown(text: str, encoding: str | None) -> str:
    """`text` as an output in `encoding` can take it: what it cannot encode is escaped
    (`\xe9`), where writing it raised (a terminal whose locale is not UTF-8)."""
    encoding = encoding or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:  # an encoding Python does not know: ASCII is safe
        return text.encode("ascii", "backslashreplace").decode("ascii")
    return text


def tolerant_stdout() -> None:
    """Standard output that escapes what its encoding cannot take (`\xe9`), as standard
    error does, instead of raising mid-line: on a terminal whose locale is not UTF-8, rich's
    own "…" (a cut table cell) or an id with an "é" ended `watch` and `track` before any
    result. A UTF-8 output, or one that cannot be reconfigured (a test's), is left alone."""
    stream = sys.stdout
    encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "")
    reconfigure = getattr(stream, "reconfigure", None)
    if encoding not in ("utf8", "utf8sig") and reconfigure is not None:
        reconfigure(errors="backslashreplace")


DOCUMENT_CHUNK = 65536
"""Characters of a document written (and flushed) at a time: about a pipe's buffer."""


def echo_document(text: str) -> None:
    """`click.echo` of a document that may run to megabytes (`status --json` of 5,000 ids),
    a chunk at a time, each flushed. Written in one go into a pipe whose reader had left,
    CPython's buffered stdout wrote a part and raised nothing: the rest was dropped and
    the exit code said nothing of it (not 141)."""
    import click

    for start in range(0, len(text), DOCUMENT_CHUNK):
        click.echo(text[start : start + DOCUMENT_CHUNK], nl=False)
    click.echo("")


def dot(encoding: str | None) -> str:
    """The separator of a status line: a middle dot where the output can show one."""
    return " \u00b7 " if shown("\u00b7", encoding) == "\u00b7" else " - "


def safe_lines(text: str) -> str:
    """`safe` for each line of a multi-line text (a traceback), keeping its line breaks."""
    return "\n".join(safe(part) for part in text.split("\n"))


def mask(text: str, secret: str) -> str:
    """`text` without `secret` (raw or percent-encoded), as the SDK scrubs its own strings."""
    return redact(text, secret)


def masked(value: object, secret: str) -> Any:
    """A JSON value with `secret` masked in every string (a report's dict, an outcome's)."""
    if isinstance(value, str):
        return mask(value, secret) if secret else value
    if isinstance(value, dict):
        items = cast("dict[str, object]", value).items()
        return {key: masked(item, secret) for key, item in items}
    if isinstance(value, list):
        return [masked(item, secret) for item in cast("list[object]", value)]
    return value


def printable(text: str, secret: str) -> str:
    """Any text for stderr (one line or a traceback): key masked, each line made safe."""
    return safe_lines(mask(text, secret))


class _Redact(logging.Filter):
    """Rewrites each record's message with the key masked and its args folded in, so no
    handler can format the key back from the args (httpcore logs response headers there)."""

    def __init__(self, secret: Callable[[], str]) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage(), self._secret())
        record.args = None
        return True


class _ToStderr(logging.Handler):
    """Writes to the current stderr (click's, so tests capture it), each line made safe."""

    def __init__(self, secret: Callable[[], str]) -> None:
        super().__init__(logging.DEBUG)
        self._secret = secret

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)  # the traceback too, if the record has one
        except Exception:
            self.handleError(record)
            return
        click.echo(printable(text, self._secret()), err=True)


DEBUG_LOGGERS = ("sms_status", "httpx", "httpcore")
"""What --debug shows: the SDK's own lines and the HTTP stack's (requests, headers)."""


class DebugLog:
    """`--debug` logging for one command run; `close` puts the loggers back as they were."""

    def __init__(self, secret: Callable[[], str]) -> None:
        self._handler = _ToStderr(secret)
        self._handler.addFilter(_Redact(secret))
        self._handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self._levels: dict[str, int] = {}
        for name in DEBUG_LOGGERS:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.setLevel(logging.DEBUG)
            logger.addHandler(self._handler)

    def close(self) -> None:
        for name, level in self._levels.items():
            logger = logging.getLogger(name)
            logger.removeHandler(self._handler)
            logger.setLevel(level)
