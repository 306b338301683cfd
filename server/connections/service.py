"""Connections: credentials stored encrypted, one status per connection.

Temporary copy on the ``connect`` branch of the interface the ``connections`` branch provides;
it is deleted when that branch lands on main.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx

from server import ids
from server.config import Settings
from server.connections.models import Connection
from server.connectors.base import ConnectorContext
from server.connectors.registry import get_connector
from server.crypto import KeyRing
from server.errors import CheckFailed, NotFound, ValidationFailed
from server.events import EventBus, channel
from server.scope import Scope

STATUSES = ("ACTIVE", "ERROR")


def _seal(key_ring: KeyRing, connection_id: str, credentials: dict[str, Any]) -> str:
    return key_ring.encrypt(json.dumps(credentials).encode(), associated_data=connection_id)


def _preview(credentials: dict[str, Any]) -> str:
    for name in ("access_token", "secret_text", "password"):
        value = credentials.get(name)
        if isinstance(value, str) and value:
            return "****" + value[-4:] if len(value) > 8 else "****"
    return "****"


async def create_connection(
    *, scope: Scope, key_ring: KeyRing, settings: Settings, integration_name: str, auth_type: str,
    credentials: dict[str, Any], connection_scope: str = "USER", workspace_id: str | None = None,
    end_user_id: str | None = None, external_id: str | None = None,
    display_name: str | None = None, expires_at: datetime | None = None, check: bool = False,
    http: httpx.AsyncClient | None = None, bus: EventBus | None = None,
) -> Connection:
    """A new connection with its credentials encrypted."""
    module = get_connector(integration_name)
    if module is None:
        raise NotFound("integration", integration_name)
    if auth_type not in module.SPEC.auth_types:
        raise ValidationFailed.field("input.authType", f"{integration_name} does not use {auth_type}")
    if check and http is not None:
        context = connector_context(settings=settings, integration_name=integration_name,
                                    http=http, credentials=credentials)
        result = await module.check(context, credentials)
        if not result.ok:
            raise CheckFailed(result.message or "the provider refused the credentials")
    connection_id = ids.new_id("connection")
    return await Connection.create(
        id=connection_id, organization_id=scope.organization_id, workspace_id=workspace_id,
        end_user_id=end_user_id, integration_name=integration_name, auth_type=auth_type,
        scope=connection_scope, external_id=external_id, display_name=display_name,
        credentials_encrypted=_seal(key_ring, connection_id, credentials),
        credential_preview=_preview(credentials), expires_at=expires_at,
    )


async def get_connection(*, scope: Scope, connection_id: str) -> Connection:
    """One connection of the caller's organization, or ``NOT_FOUND``."""
    connection = await Connection.get_or_none(id=connection_id, **scope.filters())
    if connection is None:
        raise NotFound("connection", connection_id)
    return connection


def load_credentials(*, key_ring: KeyRing, connection: Connection) -> dict[str, Any]:
    """The decrypted credentials of a connection."""
    if not connection.credentials_encrypted:
        return {}
    raw = key_ring.decrypt(connection.credentials_encrypted, associated_data=connection.id)
    return json.loads(raw)


async def replace_credentials(
    *, key_ring: KeyRing, connection: Connection, credentials: dict[str, Any],
    expires_at: datetime | None = None, bus: EventBus | None = None,
) -> Connection:
    """New credentials for the same connection; its status goes back to ``ACTIVE``."""
    connection.credentials_encrypted = _seal(key_ring, connection.id, credentials)
    connection.credential_preview = _preview(credentials)
    connection.expires_at = expires_at
    await connection.save(
        update_fields=["credentials_encrypted", "credential_preview", "expires_at", "updated_at"]
    )
    if connection.status != "ACTIVE":
        await set_status(connection=connection, status="ACTIVE", reason=None, bus=bus)
    return connection


async def set_status(
    *, connection: Connection, status: str, reason: str | None, bus: EventBus | None
) -> Connection:
    """Change the status; publishes ``connection.status_changed``."""
    connection.status = status
    connection.status_reason = reason
    await connection.save(update_fields=["status", "status_reason", "updated_at"])
    if bus is not None:
        event = {"type": "connection.status_changed", "connectionId": connection.id,
                 "status": status, "reason": reason}
        await bus.publish(channel(connection.organization_id, "connection", connection.id), event)
        if connection.workspace_id:
            await bus.publish(
                channel(connection.organization_id, "workspace", connection.workspace_id,
                        "connections"), event)
    return connection


def connector_context(
    *, settings: Settings, integration_name: str, http: httpx.AsyncClient,
    credentials: dict[str, Any],
) -> ConnectorContext:
    module = get_connector(integration_name)
    base_url = settings.connector_base_urls.get(integration_name) or (
        module.SPEC.base_url if module else None
    )
    return ConnectorContext(http=http, base_url=base_url, credentials=credentials)
