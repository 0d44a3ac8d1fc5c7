"""Clients wired to the sandbox fixtures (`sandbox_clients.py`): real loopback HTTP, the
sandbox's fake clock."""

from sandbox_clients import connect, connect_async, sandbox_webhooks

__all__ = ["connect", "connect_async", "sandbox_webhooks"]
