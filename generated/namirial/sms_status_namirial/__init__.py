"""A client library for accessing Namirial SMS Gateway — message status API"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
