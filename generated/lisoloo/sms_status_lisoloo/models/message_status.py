from enum import StrEnum
from typing import Self


class MessageStatus(StrEnum):
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    DELIVERY_UNKNOWN = "delivery_unknown"
    ENROUTE = "enroute"
    EXPIRED = "expired"
    FAILED = "failed"
    NONE = "none"
    PARTIALLY_DELIVERED = "partially_delivered"
    PENDING = "pending"
    PROCESSING = "processing"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    SENT = "sent"
    UNDELIVERED = "undelivered"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        # Providers add values without notice: an unknown string becomes an
        # UNRECOGNIZED pseudo-member carrying the raw value instead of raising.
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = "UNRECOGNIZED"
        member._value_ = value
        return member
