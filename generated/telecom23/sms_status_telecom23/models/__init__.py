"""Contains all the data models used in inputs/outputs"""

from .delivery_webhook import DeliveryWebhook
from .error import Error
from .message_details import MessageDetails
from .message_status import MessageStatus
from .status_response import StatusResponse

__all__ = (
    "DeliveryWebhook",
    "Error",
    "MessageDetails",
    "MessageStatus",
    "StatusResponse",
)
