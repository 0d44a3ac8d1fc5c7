"""Contains all the data models used in inputs/outputs"""

from .error import Error
from .message_details import MessageDetails
from .message_status import MessageStatus
from .status_response import StatusResponse

__all__ = (
    "Error",
    "MessageDetails",
    "MessageStatus",
    "StatusResponse",
)
