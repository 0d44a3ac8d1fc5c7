"""Contains all the data models used in inputs/outputs"""

from .delivery_status import DeliveryStatus
from .status_report import StatusReport

__all__ = (
    "DeliveryStatus",
    "StatusReport",
)
