"""A provider whose extra is not installed fails with MissingProviderError (an ImportError)
carrying the exact install command."""

from __future__ import annotations

import importlib
import sys

import pytest
import sms_status
from client_support import PROVIDERS
from sms_status.errors import MissingProviderError, SmsStatusError


def _hide(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    """Make `sms_status_<key>` unimportable and forget the provider module, for this test."""
    monkeypatch.setitem(sys.modules, f"sms_status_{key}", None)
    monkeypatch.delitem(sys.modules, f"sms_status.providers.{key}", raising=False)
    providers = importlib.import_module("sms_status.providers")
    if hasattr(providers, key):
        monkeypatch.delattr(providers, key)


@pytest.mark.parametrize("key", PROVIDERS)
def test_missing_extra_raises_missing_provider_error_with_the_install_line(
    monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    _hide(monkeypatch, key)
    with pytest.raises(MissingProviderError) as info:
        sms_status.connect(key, api_key="sk_test_x")
    error = info.value
    assert isinstance(error, ImportError)
    assert isinstance(error, SmsStatusError)
    assert f'pip install "sms-status[{key}]"' in str(error)
    assert error.install_command == f'pip install "sms-status[{key}]"'
    assert error.provider == key


def test_importing_the_provider_module_directly_raises_it_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hide(monkeypatch, "seven")
    with pytest.raises(ImportError, match=r'pip install "sms-status\[seven\]"') as info:
        importlib.import_module("sms_status.providers.seven")
    assert isinstance(info.value, MissingProviderError)


def test_async_connect_raises_it_as_well(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "seven")
    with pytest.raises(MissingProviderError, match=r'pip install "sms-status\[seven\]"'):
        sms_status.connect_async("seven", api_key="sk_test_x")


def test_other_providers_keep_working_when_one_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _hide(monkeypatch, "seven")
    with sms_status.connect("telecom23", api_key="sk_test_x") as client:
        assert client.provider == "telecom23"


def test_the_provider_loads_again_once_installed() -> None:
    # Runs after the tests above: monkeypatch restored the real modules.
    with sms_status.connect("seven", api_key="sk_test_x") as client:
        assert client.provider == "seven"
