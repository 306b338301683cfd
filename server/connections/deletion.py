"""Deleting connections, and the end users that take theirs with them.

Deleting an end user lives here, not in ``server.orgs``: the database cascades its connections
and connect sessions away, and each connection's ``connection.deleted`` webhook event must be
written in the same transaction, which only this package knows how to do. ``server.orgs`` sits
below connections and never imports them.
"""

from __future__ import annotations

import logging

from tortoise.transactions import in_transaction

from server.connections.models import Connection
from server.connections.service import get_usable_connection
from server.connections.status import record_change
from server.events import EventBus
from server.orgs import service as orgs
from server.revocations import END_USER, publish_revocation
from server.scope import Scope

log = logging.getLogger("weir.connections")


async def delete_connection(*, scope: Scope, connection_id: str) -> str:
    """Delete a connection (and the syncs that read from it); return its id."""
    connection = await get_usable_connection(scope=scope, connection_id=connection_id, action="delete")
    async with in_transaction():
        await record_change(connection, "connection.deleted")
        await connection.delete()
    log.info("deleted connection %s", connection_id)
    return connection_id


async def delete_end_user(*, scope: Scope, end_user_id: str, bus: EventBus | None = None) -> str:
    """Delete an end user and, with it, its connections and connect sessions (whose tokens and
    sockets stop at once); return the deleted id."""
    end_user = await orgs.get_end_user(scope=scope, end_user_id=end_user_id)
    async with in_transaction():
        # The outbox rows of the connections the deletion takes with it.
        for connection in await Connection.filter(end_user_id=end_user.id):
            await record_change(connection, "connection.deleted")
        await end_user.delete()
    await publish_revocation(bus, kind=END_USER, object_id=end_user_id)
    return end_user_id
