"""The reconnect session a connection in NEEDS_REAUTHORIZATION carries: a connect session
bound to that connection (completing it replaces its credentials, the connection is reused),
single use like every connect session, expiring after ``WEIR_RECONNECT_SESSION_TTL_SECONDS``.

The host reads it as ``Connection.reconnectSession`` (API keys only) and sends its link to the
end user. Its token is never stored: it is derived from the session's id with the key ring
(``KeyRing.sign``), so it can be shown again while only its hash is kept, like any connect
token's. A session that was used, expired, or whose token no longer derives (the keys were
rotated) is replaced by a new one on the next read. An ORGANIZATION connection has no
workspace for a connect page and so no reconnect session.
"""

from __future__ import annotations

from datetime import UTC, datetime

from server.config import Settings
from server.connect import service as connect
from server.connect.models import ConnectSession
from server.connections import health as healths
from server.connections.models import Connection
from server.crypto import KeyRing
from server.events import EventBus
from server.scope import Scope

PURPOSE = "reconnect-session-token"


def token_for(key_ring: KeyRing, session_id: str) -> str:
    """The connect token of a reconnect session, derived from its id."""
    return connect.TOKEN_PREFIX + key_ring.sign(session_id, purpose=PURPOSE)


def _usable(session: ConnectSession | None, key_ring: KeyRing) -> bool:
    return (
        session is not None
        and session.status == "PENDING"
        and session.expires_at > datetime.now(UTC)
        and session.token_hash == connect.hash_token(token_for(key_ring, session.id))
    )


async def reconnect_session(
    *, settings: Settings, key_ring: KeyRing, connection: Connection, bus: EventBus | None = None
) -> connect.NewConnectSession | None:
    """The connection's ready reconnect session (made when it has none that can still be
    used), or None when it does not need re-authorization or has no workspace."""
    if connection.health != healths.NEEDS_REAUTHORIZATION or connection.workspace_id is None:
        return None
    current = connection.reconnect_session_id
    session = await ConnectSession.get_or_none(id=current) if current else None
    if not _usable(session, key_ring):
        made = await connect.create_connect_session(
            scope=Scope(organization_id=connection.organization_id),
            settings=settings,
            workspace_id=connection.workspace_id,
            reconnect_connection_id=connection.id,
            bus=bus,
            token_for=lambda session_id: token_for(key_ring, session_id),
            ttl_seconds=settings.reconnect_session_ttl_seconds,
        )
        # Claimed only if nobody made one meanwhile; else theirs is the one.
        claimed = await Connection.filter(id=connection.id, reconnect_session_id=current).update(
            reconnect_session_id=made.session.id
        )
        if claimed:
            connection.reconnect_session_id = made.session.id
            return made
        await made.session.delete()
        await connection.refresh_from_db()
        session = await ConnectSession.get_or_none(id=connection.reconnect_session_id or "")
        if not _usable(session, key_ring):
            return None
    assert session is not None
    token = token_for(key_ring, session.id)
    return connect.NewConnectSession(
        session=session, token=token, connect_url=connect.connect_url(settings, token)
    )
