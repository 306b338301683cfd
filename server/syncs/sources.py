"""How a sync reaches its source: the connector module, its credentials, its streams.

Credentials and the connector context come from the connections service. A connector whose
streams depend on the account (the Postgres source: one stream per table) lists them with
``discover(context, credentials, settings)``; the others have fixed streams in ``SPEC``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import httpx

from server.config import Settings
from server.connections.models import Connection
from server.connections.service import connector_context, load_credentials
from server.connectors.base import ConnectorContext, StreamSpec
from server.connectors.registry import get_connector, streams_for
from server.crypto import KeyRing
from server.errors import NotFound

__all__ = ["connector_context", "connector_for", "load_credentials", "offered_streams",
           "stream_specs"]

DISCOVERY_TIMEOUT_SECONDS = 30.0


def connector_for(connection: Connection) -> ModuleType:
    module = get_connector(connection.integration_name)
    if module is None:
        raise NotFound("integration", connection.integration_name)
    return module


async def stream_specs(module: ModuleType, context: ConnectorContext,
                       credentials: dict[str, Any], settings: dict[str, Any]
                       ) -> dict[str, StreamSpec]:
    """The streams the source offers with these settings, by name."""
    return {spec.name: spec for spec in await streams_for(module, context, credentials, settings)}


async def offered_streams(*, settings: Settings, key_ring: KeyRing, connection: Connection,
                          sync_settings: dict[str, Any]) -> dict[str, StreamSpec]:
    """``stream_specs`` for a connection (asks the account when the connector discovers)."""
    module = connector_for(connection)
    if getattr(module, "discover", None) is None:
        return {spec.name: spec for spec in module.SPEC.streams}
    credentials = load_credentials(key_ring=key_ring, connection=connection)
    async with httpx.AsyncClient(timeout=DISCOVERY_TIMEOUT_SECONDS) as http:
        context = connector_context(settings=settings,
                                    integration_name=connection.integration_name, http=http,
                                    credentials=credentials)
        return await stream_specs(module, context, credentials, sync_settings)
