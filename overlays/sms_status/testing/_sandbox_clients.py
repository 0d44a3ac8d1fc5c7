"""The sandbox's clients: `Sandbox.connect()` and `connect_async()`, typed per provider as
`sms_status.connect()` is (`Sandbox("namirial").connect()` is a `HistoryClient`). The
overloads are written from the registry by scripts/typed_connect.py, between its markers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

if TYPE_CHECKING:
    from typing import Unpack

    from typing_extensions import TypeVar as TypeVarWithDefault

    from sms_status._options import AsyncSandboxClientOptions, SandboxClientOptions
    from sms_status.client import (
        AsyncHistoryClient,
        AsyncStatusClient,
        HistoryClient,
        ProviderKey,
        StatusClient,
    )
    from sms_status.testing._clock import Clock

    KeyT_co = TypeVarWithDefault("KeyT_co", bound=str, covariant=True, default=str)
    """The sandbox's provider key: a `Literal` where known (`Sandbox("namirial")`), else
    `str`. Covariant, so `Sandbox("namirial")` is a plain `Sandbox` too."""
else:  # the default (PEP 696) is for type checkers, as in sms_status._base_client
    KeyT_co = TypeVar("KeyT_co", covariant=True)

# -- generated from the registry by scripts/typed_connect.py: sandbox provider imports --
if TYPE_CHECKING:  # each only types `client.api`; a provider's extra may be absent
    import sms_status_lisoloo
    import sms_status_namirial
    import sms_status_roycetalk
    import sms_status_seven
    import sms_status_telecom23
# -- end of the generated sandbox provider imports --


class SandboxClients(Generic[KeyT_co]):
    """`Sandbox`'s `connect()` and `connect_async()`; the sandbox says what they connect to
    (`_client_settings`)."""

    def _client_settings(self) -> tuple[ProviderKey, str, str, Clock, str | None]:
        """(provider key, API key, base URL, clock, the signing secret a client must use)."""
        raise NotImplementedError

    # -- generated from the registry by scripts/typed_connect.py: sandbox connect overloads --
    @overload
    def connect(
        self: SandboxClients[Literal["telecom23"]], **options: Unpack[SandboxClientOptions]
    ) -> StatusClient[sms_status_telecom23.AuthenticatedClient]: ...
    @overload
    def connect(
        self: SandboxClients[Literal["namirial"]], **options: Unpack[SandboxClientOptions]
    ) -> HistoryClient[sms_status_namirial.AuthenticatedClient]: ...
    @overload
    def connect(
        self: SandboxClients[Literal["roycetalk"]], **options: Unpack[SandboxClientOptions]
    ) -> StatusClient[sms_status_roycetalk.AuthenticatedClient]: ...
    @overload
    def connect(
        self: SandboxClients[Literal["lisoloo"]], **options: Unpack[SandboxClientOptions]
    ) -> StatusClient[sms_status_lisoloo.AuthenticatedClient]: ...
    @overload
    def connect(
        self: SandboxClients[Literal["seven"]], **options: Unpack[SandboxClientOptions]
    ) -> StatusClient[sms_status_seven.AuthenticatedClient]: ...
    @overload
    def connect(self, **options: Unpack[SandboxClientOptions]) -> StatusClient: ...
    # -- end of the generated sandbox connect overloads --
    def connect(self, **options: Unpack[SandboxClientOptions]) -> StatusClient:
        """A blocking client for this sandbox: its origin and key, and its clock, so the
        client's polling and retry waits advance a ``FakeClock`` instead of sleeping.
        ``options`` are `sms_status.connect`'s; a signing sandbox's ``signing_secret`` is the
        client's too. Close it (``with sb.connect() as client:``)."""
        import sms_status

        key, api_key, base_url, clock, signing_secret = self._client_settings()
        options.setdefault("clock", clock.monotonic)
        options.setdefault("sleep", clock.sleep)
        if signing_secret is not None:
            options.setdefault("signing_secret", signing_secret)
        return sms_status.connect(key, api_key=api_key, base_url=base_url, **options)

    # -- generated from the registry by scripts/typed_connect.py: sandbox connect_async overloads --
    @overload
    def connect_async(
        self: SandboxClients[Literal["telecom23"]], **options: Unpack[AsyncSandboxClientOptions]
    ) -> AsyncStatusClient[sms_status_telecom23.AuthenticatedClient]: ...
    @overload
    def connect_async(
        self: SandboxClients[Literal["namirial"]], **options: Unpack[AsyncSandboxClientOptions]
    ) -> AsyncHistoryClient[sms_status_namirial.AuthenticatedClient]: ...
    @overload
    def connect_async(
        self: SandboxClients[Literal["roycetalk"]], **options: Unpack[AsyncSandboxClientOptions]
    ) -> AsyncStatusClient[sms_status_roycetalk.AuthenticatedClient]: ...
    @overload
    def connect_async(
        self: SandboxClients[Literal["lisoloo"]], **options: Unpack[AsyncSandboxClientOptions]
    ) -> AsyncStatusClient[sms_status_lisoloo.AuthenticatedClient]: ...
    @overload
    def connect_async(
        self: SandboxClients[Literal["seven"]], **options: Unpack[AsyncSandboxClientOptions]
    ) -> AsyncStatusClient[sms_status_seven.AuthenticatedClient]: ...
    @overload
    def connect_async(self, **options: Unpack[AsyncSandboxClientOptions]) -> AsyncStatusClient: ...
    # -- end of the generated sandbox connect_async overloads --
    def connect_async(self, **options: Unpack[AsyncSandboxClientOptions]) -> AsyncStatusClient:
        """The asyncio twin of :meth:`connect` (a ``FakeClock``'s sleeps yield to the loop)."""
        import sms_status

        key, api_key, base_url, clock, signing_secret = self._client_settings()
        options.setdefault("clock", clock.monotonic)
        async_sleep: Any = getattr(clock, "async_sleep", None)
        if async_sleep is not None:
            options.setdefault("sleep", async_sleep)
        if signing_secret is not None:
            options.setdefault("signing_secret", signing_secret)
        return sms_status.connect_async(key, api_key=api_key, base_url=base_url, **options)
