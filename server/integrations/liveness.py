"""Liveness checks: every connection (API keys too) is checked with its provider now and then,
and every OAuth grant refreshed at least every ``WEIR_OAUTH_KEEPALIVE_SECONDS``, so a dead
grant or key is found before a sync needs it and a grant that expires when unused stays alive.

The scheduler calls ``check_due_connections`` each tick. A connection whose ``next_check_at``
was never set (new, or older than these checks) is first given one, at a random point of the
interval (of the keep-alive, for an OAuth grant): a new connection was just checked, and a
fleet that upgrades is not checked all at once. A connection is due when its
``next_check_at`` has passed. Each is claimed with a compare-and-set of
``next_check_at`` (one guarded UPDATE: two schedulers never check the same connection twice),
then checked through ``server.connections.service.check_connection`` with the refreshing
credential path of syncs and ``testConnection``, so every outcome reaches the one home of
health changes. The next check is ``WEIR_CONNECTION_CHECK_INTERVAL_SECONDS`` away, jittered by
up to a tenth either way so connections created together are not checked together; a
DEGRADED one is retried after ``WEIR_CONNECTION_CHECK_RETRY_SECONDS``, doubling per failure
up to the interval; an OAuth grant's next check is no later than its keep-alive refresh.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from tortoise.exceptions import DoesNotExist
from tortoise.expressions import Q

from server.config import Settings
from server.connections import health as healths
from server.connections import service as connections
from server.connections.check_limits import CheckLimiter
from server.connections.models import Connection
from server.connections.status import record_check
from server.crypto import KeyRing
from server.errors import CheckFailed, WeirError
from server.events import EventBus
from server.integrations import catalog
from server.integrations.refresh import OAUTH_AUTH_TYPES, credential_source, fresh_credentials
from server.scope import Scope

log = logging.getLogger("weir.liveness")

JITTER = 0.1  # the next check is the interval times 1 +/- this, at random
CLAIM_SECONDS = 600.0  # a claimed check that never finished is due again after this
PLAN_FACTOR = 10  # connections given a first check per tick, per connection checked


def next_check(
    *,
    settings: Settings,
    connection: Connection,
    now: datetime,
    uniform: Callable[[float, float], float] = random.uniform,
) -> datetime:
    """When to check ``connection`` next, after a check that left it as it is now."""
    interval = settings.connection_check_interval_seconds
    if connection.health == healths.DEGRADED:
        failures = max(1, connection.check_failures or 1)
        delay = min(settings.connection_check_retry_seconds * 2 ** (failures - 1), interval)
    else:
        delay = interval * (1 + uniform(-JITTER, JITTER))
    if connection.auth_type in OAUTH_AUTH_TYPES and connection.status == "ACTIVE":
        delay = min(delay, settings.oauth_keepalive_seconds)
    return now + timedelta(seconds=delay)


def keepalive_due(*, settings: Settings, connection: Connection, now: datetime) -> bool:
    """Whether an OAuth grant has gone unrefreshed for ``WEIR_OAUTH_KEEPALIVE_SECONDS``."""
    if connection.auth_type not in OAUTH_AUTH_TYPES or connection.status != "ACTIVE":
        return False
    last = connection.last_refreshed_at or connection.created_at
    return last is None or now - last >= timedelta(seconds=settings.oauth_keepalive_seconds)


async def plan_unscheduled(
    *,
    settings: Settings,
    now: datetime,
    limit: int,
    uniform: Callable[[float, float], float] = random.uniform,
) -> int:
    """Give up to ``limit`` connections without a ``next_check_at`` one, spread at random over
    the next interval; return how many."""
    rows = await Connection.filter(next_check_at__isnull=True).order_by("id").limit(limit)
    planned = 0
    for connection in rows:
        span = settings.connection_check_interval_seconds
        if connection.auth_type in OAUTH_AUTH_TYPES:
            span = min(span, settings.oauth_keepalive_seconds)
        at = now + timedelta(seconds=uniform(0.0, span))
        planned += await Connection.filter(id=connection.id, next_check_at__isnull=True).update(
            next_check_at=at
        )
    return planned


async def claim(connection: Connection, *, now: datetime) -> bool:
    """Take ``connection``'s due check for this process: move its ``next_check_at`` past the
    claim window only if nobody moved it since it was read."""
    guard = (
        Q(next_check_at__isnull=True)
        if connection.next_check_at is None
        else Q(next_check_at=connection.next_check_at)
    )
    until = now + timedelta(seconds=CLAIM_SECONDS)
    claimed = await Connection.filter(guard, id=connection.id).update(next_check_at=until)
    if claimed:
        connection.next_check_at = until
    return bool(claimed)


async def check_due_connections(
    *,
    settings: Settings,
    key_ring: KeyRing,
    http: httpx.AsyncClient,
    bus: EventBus | None,
    now: datetime | None = None,
    uniform: Callable[[float, float], float] = random.uniform,
) -> list[str]:
    """Check up to ``WEIR_CONNECTION_CHECKS_PER_TICK`` due connections; return their ids."""
    limit = settings.connection_checks_per_tick
    if limit <= 0:
        return []
    now = now or datetime.now(UTC)
    await plan_unscheduled(settings=settings, now=now, limit=limit * PLAN_FACTOR, uniform=uniform)
    due = await Connection.filter(next_check_at__lte=now).order_by("next_check_at", "id").limit(limit)
    limiter = CheckLimiter(per_minute=0, reuse_seconds=0)
    checked = []
    for connection in due:
        if not await claim(connection, now=now):
            continue  # another scheduler took it
        try:
            await _check(
                settings=settings,
                key_ring=key_ring,
                http=http,
                bus=bus,
                connection=connection,
                now=now,
                limiter=limiter,
            )
        except Exception:
            log.exception("liveness check of connection %s failed", connection.id)
        await _schedule(settings=settings, connection=connection, uniform=uniform)
        checked.append(connection.id)
    return checked


async def _check(
    *,
    settings: Settings,
    key_ring: KeyRing,
    http: httpx.AsyncClient,
    bus: EventBus | None,
    connection: Connection,
    now: datetime,
    limiter: CheckLimiter,
) -> None:
    if keepalive_due(settings=settings, connection=connection, now=now):
        try:
            await fresh_credentials(
                settings=settings, key_ring=key_ring, connection=connection, http=http, bus=bus, force=True
            )
        except (CheckFailed, httpx.HTTPError, OSError, TimeoutError) as exc:
            await connection.refresh_from_db()
            if connection.status == "ACTIVE":  # not refused: the provider could not answer
                message = (
                    exc.message
                    if isinstance(exc, CheckFailed)
                    else (f"could not reach the provider to refresh the token ({exc.__class__.__name__})")
                )
                await record_check(connection=connection, ok=False, reachable=False, reason=message, bus=bus)
            return  # a refused refresh already made it NEEDS_REAUTHORIZATION
    try:
        connector = await catalog.connector_for(
            settings=settings,
            organization_id=connection.organization_id,
            workspace_id=connection.workspace_id,
            name=connection.integration_name,
        )
    except WeirError as exc:
        log.warning("connection %s was not checked: %s", connection.id, exc)
        return
    if getattr(connector, "check", None) is None:
        return  # nothing to ask its provider (no credentials to check)
    try:
        await connections.check_connection(
            scope=Scope(organization_id=connection.organization_id),
            key_ring=key_ring,
            settings=settings,
            connection_id=connection.id,
            limiter=limiter,
            http=http,
            bus=bus,
            connectors=catalog.resolver(settings),
            fresh=credential_source(settings=settings, key_ring=key_ring, http=http, bus=bus),
        )
    except WeirError as exc:
        log.warning("connection %s was not checked: %s", connection.id, exc)


async def _schedule(
    *, settings: Settings, connection: Connection, uniform: Callable[[float, float], float]
) -> None:
    try:
        await connection.refresh_from_db()
    except DoesNotExist:
        return  # deleted meanwhile
    failures = (connection.check_failures or 0) + 1 if connection.health == healths.DEGRADED else 0
    connection.check_failures = failures
    at = next_check(settings=settings, connection=connection, now=datetime.now(UTC), uniform=uniform)
    await Connection.filter(id=connection.id).update(next_check_at=at, check_failures=failures)
    connection.next_check_at = at
