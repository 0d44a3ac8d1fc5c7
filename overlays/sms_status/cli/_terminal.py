"""What reaches the terminal: server text made harmless, the API key masked.

Every string a server sent (statuses, codes, ids, error messages, log lines) goes through
`safe` before it is printed: an ESC, CR or bidi override in a status could otherwise rewrite
what the user sees ("m1 delivered final" for an unrecognised status), and a lone surrogate
cannot be encoded at all.
"""

from __future__ import annotations

import re

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


def safe_lines(text: str) -> str:
    """`safe` for each line of a multi-line text (a traceback), keeping its line breaks."""
    return "\n".join(safe(part) for part in text.split("\n"))


def mask(text: str, secret: str) -> str:
    """`text` without `secret`, also as it appears percent-encoded in a URL."""
    if not secret:
        return text
    from urllib.parse import quote

    for form in dict.fromkeys((secret, quote(secret, safe=""), quote(secret))):
        text = text.replace(form, "***")
    return text


def printable(text: str, secret: str) -> str:
    """Any text for stderr (one line or a traceback): key masked, each line made safe."""
    return safe_lines(mask(text, secret))
