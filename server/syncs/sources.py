"""How a sync reaches its source: the connector module, its credentials, its streams.

Credentials and the connector context come from the connections service. A connector whose
streams depend on the account (the Postgres source: one stream per table) lists them with
``discover(context, credentials, settings)``; the others have fixed streams in ``SPEC``.
"""

from __future__ import annotations

from typing import Any

import httpx

from server import http as http_clients
from server.config import Settings
from server.connections.models import Connection
from server.connections.service import connector_context, load_credentials
from server.connectors.base import ConnectorContext, StreamSpec
from server.connectors.registry import streams_for
from server.crypto import KeyRing
from server.errors import CheckFailed, WeirError
from server.events import EventBus
from server.http import redact
from server.integrations import catalog, refresh

__all__ = [
    "account_error",
    "connector_context",
    "connector_for",
    "fresh_context",
    "load_credentials",
    "offered_streams",
    "safe_message",
    "stream_specs",
]


def safe_message(exc: BaseException, credentials: dict[str, Any]) -> str:
    """``Type: message`` of an error, with any credential value cut out."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact(text, credentials)[:2000]


def account_error(exc: BaseException, credentials: dict[str, Any]) -> WeirError:
    """What a client is told when the provider could not be asked (``CHECK_FAILED``)."""
    if isinstance(exc, WeirError):
        return exc
    return CheckFailed(f"the account could not be read: {safe_message(exc, credentials)}")


async def connector_for(connection: Connection, *, settings: Settings) -> Any:
    """The connection's connector as its workspace sees it (a custom integration of its
    organization, endpoint overrides): ``server.integrations.catalog.connector_for``."""
    return await catalog.connector_for(
        settings=settings,
        organization_id=connection.organization_id,
        workspace_id=connection.workspace_id,
        name=connection.integration_name,
    )


async def stream_specs(
    module: Any, context: ConnectorContext, credentials: dict[str, Any], settings: dict[str, Any]
) -> dict[str, StreamSpec]:
    """The streams the source offers with these settings, by name."""
    return {spec.name: spec for spec in await streams_for(module, context, credentials, settings)}


async def fresh_context(
    *,
    settings: Settings,
    key_ring: KeyRing,
    connection: Connection,
    connector: Any,
    http: Any,
    bus: EventBus | None,
) -> ConnectorContext:
    """A connector context for reading the account (discovery, settings options) through the
    refreshing credential path of syncs and ``testConnection``: an OAuth token near expiry is
    refreshed first, and once more on a provider 401."""
    try:
        return await refresh.connector_context(
            settings=settings,
            key_ring=key_ring,
            connection=connection,
            http=http,
            bus=bus,
            caller="check",
            connector=connector,
        )
    except (httpx.HTTPError, OSError, TimeoutError) as exc:
        raise CheckFailed(
            f"could not reach the provider to refresh the token ({exc.__class__.__name__})"
        ) from None


async def offered_streams(
    *,
    settings: Settings,
    key_ring: KeyRing,
    connection: Connection,
    sync_settings: dict[str, Any],
    bus: EventBus | None = None,
) -> dict[str, StreamSpec]:
    """``stream_specs`` for a connection (asks the account when the connector discovers)."""
    module = await connector_for(connection, settings=settings)
    if getattr(module, "discover", None) is None:
        return {spec.name: spec for spec in module.SPEC.streams}
    credentials = load_credentials(key_ring=key_ring, connection=connection)  # for messages
    async with http_clients.tenant_client(settings, http_clients.DISCOVERY) as http:
        context = await fresh_context(
            settings=settings, key_ring=key_ring, connection=connection, connector=module, http=http, bus=bus
        )
        try:
            return await stream_specs(module, context, context.credentials, sync_settings)
        except Exception as exc:
            raise account_error(exc, credentials) from exc
