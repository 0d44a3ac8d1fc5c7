"""A client library for accessing Lisoloo SMS API (Bloonio platform) — message status"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
