"""Client options users expect from openai/stripe-class SDKs: settings from the environment."""

from __future__ import annotations

import asyncio
import typing

import httpx
import pytest
import sms_status

ENV_KEY = "sk_test_fromTheEnvironment0123"
SANDBOXED = "http://sandbox.invalid:8080"


def _recorder(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"error": "NOT_FOUND", "message": "Message not found"})

    return httpx.MockTransport(answer)


def _lookup(client: sms_status.StatusClient) -> None:
    with client, pytest.raises(sms_status.errors.NotFoundError):
        client.get_status("m1")


def test_the_api_key_and_base_url_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMS_STATUS_TELECOM23_API_KEY", ENV_KEY)
    monkeypatch.setenv("SMS_STATUS_TELECOM23_BASE_URL", SANDBOXED)
    seen: list[httpx.Request] = []

    _lookup(sms_status.connect("telecom23", transport=_recorder(seen)))

    assert seen[0].headers["X-API-Key"] == ENV_KEY
    assert str(seen[0].url) == f"{SANDBOXED}/api/v1/sms/status/m1"


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_STATUS_ROYCETALK_API_KEY", ENV_KEY)
    monkeypatch.setenv("SMS_STATUS_ROYCETALK_BASE_URL", SANDBOXED)
    seen: list[httpx.Request] = []

    client = sms_status.connect(
        "roycetalk", api_key="given", base_url="http://given.invalid", transport=_recorder(seen)
    )
    _lookup(client)

    assert seen[0].headers["Authorization"] == "Bearer given"
    assert seen[0].url.host == "given.invalid"


def test_without_a_base_url_anywhere_the_production_origin_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SMS_STATUS_SEVEN_BASE_URL", raising=False)
    with sms_status.connect("seven", api_key="k") as client:
        assert client.base_url.startswith("https://")


def test_no_api_key_anywhere_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMS_STATUS_LISOLOO_API_KEY", raising=False)
    with pytest.raises(ValueError, match="SMS_STATUS_LISOLOO_API_KEY"):
        sms_status.connect("lisoloo")
    with pytest.raises(ValueError, match="SMS_STATUS_LISOLOO_API_KEY"):
        sms_status.connect_async("lisoloo")


def test_the_async_client_reads_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_STATUS_NAMIRIAL_API_KEY", ENV_KEY)

    async def key_sent() -> str:
        seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(404, json={"message": "not found"})

        transport = httpx.MockTransport(answer)
        async with sms_status.connect_async("namirial", transport=transport) as client:
            with pytest.raises(sms_status.errors.NotFoundError):
                await client.get_status("m1")
        return seen[0].headers["X-Api-Key"]

    assert asyncio.run(key_sent()) == ENV_KEY


def test_the_provider_key_type_lists_every_provider() -> None:
    assert typing.get_args(sms_status.ProviderKey) == sms_status.PROVIDERS


def test_provider_key_narrows_a_runtime_string_or_lists_the_keys() -> None:
    assert sms_status.provider_key("seven") == "seven"
    with pytest.raises(ValueError, match="expected one of: telecom23, namirial"):
        sms_status.provider_key("telcom23")


def test_api_is_the_providers_generated_client() -> None:
    import sms_status_telecom23

    with sms_status.connect("telecom23", api_key="k") as client:
        assert isinstance(client.api, sms_status_telecom23.AuthenticatedClient)
        assert client.api.get_httpx_client() is client._http
