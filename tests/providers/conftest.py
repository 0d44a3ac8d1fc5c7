"""Each provider's own tests: its module's tables, readers and webhook, and its sandbox fake
over loopback (`tests/providers/<key>/`). The sandbox client fixtures are shared
(`sandbox_clients.py`)."""

from sandbox_clients import connect, connect_async, sandbox_webhooks

__all__ = ["connect", "connect_async", "sandbox_webhooks"]
