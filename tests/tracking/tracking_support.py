"""Types the tracker's tests share (a module of its own: `conftest` is not importable by
name when several test folders have one)."""

from __future__ import annotations

from collections.abc import Callable

from sms_status import tracking

MakeTracker = Callable[..., tracking.Tracker]
"""`make_tracker(clients={...}, **options)`, the fixture of tests/tracking/conftest.py."""
