"""Contains all the data models used in inputs/outputs"""

from .channel import Channel
from .message_details import MessageDetails
from .message_list_response import MessageListResponse
from .message_status import MessageStatus
from .message_status_response import MessageStatusResponse
from .message_status_wrapper import MessageStatusWrapper
from .provider_info import ProviderInfo
from .reference import Reference
from .sms_info import SmsInfo
from .webhook_event import WebhookEvent

__all__ = (
    "Channel",
    "MessageDetails",
    "MessageListResponse",
    "MessageStatus",
    "MessageStatusResponse",
    "MessageStatusWrapper",
    "ProviderInfo",
    "Reference",
    "SmsInfo",
    "WebhookEvent",
)
