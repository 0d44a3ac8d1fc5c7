from enum import StrEnum
from typing import Self


class MessageStatus(StrEnum):
    ACCEPTD = "ACCEPTD"
    BUFFRED = "BUFFRED"
    DELETED = "DELETED"
    DELIVRD = "DELIVRD"
    ENROUTE = "ENROUTE"
    EXPIRED = "EXPIRED"
    FAILED = "failed"
    PENDING = "pending"
    REJECTD = "REJECTD"
    SENT = "sent"
    SYSERR = "SYSERR"
    UNDELIV = "UNDELIV"
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
