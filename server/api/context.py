"""What every resolver receives: the services container, the caller's scope, DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from server import http as http_clients
from server.auth.authenticator import Authenticator
from server.calls.recorder import CallRecorder
from server.config import Settings
from server.connections.check_limits import CheckLimiter
from server.crypto import KeyRing
from server.events import EventBus
from server.scope import Scope


@dataclass
class Services:
    """Long-lived things built once per process and shared by every request.

    Everything a process keeps between requests lives here, typed, and is closed with the
    container (``aclose``): nothing is cached in a module, so an app built for a test starts
    with nothing remembered from the one before.
    """

    settings: Settings
    bus: EventBus
    key_ring: KeyRing
    # Who is calling (server.auth); owns the cache of recently authenticated API keys.
    auth: Authenticator = None  # type: ignore[assignment]
    # Credential checks per connection and connect session (built from settings if not given).
    check_limiter: CheckLimiter = None  # type: ignore[assignment]
    # The client for provider checks of createConnection and testConnection. ``None`` (the
    # default) builds one per check; tests put an ``httpx.MockTransport`` client here. Not owned.
    check_http: httpx.AsyncClient | None = None
    # The call log of actions and proxy calls: counts them (in the API process's ``/metrics``
    # registry when built with its ``CallMetrics``) and writes succeeded ones in batches.
    calls: CallRecorder = None  # type: ignore[assignment]
    # The connect flow's client (token exchanges, credential checks): built on first use by
    # ``connect_http``, closed by ``aclose``.
    _connect_http: httpx.AsyncClient | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.calls is None:
            self.calls = CallRecorder()
        if self.auth is None:
            self.auth = Authenticator(bus=self.bus)
        if self.check_limiter is None and self.settings is not None:
            self.check_limiter = CheckLimiter(
                per_minute=self.settings.checks_per_minute, reuse_seconds=self.settings.checks_reuse_seconds
            )

    def connect_http(self) -> httpx.AsyncClient:
        """One outgoing HTTP client per process for the connect flow (server.http's
        ``CONNECT_FLOW``), under the outbound guard."""
        if self._connect_http is None or self._connect_http.is_closed:
            self._connect_http = http_clients.tenant_client(self.settings, http_clients.CONNECT_FLOW)
        return self._connect_http

    async def aclose(self) -> None:
        """Close what the container built and forget what it remembered."""
        await self.calls.aclose()
        client, self._connect_http = self._connect_http, None
        if client is not None:
            await client.aclose()
        self.auth.api_key_cache.clear()


@dataclass
class Context:
    services: Services
    scope: Scope
    request_id: str
    loaders: Any = None  # server.api.loaders.Loaders: one per execution (see for_execution)
    # Strawberry sets these when it passes the context through its views.
    request: Any = None
    response: Any = None
    connection_params: Any = None

    def for_execution(self) -> Context:
        """This context for one execution or subscription event: the same caller, fresh
        DataLoaders (a loader caches what it read, and must not serve it to a later one)."""
        loaders = None if self.loaders is None else type(self.loaders)(self.scope)
        return replace(self, loaders=loaders)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def bus(self) -> EventBus:
        return self.services.bus

    @property
    def max_page_size(self) -> int:
        return self.services.settings.max_page_size
