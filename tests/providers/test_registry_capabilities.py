"""The registry's capabilities are what each provider module wires up, at run time.

(`tests/test_provider_completeness.py` checks the same from the files alone; this one loads
the modules, so a capability wired to the wrong thing fails too.)
"""

from __future__ import annotations

import pytest
from sms_status._registry import BATCH_LOOKUP, HISTORY, PER_ID_LOOKUP, REGISTRY, load_provider


@pytest.mark.parametrize("key", list(REGISTRY))
def test_the_registry_says_what_the_provider_module_does(key: str) -> None:
    entry, provider = REGISTRY[key], load_provider(key)
    assert provider.key == key
    assert entry.batch_lookup == (provider.batch is not None)
    assert entry.history == (provider.history is not None)
    assert entry.successor == (provider.successor.name if provider.successor else None)
    assert (entry.webhooks != "none") == (provider.webhook is not None)


def test_the_derived_lists_partition_the_providers() -> None:
    assert set(BATCH_LOOKUP) | set(PER_ID_LOOKUP) == set(REGISTRY)
    assert not set(BATCH_LOOKUP) & set(PER_ID_LOOKUP)
    assert set(HISTORY) <= set(REGISTRY)
