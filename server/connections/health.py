"""A connection's health and the one home of its changes.

Health is finer than status: WORKING and DEGRADED (trouble that may pass: the network, a
timeout, a 5xx; retried, still usable) keep the status ``ACTIVE``; NEEDS_REAUTHORIZATION (the
provider refused the credentials or the refresh) is ``ERROR``; MISSING_SCOPES (the grant lacks
a scope a selected stream needs) leaves the status as it was.

Every change of health, whichever path found it (``testConnection``, a sync, an action, a token
refresh, a liveness check), goes through here: ``status.set_status`` calls ``changed``,
``record`` and ``publish``; the changes that leave the status alone call ``set_health``. A
change writes a ``connection.health_changed`` webhook outbox row inside its transaction and,
once committed, publishes the same event on the bus for ``health_changes`` (the
``connectionHealthChanged`` subscription).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from server.connections.models import Connection
from server.events import EventBus, channel, is_resync
from server.orgs import service as orgs
from server.scope import Scope
from server.webhooks.outbox import record_event
from server.webhooks.payloads import connection_payload

log = logging.getLogger("weir.connections")

WORKING, DEGRADED, NEEDS_REAUTHORIZATION, MISSING_SCOPES = (
    "WORKING",
    "DEGRADED",
    "NEEDS_REAUTHORIZATION",
    "MISSING_SCOPES",
)
HEALTHS = (WORKING, DEGRADED, NEEDS_REAUTHORIZATION, MISSING_SCOPES)
HEALTH_EVENT = "connection.health_changed"


def health_channel(organization_id: str, workspace_id: str | None) -> str:
    """Where health changes of a workspace's (or the organization's own) connections go."""
    return channel(organization_id, "connection-health", workspace_id or "organization")


def changed(connection: Connection, health: str, reason: str | None) -> bool:
    """Whether moving to ``health`` with ``reason`` is a change worth an event."""
    return (connection.health, connection.health_reason) != (health, reason)


def event(connection: Connection) -> dict[str, Any]:
    """A connection's health as the bus carries it."""
    return {
        "type": HEALTH_EVENT,
        "connectionId": connection.id,
        "health": connection.health,
        "reason": connection.health_reason,
        "status": connection.status,
        "workspaceId": connection.workspace_id,
        "changedAt": connection.health_changed_at.isoformat() if connection.health_changed_at else None,
    }


async def record(connection: Connection) -> None:
    """The webhook outbox row of a health change; called inside the change's transaction."""
    await record_event(
        organization_id=connection.organization_id,
        workspace_id=connection.workspace_id,
        type=HEALTH_EVENT,
        payload=connection_payload(connection),
        object_id=connection.id,
    )


async def publish(bus: EventBus | None, connection: Connection) -> None:
    """Tell subscribers about a committed health change."""
    if bus is None:
        return
    await bus.publish(health_channel(connection.organization_id, connection.workspace_id), event(connection))
    log.info("connection %s health is now %s", connection.id, connection.health)


async def set_health(
    *,
    connection: Connection,
    health: str,
    reason: str | None,
    bus: EventBus | None,
    extra: dict[str, Any] | None = None,
) -> Connection:
    """Move a connection to ``health`` (with a reason) without touching its status, writing
    ``extra`` columns (``last_checked_at``, ``next_check_at``, ...) in the same transaction; an
    actual change is a webhook and, once committed, a subscription event."""
    if health not in HEALTHS:
        raise ValueError(f"unknown health {health!r}")
    reason = None if health == WORKING else reason
    values: dict[str, Any] = dict(extra or {})
    moved = changed(connection, health, reason)
    if moved:
        values.update(health=health, health_reason=reason, health_changed_at=datetime.now(UTC))
    if not values:
        return connection
    before = {name: getattr(connection, name) for name in values}
    try:
        async with in_transaction():
            await Connection.filter(id=connection.id).update(**values)
            for name, value in values.items():
                setattr(connection, name, value)
            if moved:
                await record(connection)
    except BaseException:
        for name, value in before.items():
            setattr(connection, name, value)
        raise
    if moved:
        await publish(bus, connection)
    return connection


async def mark_missing_scopes(
    *, connection: Connection, missing: list[str], bus: EventBus | None
) -> Connection:
    """The grant lacks scopes a selected stream needs: ``MISSING_SCOPES`` naming them."""
    names = ", ".join(sorted(set(missing)))
    reason = f"The grant lacks the scopes {names} that selected streams need; reconnect granting them."
    return await set_health(connection=connection, health=MISSING_SCOPES, reason=reason, bus=bus)


async def check_scopes(*, connection: Connection, needed: list[str], bus: EventBus | None) -> list[str]:
    """Compare the scopes selected streams need with the grant's (``granted_scopes``, stored
    on token exchange and refresh); the missing ones make the connection MISSING_SCOPES, and a
    grant that has them all again ends it. Return the missing scopes. A grant whose scopes are
    unknown (the provider sent none) is taken to hold them."""
    granted = connection.granted_scopes
    if granted is None or not needed:
        missing: list[str] = []
    else:
        missing = sorted(set(needed) - set(granted))
    if missing:
        await connection.refresh_from_db()
        await mark_missing_scopes(connection=connection, missing=missing, bus=bus)
    elif connection.health == MISSING_SCOPES:
        await connection.refresh_from_db()
        if connection.health == MISSING_SCOPES:
            await set_health(connection=connection, health=WORKING, reason=None, bus=bus)
    return missing


async def health_changes(
    *, scope: Scope, workspace_id: str | None, bus: EventBus, include_current: bool = True
) -> AsyncIterator[dict[str, Any]]:
    """Health changes of a workspace's connections (or of organization-wide ones), as they
    come; first, unless told otherwise, the current health of each."""
    if workspace_id is None:
        scope.require_unrestricted("watch organization-wide connections")
    else:
        await orgs.get_workspace(scope=scope, workspace_id=workspace_id)
    current = Connection.filter(organization_id=scope.organization_id, workspace_id=workspace_id).order_by(
        "id"
    )
    sent: dict[str, tuple[Any, Any]] = {}  # connection id -> (health, reason) as last sent
    async with bus.subscribe(health_channel(scope.organization_id, workspace_id)) as events:
        if include_current:
            for connection in await current:
                sent[connection.id] = (connection.health, connection.health_reason)
                yield event(connection)
        async for message in events:
            if is_resync(message):
                for connection in await current:
                    if sent.get(connection.id) != (connection.health, connection.health_reason):
                        sent[connection.id] = (connection.health, connection.health_reason)
                        yield event(connection)
            elif message.get("type") == HEALTH_EVENT:
                sent[str(message.get("connectionId"))] = (message.get("health"), message.get("reason"))
                yield message
