"""Exit codes of `sms-status`: one meaning each, so scripts can branch on them.

When several ids end differently, the most pressing code wins: a usage or key problem first
(nothing else can be trusted), then a message that failed, then "could not tell", then a
timeout.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sms_status.report import StatusReport
    from sms_status.tracking import Counts

OK = 0
FAILED = 1
TIMEOUT = 2
USAGE = 3
AUTHENTICATION = 4
UNAVAILABLE = 5
INTERNAL = 70  # sysexits EX_SOFTWARE
INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C
OUTPUT_FAILED = 74  # sysexits EX_IOERR
OUTPUT_CLOSED = 141  # 128 + SIGPIPE, as shells report a writer whose reader left
TERMINATED = 143  # 128 + SIGTERM

OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.ENXIO})
"""What a write to standard output fails with when it cannot be written (`OUTPUT_FAILED`):
a full disk or quota, a file too large, a terminal gone."""

TABLE: tuple[tuple[int, str], ...] = (
    (OK, "done: every lookup answered (watch, track: every message delivered)"),
    (FAILED, "a message ended undelivered, or the provider does not know an id"),
    (TIMEOUT, "watch, track: the deadline passed before every message was final"),
    (USAGE, "usage: bad option or id, no API key, missing extra, busy port or store"),
    (AUTHENTICATION, "the provider refused the API key"),
    (
        UNAVAILABLE,
        "could not tell: network, timeout, rate limit, server or malformed answer; "
        "track: the store failed",
    ),
    (INTERNAL, "a bug in sms-status (run with --debug and report it)"),
    (OUTPUT_FAILED, "the output could not be written (a full disk, a terminal gone)"),
    (INTERRUPTED, "interrupted (Ctrl-C); track keeps its state: run it again to resume"),
    (OUTPUT_CLOSED, "the output was closed early (piped into head)"),
    (TERMINATED, "listen: stopped by SIGTERM (kill, docker stop), its count printed"),
)

_PRECEDENCE = (
    INTERNAL,
    TERMINATED,
    INTERRUPTED,
    OUTPUT_CLOSED,
    OUTPUT_FAILED,
    USAGE,
    AUTHENTICATION,
    FAILED,
    UNAVAILABLE,
    TIMEOUT,
    OK,
)


def help_text() -> str:
    """The table for `--help` (click keeps a paragraph that starts with \\b as written)."""
    rows = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in TABLE)
    return f"\b\nExit codes:\n{rows}"


def worst(codes: Iterable[int]) -> int:
    present = set(codes)
    return next((code for code in _PRECEDENCE if code in present), OK)


def for_error(error: BaseException) -> int:
    from sms_status import errors

    if isinstance(error, errors.AuthenticationError):
        return AUTHENTICATION
    if isinstance(error, errors.NotFoundError):
        return FAILED
    if isinstance(error, errors.MissingProviderError | ValueError | TypeError):
        return USAGE
    if isinstance(error, errors.SmsStatusError):
        return UNAVAILABLE
    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED
    return INTERNAL


def for_lookups(reports: Iterable[StatusReport]) -> int:
    """`status` and `history`: OK when every id was answered, whatever its state."""
    return worst(for_error(r.error) for r in reports if r.error is not None)


def for_watch(reports: Iterable[StatusReport]) -> int:
    """`watch`: OK only when every message was delivered."""

    def one(report: StatusReport) -> int:
        if report.error is not None:
            return for_error(report.error)
        if not report.is_final:
            return TIMEOUT
        return OK if report.is_delivered else FAILED

    return worst(one(r) for r in reports)


def for_track(counts: Counts) -> int:
    """`track`: over every message settled in the store, OK only when each was delivered; a
    message undelivered or unknown to the provider outranks one that hit its deadline."""
    delivered = counts.by_state.get("delivered", 0) + counts.by_state.get("read", 0)
    failed = counts.by_reason.get("not_found", 0) + counts.by_reason.get("final", 0) - delivered
    codes: list[int] = []
    if failed > 0:
        codes.append(FAILED)
    if counts.by_reason.get("deadline", 0) > 0:
        codes.append(TIMEOUT)
    return worst(codes)
