"""A client library for accessing RoyceTalk (RoyceBulkSMS) SMS API — message status"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
