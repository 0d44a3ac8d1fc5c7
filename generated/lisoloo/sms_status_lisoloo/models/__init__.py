"""Contains all the data models used in inputs/outputs"""

from .error_detail import ErrorDetail
from .error_envelope import ErrorEnvelope
from .message_status import MessageStatus
from .message_status_data import MessageStatusData
from .message_status_response import MessageStatusResponse
from .not_found_detail import NotFoundDetail
from .webhook_event import WebhookEvent
from .webhook_event_data import WebhookEventData

__all__ = (
    "ErrorDetail",
    "ErrorEnvelope",
    "MessageStatus",
    "MessageStatusData",
    "MessageStatusResponse",
    "NotFoundDetail",
    "WebhookEvent",
    "WebhookEventData",
)
