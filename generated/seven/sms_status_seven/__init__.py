"""A client library for accessing seven.io (formerly sms77) — SMS status reports"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
