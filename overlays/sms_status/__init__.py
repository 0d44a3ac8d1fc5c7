"""sms_status: delivery status of SMS messages from five providers, in one vocabulary.

import sms_status

with sms_status.connect("telecom23", api_key="sk_test_…") as client:
    report = client.get_status("api_42_1743667200123456789_a3f8b2c1d9e45f67")
    print(report.state, report.is_final)
"""

from sms_status import errors
from sms_status._flows import RetryEvent
from sms_status._registry import PROVIDERS
from sms_status.client import (
    AsyncHistoryClient,
    AsyncStatusClient,
    HistoryClient,
    StatusClient,
    connect,
    connect_async,
)
from sms_status.pacing import RateLimit, RateLimiter, TokenBucket
from sms_status.report import DeliveryState, RecipientCounts, StatusReport

__version__ = "0.1.0"

__all__ = [
    "PROVIDERS",
    "AsyncHistoryClient",
    "AsyncStatusClient",
    "DeliveryState",
    "HistoryClient",
    "RateLimit",
    "RateLimiter",
    "RecipientCounts",
    "RetryEvent",
    "StatusClient",
    "StatusReport",
    "TokenBucket",
    "connect",
    "connect_async",
    "errors",
]
