"""The typed edges: `client.api` with the generated functions, provider keys as a Literal.

A `# type: ignore[...]` here marks a line that MUST fail type checking: mypy (warn_unused_ignores
under --strict) and pyright (reportUnnecessaryTypeIgnoreComment, switched on below) both fail
if it does not.
"""

# pyright: reportUnnecessaryTypeIgnoreComment=error

from __future__ import annotations

from typing import assert_type

import httpx
import sms_status
import sms_status_namirial
import sms_status_telecom23
from sms_status_namirial.api.status import get_message_status_by_phone_number
from sms_status_telecom23.api.status import get_message_status
from sms_status_telecom23.models import StatusResponse


def generated_endpoint_on_the_overlay_client(api_key: str) -> int:
    with sms_status.connect("telecom23", api_key=api_key) as client:
        assert_type(client.api, sms_status_telecom23.AuthenticatedClient)
        response = get_message_status.sync_detailed("m1", client=client.api)
        if isinstance(response.parsed, StatusResponse):
            return 1
        return int(response.status_code)


async def generated_async_endpoint(api_key: str) -> object:
    async with sms_status.connect_async("namirial", api_key=api_key) as client:
        assert_type(client.api, sms_status_namirial.AuthenticatedClient)
        return await get_message_status_by_phone_number.asyncio("+1234567890", client=client.api)


def a_client_for_any_provider(client: sms_status.StatusClient) -> sms_status.StatusClient:
    # Unparameterised annotations keep working (the generated client type has a default),
    # and every provider's client fits them.
    assert_type(client.api.get_httpx_client(), httpx.Client)
    return sms_status.connect("seven", api_key="k")


def keys_known_at_run_time(setting: str) -> sms_status.StatusClient:
    key = sms_status.provider_key(setting)
    assert_type(key, sms_status.ProviderKey)
    return sms_status.connect(key, api_key="k")


def a_mistyped_key_fails_type_checking() -> None:
    sms_status.connect("telcom23", api_key="k")  # type: ignore[call-overload]
    sms_status.connect_async("Seven", api_key="k")  # type: ignore[call-overload]


def a_str_is_not_a_key(setting: str) -> None:
    sms_status.connect(setting, api_key="k")  # type: ignore[call-overload]


def history_needs_namirial() -> None:
    client = sms_status.connect("seven", api_key="k")
    client.history_by_phone("+1234567890")  # type: ignore[attr-defined]


def a_misspelt_public_name_fails_type_checking() -> None:
    # The lazy loader's `__getattr__ -> Any` made any name type-check: a typo was an Any.
    sms_status.conect("telecom23", api_key="k")  # type: ignore[attr-defined]
    sms_status.webhooks.parsee  # type: ignore[attr-defined]  # noqa: B018
    sms_status.testing.Sandboxx  # type: ignore[attr-defined]  # noqa: B018


def every_key_connects(api_key: str, provider: str) -> list[sms_status.StatusClient]:
    # PROVIDERS are plain str (a dict keyed by them takes any report's provider): a key is
    # made a ProviderKey where it is connected.
    by_key = {key: 0 for key in sms_status.PROVIDERS}
    by_key[provider] += 1  # a report's provider: a str
    keys: list[sms_status.ProviderKey] = [sms_status.provider_key(n) for n in sms_status.PROVIDERS]
    return [sms_status.connect(key, api_key=api_key) for key in keys]


def subpackages_on_the_top_module() -> object:
    assert_type(sms_status.pacing.TokenBucket, type[sms_status.pacing.TokenBucket])
    # tracking and testing sit above the package face: imported as modules of their own.
    return sms_status.tracking  # type: ignore[attr-defined]


def any_error_names_its_provider(error: sms_status.errors.SmsStatusError) -> str:
    assert_type(error.status_code, int | None)  # a catch-all may log it, whatever the error
    return f"{error.provider}: {error.message}"


async def an_async_callback_fails_type_checking(client: sms_status.AsyncStatusClient) -> None:
    # It would be called and never awaited: its coroutine dropped.
    async def noted(report: sms_status.StatusReport) -> None:
        print(report)

    await client.wait_for_final("m1", on_update=noted)  # type: ignore[arg-type]


class FlaskLikeHeaders:
    """Werkzeug's `Headers`: `items()` of str pairs, and no `Mapping`."""

    def items(self) -> list[tuple[str, str]]:
        return [("X-Webhook-Signature", "sha256=00")]


def flask_headers_parse(body: bytes) -> sms_status.webhooks.WebhookEvent:
    return sms_status.webhooks.parse(
        "telecom23", body=body, headers=FlaskLikeHeaders(), secret="whsec_x"
    )


def a_namirial_sandbox_client_narrowed_for_its_history_calls() -> int:
    # As the README says: Sandbox.connect() is a StatusClient for every provider.
    from sms_status.testing import Sandbox

    with Sandbox("namirial") as sandbox, sandbox.connect() as client:
        assert isinstance(client, sms_status.HistoryClient)
        return len(client.history_by_phone("+14155551234"))


def sandboxes_of_several_providers_in_one_list() -> None:
    from sms_status.testing import Sandbox

    def start_all(sandboxes: list[Sandbox]) -> None:
        for sandbox in sandboxes:
            sandbox.start()

    sevens = [Sandbox("seven")]
    start_all(sevens)
    sandbox = Sandbox("seven")
    sandbox = Sandbox("telecom23")  # re-bound to another provider's
    start_all([sandbox, Sandbox("namirial")])


def a_sandbox_client_takes_connects_keywords_but_its_own() -> None:
    # The README's `sandbox.connect(max_retries=0)` failed mypy --strict: the sandbox's
    # options lacked timeout and max_retries.
    from sms_status.testing import Sandbox

    with Sandbox("telecom23") as sandbox:
        client = sandbox.connect(max_retries=0, timeout=2.0)
        assert_type(client, sms_status.StatusClient)
        aclient = sandbox.connect_async(max_retries=1, timeout=httpx.Timeout(3.0))
        assert_type(aclient, sms_status.AsyncStatusClient)
        sandbox.connect(api_key="k")  # type: ignore[call-arg]
