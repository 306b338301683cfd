"""OAuth token refresh: before expiry and on a provider 401, once per connection at a time.

Callers never refresh by hand. ``fresh_credentials`` returns usable credentials, refreshing
them first when they expire within ``REFRESH_MARGIN``; ``connector_context`` hands connectors a
``refresh_credentials`` callback for a 401; ``refresh_due_connections`` is the periodic sweep.

Concurrent users of one connection share one refresh: an ``asyncio.Lock`` per connection, and
whoever waited re-reads the row and reuses the token the first one got. Across processes, the
refresh lease on the row (``refresh_lease_until``, taken by a conditional update) lets one
process refresh while the others wait for its tokens; a lease lapses after ``REFRESH_LEASE``
should its holder die. When the provider refuses a refresh token that was rotated meanwhile,
the row is read again too.
A provider saying ``invalid_grant`` puts the connection in ``ERROR`` and publishes
``connection.status_changed``.

It lives with integrations, not connections, because a refresh needs the workspace
integration's OAuth app (``server.integrations.oauth``).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tortoise.expressions import Q

from server import counters
from server.config import Settings
from server.connections import credentials as connections_credentials
from server.connections import service as connections
from server.connections.models import Connection
from server.connections.status import NEEDS_REAUTHORIZATION, set_status
from server.connectors import budget
from server.connectors.base import ConnectorContext
from server.counters import CounterSpec
from server.crypto import KeyRing
from server.errors import CheckFailed, ValidationFailed
from server.events import EventBus
from server.integrations import catalog
from server.integrations.oauth import TokenError, connection_client, request_token, token_credentials

log = logging.getLogger("weir.refresh")

OAUTH_AUTH_TYPES = connections_credentials.OAUTH_TYPES
REFRESH_MARGIN = timedelta(minutes=5)
# How long one process may hold a connection's refresh: past the token request's own timeout,
# so it only lapses for a process that died mid-refresh.
REFRESH_LEASE = timedelta(seconds=30)
LEASE_POLL_SECONDS = 0.1
REFRESHES = CounterSpec(
    "weir_oauth_refreshes_total",
    "OAuth token refreshes by outcome: succeeded, failed (to be retried) or revoked (the "
    "connection needs re-authorization).",
    ("outcome",),
)

# Weak: a connection's lock lives while someone holds or waits on it, so the map does not grow
# with every connection ever refreshed.
_locks: weakref.WeakValueDictionary[tuple[int, str], asyncio.Lock] = weakref.WeakValueDictionary()


def _lock_for(connection_id: str) -> asyncio.Lock:
    # asyncio locks belong to one loop; the API and the embedded worker run different loops.
    key = (id(asyncio.get_running_loop()), connection_id)
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = asyncio.Lock()
    return lock


def refresh_margin(connection: Connection) -> timedelta:
    """How long before its expiry a token is refreshed: ``REFRESH_MARGIN``, or a fifth of the
    token's lifetime when that is shorter. A five-minute token is refreshed in its last minute,
    not on every use, as a fixed five-minute margin would do."""
    issued = connection.last_refreshed_at or connection.created_at
    if connection.expires_at is None or issued is None or connection.expires_at <= issued:
        return REFRESH_MARGIN
    return min(REFRESH_MARGIN, (connection.expires_at - issued) / 5)


def needs_refresh(connection: Connection, *, margin: timedelta | None = None) -> bool:
    return (
        connection.auth_type in OAUTH_AUTH_TYPES
        and connection.expires_at is not None
        and connection.expires_at - datetime.now(UTC) <= (margin or refresh_margin(connection))
    )


async def fresh_credentials(
    *,
    settings: Settings,
    key_ring: KeyRing,
    connection: Connection,
    http: httpx.AsyncClient,
    bus: EventBus | None,
    force: bool = False,
) -> dict[str, Any]:
    """Credentials ready to use; refreshed first when near expiry (or ``force``, after a 401)."""
    credentials = connections.load_credentials(key_ring=key_ring, connection=connection)
    if connection.auth_type not in OAUTH_AUTH_TYPES or not (force or needs_refresh(connection)):
        return credentials
    seen = credentials.get("access_token")
    async with _lock_for(connection.id):
        await connection.refresh_from_db()
        credentials = connections.load_credentials(key_ring=key_ring, connection=connection)
        if credentials.get("access_token") != seen:
            return credentials  # refreshed by whoever held the lock before us
        if not force and not needs_refresh(connection):
            return credentials
        if not await _take_lease(connection):
            # Another process is refreshing it: wait for its tokens rather than send the same
            # refresh token twice (a provider detecting reuse may revoke the whole grant).
            return await _after_other_refresh(key_ring=key_ring, connection=connection, seen=seen)
        try:
            refreshed = await _refresh(
                settings=settings,
                key_ring=key_ring,
                connection=connection,
                credentials=credentials,
                http=http,
                bus=bus,
            )
        except Exception:
            revoked = connection.health == NEEDS_REAUTHORIZATION
            await _count_refresh("revoked" if revoked else "failed")
            raise
        finally:
            await _release_lease(connection)
        await _count_refresh("succeeded")
        return refreshed


async def _take_lease(connection: Connection) -> bool:
    """Hold the connection's refresh lease (free, or left expired by a process that died)."""
    now = datetime.now(UTC)
    taken = await Connection.filter(
        Q(refresh_lease_until__isnull=True) | Q(refresh_lease_until__lt=now), id=connection.id
    ).update(refresh_lease_until=now + REFRESH_LEASE)
    return taken == 1


async def _release_lease(connection: Connection) -> None:
    try:
        await Connection.filter(id=connection.id).update(refresh_lease_until=None)
    except Exception as exc:  # it lapses by itself
        log.warning("refresh lease of %s not released (%s)", connection.id, exc.__class__.__name__)


async def _after_other_refresh(*, key_ring: KeyRing, connection: Connection, seen: Any) -> dict[str, Any]:
    """The credentials another process's refresh stored, once its lease is released (or has
    lapsed); ``CheckFailed`` when that refresh left the token as it was."""
    deadline = asyncio.get_running_loop().time() + REFRESH_LEASE.total_seconds()
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(LEASE_POLL_SECONDS)
        await connection.refresh_from_db()
        lease = connection.refresh_lease_until
        if lease is None or lease < datetime.now(UTC):
            break
    credentials = connections.load_credentials(key_ring=key_ring, connection=connection)
    if credentials.get("access_token") != seen:
        return credentials
    raise CheckFailed(connection.status_reason or "the token refresh of another process failed; will retry")


async def _count_refresh(outcome: str) -> None:
    """Add one refresh to ``weir_oauth_refreshes_total``; a refresh never fails for its count."""
    try:
        await counters.add(counters.Increments().count(REFRESHES, outcome=outcome))
    except Exception as exc:
        log.warning("refresh not counted (%s)", exc.__class__.__name__)


def credential_source(
    *, settings: Settings, key_ring: KeyRing, http: httpx.AsyncClient, bus: EventBus | None
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """``fresh_credentials`` with the process's parts bound, for the checks of the layer below
    (``server.connections.service.check_connection``'s ``fresh``)."""

    async def source(connection: Connection, *, force: bool = False) -> dict[str, Any]:
        return await fresh_credentials(
            settings=settings, key_ring=key_ring, connection=connection, http=http, bus=bus, force=force
        )

    return source


async def _refresh(
    *,
    settings: Settings,
    key_ring: KeyRing,
    connection: Connection,
    credentials: dict[str, Any],
    http: httpx.AsyncClient,
    bus: EventBus | None,
) -> dict[str, Any]:
    refresh_token = credentials.get("refresh_token")
    if not refresh_token:
        reason = "The access token expired and the provider gave no refresh token; reconnect."
        await set_status(connection=connection, status="ERROR", reason=reason, bus=bus)
        raise CheckFailed(reason)
    try:
        client = await connection_client(settings=settings, key_ring=key_ring, connection=connection)
    except ValidationFailed as exc:
        raise CheckFailed(exc.errors[0].message) from None
    try:
        token = await request_token(
            http=http, client=client, grant_type="refresh_token", refresh_token=refresh_token
        )
    except TokenError as exc:
        if exc.error == "unreachable":
            raise CheckFailed("could not reach the provider to refresh the token; will retry") from None
        if exc.error != "invalid_grant":
            raise CheckFailed(f"token refresh failed ({exc.error}); will retry") from None
        await connection.refresh_from_db()
        current = connections.load_credentials(key_ring=key_ring, connection=connection)
        if current.get("refresh_token") != refresh_token:
            return current  # another process rotated the token a moment ago
        reason = (
            "The provider refused the refresh token (invalid_grant): access was revoked "
            "or expired. Reconnect to restore it."
        )
        await set_status(connection=connection, status="ERROR", reason=reason, bus=bus)
        raise CheckFailed(reason) from None
    new_credentials, expires_at = token_credentials(token, previous=credentials)
    # replace_credentials also stamps last_refreshed_at and brings the status back to ACTIVE.
    await connections.replace_credentials(
        key_ring=key_ring,
        connection=connection,
        credentials=new_credentials,
        expires_at=expires_at,
        bus=bus,
        spec=client.spec,
    )
    log.info("refreshed the OAuth token of connection %s", connection.id)
    return new_credentials


async def connector_context(
    *,
    settings: Settings,
    key_ring: KeyRing,
    connection: Connection,
    http: httpx.AsyncClient,
    bus: EventBus | None,
    caller: str = "sync",
    connector: Any = None,
) -> ConnectorContext:
    """A connector context with fresh credentials, a refresh callback for a provider 401, and
    the connection's rate budget shared by every caller of this process (and, through Redis,
    of every process): ``caller`` ("sync", "action", "proxy", "check") sets its priority.
    ``connector`` is the connection's, when the caller already has it (``catalog.connector_for``
    otherwise)."""
    credentials = await fresh_credentials(
        settings=settings, key_ring=key_ring, connection=connection, http=http, bus=bus
    )
    if connector is None:
        connector = await catalog.connector_for(
            settings=settings,
            organization_id=connection.organization_id,
            workspace_id=connection.workspace_id,
            name=connection.integration_name,
        )
    context = connections.connector_context(
        settings=settings,
        connector=connector,
        http=http,
        credentials=credentials,
        parameters=connection.parameters,
    )
    context.connection_id = connection.id
    context.caller = caller
    context.budget = budget.shared.for_url(settings.redis_url)
    if connection.auth_type in OAUTH_AUTH_TYPES:

        async def on_unauthorized() -> dict[str, Any]:
            refreshed = await fresh_credentials(
                settings=settings, key_ring=key_ring, connection=connection, http=http, bus=bus, force=True
            )
            context.credentials = refreshed
            return refreshed

        context.refresh_credentials = on_unauthorized
    return context


async def refresh_due_connections(
    *,
    settings: Settings,
    key_ring: KeyRing,
    http: httpx.AsyncClient,
    bus: EventBus | None,
    margin: timedelta = REFRESH_MARGIN,
) -> list[str]:
    """Refresh every active OAuth connection expiring within ``margin``; return their ids."""
    due = await Connection.filter(
        auth_type__in=OAUTH_AUTH_TYPES,
        status="ACTIVE",
        expires_at__lte=datetime.now(UTC) + margin,
    ).order_by("expires_at")
    refreshed = []
    for connection in due:
        try:
            await fresh_credentials(
                settings=settings, key_ring=key_ring, connection=connection, http=http, bus=bus
            )
        except CheckFailed as exc:
            log.warning("could not refresh connection %s: %s", connection.id, exc.message)
            continue
        refreshed.append(connection.id)
    return refreshed
