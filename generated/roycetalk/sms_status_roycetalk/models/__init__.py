"""Contains all the data models used in inputs/outputs"""

from .batch_status_response import BatchStatusResponse
from .batch_summary import BatchSummary
from .error_detail import ErrorDetail
from .error_response import ErrorResponse
from .message_details import MessageDetails
from .message_list_response import MessageListResponse
from .message_metadata import MessageMetadata
from .message_status import MessageStatus
from .message_status_response import MessageStatusResponse
from .response_meta import ResponseMeta

__all__ = (
    "BatchStatusResponse",
    "BatchSummary",
    "ErrorDetail",
    "ErrorResponse",
    "MessageDetails",
    "MessageListResponse",
    "MessageMetadata",
    "MessageStatus",
    "MessageStatusResponse",
    "ResponseMeta",
)
