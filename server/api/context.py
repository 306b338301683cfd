"""What every resolver receives: settings, the caller's scope, the event bus, DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from server.config import Settings
from server.connections.check_limits import CheckLimiter
from server.crypto import KeyRing
from server.events import EventBus
from server.scope import Scope


@dataclass
class Services:
    """Long-lived things built once per process and shared by every request."""

    settings: Settings
    bus: EventBus
    key_ring: KeyRing
    extras: dict[str, Any] = field(default_factory=dict)
    # Credential checks per connection and connect session (built from settings if not given).
    check_limiter: CheckLimiter = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.check_limiter is None and self.settings is not None:
            self.check_limiter = CheckLimiter(
                per_minute=self.settings.checks_per_minute,
                reuse_seconds=self.settings.checks_reuse_seconds)


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
