"""Contains all the data models used in inputs/outputs"""

from .delivery_status import DeliveryStatus
from .dlr_webhook import DlrWebhook
from .dlr_webhook_data import DlrWebhookData
from .journal_entry import JournalEntry
from .status_report import StatusReport

__all__ = (
    "DeliveryStatus",
    "DlrWebhook",
    "DlrWebhookData",
    "JournalEntry",
    "StatusReport",
)
