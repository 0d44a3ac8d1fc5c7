"""A client library for accessing 23 Telecom messaging API — message status"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
