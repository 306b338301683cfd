"""A connection's status and what every change of a connection tells the world.

``set_status`` is the one place a status changes (``TRANSITIONS`` lists the moves). A change
writes its webhook outbox row inside its own transaction (``record_change``) and, once
committed, publishes ``connection.status_changed`` on the event bus for ``status_changes``
(the ``connectionStatusChanged`` subscription).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from server.connections import health as healths
from server.connections.health import DEGRADED, HEALTHS, MISSING_SCOPES, NEEDS_REAUTHORIZATION, WORKING
from server.connections.models import Connection
from server.errors import Conflict
from server.events import EventBus, channel, is_resync
from server.orgs import service as orgs
from server.scope import Scope
from server.webhooks.outbox import record_event
from server.webhooks.payloads import connection_payload

log = logging.getLogger("weir.connections")

STATUSES = ("ACTIVE", "ERROR")
# A connection's health (``server.connections.health``, the home of its changes) is finer than
# its status; re-exported here for the callers that know only this module.
__all__ = ["DEGRADED", "HEALTHS", "NEEDS_REAUTHORIZATION", "WORKING"]
# The allowed moves of ``set_status``; staying in a status with a new reason is a move too.
TRANSITIONS = {"ACTIVE": {"ACTIVE", "ERROR"}, "ERROR": {"ERROR", "ACTIVE"}}
STATUS_EVENT = "connection.status_changed"


def status_channel(organization_id: str, workspace_id: str | None) -> str:
    """Where status changes of a workspace's (or the organization's own) connections go."""
    return channel(organization_id, "connections", workspace_id or "organization")


async def _publish_status(bus: EventBus | None, connection: Connection) -> None:
    if bus is None:
        return
    await bus.publish(
        status_channel(connection.organization_id, connection.workspace_id),
        {
            "type": STATUS_EVENT,
            "connectionId": connection.id,
            "status": connection.status,
            "reason": connection.status_reason,
            "workspaceId": connection.workspace_id,
        },
    )


async def record_change(connection: Connection, event_type: str) -> None:
    """The webhook outbox row of a change; called inside the change's transaction."""
    await record_event(
        organization_id=connection.organization_id,
        workspace_id=connection.workspace_id,
        type=event_type,
        payload=connection_payload(connection),
        object_id=connection.id,
    )


async def set_status(
    *, connection: Connection, status: str, reason: str | None, bus: EventBus | None
) -> Connection:
    """Move a connection to ``status`` (with a reason); publish the change once committed."""
    if status not in TRANSITIONS.get(connection.status, set()):
        raise Conflict(f"a connection cannot go from {connection.status} to {status}")
    reason = None if status == "ACTIVE" else reason
    if connection.status == status and connection.status_reason == reason:
        return connection
    now = datetime.now(UTC)
    health = WORKING if status == "ACTIVE" else NEEDS_REAUTHORIZATION
    health_moved = healths.changed(connection, health, reason)
    before = (
        connection.status,
        connection.status_reason,
        connection.updated_at,
        connection.health,
        connection.health_reason,
        connection.health_changed_at,
    )
    values: dict[str, Any] = {
        "status": status,
        "status_reason": reason,
        "updated_at": now,
        "health": health,
        "health_reason": reason,
        "health_changed_at": now,
    }
    try:
        async with in_transaction():
            await Connection.filter(id=connection.id).update(**values)
            for name, value in values.items():
                setattr(connection, name, value)
            await record_change(connection, STATUS_EVENT)
            if health_moved:
                await healths.record(connection)
    except BaseException:
        # Rolled back: the caller's object must not claim a status the database lacks.
        (
            connection.status,
            connection.status_reason,
            connection.updated_at,
            connection.health,
            connection.health_reason,
            connection.health_changed_at,
        ) = before
        raise
    log.info("connection %s is now %s", connection.id, status)
    await _publish_status(bus, connection)
    if health_moved:
        await healths.publish(bus, connection)
    return connection


async def record_check(
    *, connection: Connection, ok: bool, reachable: bool, reason: str | None, bus: EventBus | None
) -> Connection:
    """What a check of the credentials found. Accepted: ``ACTIVE`` and ``WORKING``. Refused:
    ``ERROR`` and ``NEEDS_REAUTHORIZATION``. Not reachable (the network, a timeout, a 5xx, a
    refresh the provider could not answer): ``DEGRADED`` with the reason, and the status stays
    what it was, since nothing says the credentials stopped working."""
    now = datetime.now(UTC)
    extra: dict[str, Any] = {"last_checked_at": now}
    if ok or reachable:
        connection = await set_status(
            connection=connection, status="ACTIVE" if ok else "ERROR", reason=reason, bus=bus
        )
        health, health_reason = (WORKING, None) if ok else (NEEDS_REAUTHORIZATION, reason)
        if ok and connection.health == MISSING_SCOPES:
            # Working credentials say nothing of the scopes a sync found missing.
            health, health_reason = MISSING_SCOPES, connection.health_reason
    else:
        health, health_reason = DEGRADED, reason
    return await healths.set_health(
        connection=connection, health=health, reason=health_reason, bus=bus, extra=extra
    )


async def mark_reauthorization_required(
    *, connection: Connection, reason: str, bus: EventBus | None
) -> Connection:
    """The provider refused the credentials even after a refresh (a 401 that survived it):
    ``ERROR`` with the provider's reason, the same way for syncs, actions and the proxy. The
    reason must already have every secret cut out (``server.connectors.http`` does that)."""
    return await set_status(
        connection=connection,
        status="ERROR",
        reason=f"The provider refused the credentials; reconnect to restore access. ({reason[:300]})",
        bus=bus,
    )


async def status_changes(
    *, scope: Scope, workspace_id: str | None, bus: EventBus, include_current: bool = True
) -> AsyncIterator[dict[str, Any]]:
    """Status changes of a workspace's connections (or of organization-wide ones), as they come;
    first, unless told otherwise, the current status of each, so a reconnecting client misses
    nothing."""
    if workspace_id is None:
        scope.require_unrestricted("watch organization-wide connections")
    else:
        await orgs.get_workspace(scope=scope, workspace_id=workspace_id)
    # Subscribed before the snapshot is read, so a change in between is not lost (at worst a
    # status arrives twice).
    current = Connection.filter(organization_id=scope.organization_id, workspace_id=workspace_id).order_by(
        "id"
    )
    sent: dict[str, tuple[Any, Any]] = {}  # connection id -> (status, reason) as last sent
    async with bus.subscribe(status_channel(scope.organization_id, workspace_id)) as events:
        if include_current:
            for connection in await current:
                sent[connection.id] = (connection.status, connection.status_reason)
                yield _status_event(connection)
        async for event in events:
            if is_resync(event):
                # Events were lost in a Redis gap: send each status that changed meanwhile.
                for connection in await current:
                    if sent.get(connection.id) != (connection.status, connection.status_reason):
                        sent[connection.id] = (connection.status, connection.status_reason)
                        yield _status_event(connection)
            elif event.get("type") == STATUS_EVENT:
                sent[str(event.get("connectionId"))] = (event.get("status"), event.get("reason"))
                yield event


def _status_event(connection: Connection) -> dict[str, Any]:
    return {
        "type": STATUS_EVENT,
        "connectionId": connection.id,
        "status": connection.status,
        "reason": connection.status_reason,
        "workspaceId": connection.workspace_id,
    }
