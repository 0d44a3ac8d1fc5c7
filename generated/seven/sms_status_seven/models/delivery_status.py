from enum import StrEnum
from typing import Self


class DeliveryStatus(StrEnum):
    ACCEPTED = "ACCEPTED"
    BUFFERED = "BUFFERED"
    DELIVERED = "DELIVERED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
    NOTDELIVERED = "NOTDELIVERED"
    REJECTED = "REJECTED"
    TRANSMITTED = "TRANSMITTED"
    UNKNOWN = "UNKNOWN"

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
