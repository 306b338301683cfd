"""Deleting a connection revokes its OAuth grant at the provider (RFC 7009), where it can.

A deleted connection's tokens would otherwise stay valid at the provider until they expire (a
refresh token: often for good), and the end user's account would keep listing the host's app as
connected. So before the rows go, ``delete_connection`` and ``delete_end_user`` read what a
revocation needs (the refresh token, else the access token; the OAuth app; the revocation URL
filled with the connection's parameters), delete, and then post ``token`` and
``token_type_hint`` to the provider's revocation endpoint with the app's client
authentication, through the outbound guard.

Revocation is best effort and never undoes or fails the deletion: an integration without a
``revocation_url``, an app removed meanwhile, or a provider that refuses or cannot be reached
is logged and counted in ``weir_oauth_revocations_total{outcome}``. The deletion waits for it,
at most ``REVOKE_TIMEOUT_SECONDS`` per grant and ``REVOKE_CONCURRENCY`` grants at a time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from server import counters
from server.config import Settings
from server.connections import deletion
from server.connections import service as connections
from server.connections.credentials import OAUTH_TYPES
from server.connections.models import Connection
from server.counters import CounterSpec
from server.crypto import KeyRing
from server.errors import ValidationFailed
from server.events import EventBus
from server.integrations.oauth import OAuthClient, authenticated_form, connection_client, endpoint
from server.orgs import service as orgs
from server.scope import Scope

log = logging.getLogger("weir.oauth")

REVOKE_TIMEOUT_SECONDS = 5.0
REVOKE_CONCURRENCY = 4
REVOCATIONS = CounterSpec(
    "weir_oauth_revocations_total",
    "OAuth grants of deleted connections revoked at the provider, by outcome: revoked, refused "
    "(the provider answered an error) or unreachable.",
    ("outcome",),
)


@dataclass(frozen=True)
class PendingRevocation:
    """What revoking one deleted connection's grant needs, read before the rows go."""

    connection_id: str
    client: OAuthClient
    url: str
    token: str
    token_type_hint: str


async def pending_revocation(
    *, settings: Settings, key_ring: KeyRing, connection: Connection
) -> PendingRevocation | None:
    """The revocation to make once ``connection`` is deleted; None when there is none to make
    (not OAuth, no revocation URL, no app any more, no token)."""
    if connection.auth_type not in OAUTH_TYPES:
        return None
    try:
        client = await connection_client(settings=settings, key_ring=key_ring, connection=connection)
        template = client.spec.oauth.revocation_url if client.spec.oauth else None
        url = endpoint(client, template) if template else None
    except ValidationFailed as exc:
        log.info("connection %s: no revocation (%s)", connection.id, exc.errors[0].message)
        return None
    if url is None:
        return None
    credentials = connections.load_credentials(key_ring=key_ring, connection=connection)
    # Revoking the refresh token ends the grant (and, at RFC 7009 providers, its access tokens).
    for hint in ("refresh_token", "access_token"):
        token = credentials.get(hint)
        if isinstance(token, str) and token:
            return PendingRevocation(connection.id, client, url, token, hint)
    return None


async def revoke(*, http: httpx.AsyncClient, pending: PendingRevocation) -> str:
    """Post one revocation; return its outcome (``revoked``, ``refused`` or ``unreachable``).
    RFC 7009 answers 200 for a token it revoked and for one already invalid alike."""
    headers, fields = authenticated_form(
        pending.client, {"token": pending.token, "token_type_hint": pending.token_type_hint}
    )
    try:
        response = await http.post(
            pending.url, content=urlencode(fields), headers=headers, timeout=REVOKE_TIMEOUT_SECONDS
        )
    except httpx.HTTPError as exc:  # refused by the outbound guard, closed, timed out
        log.warning(
            "could not reach %s to revoke the grant of deleted connection %s (%s)",
            pending.client.spec.name,
            pending.connection_id,
            exc.__class__.__name__,
        )
        return "unreachable"
    if response.is_success:
        log.info("revoked the OAuth grant of deleted connection %s", pending.connection_id)
        return "revoked"
    log.warning(
        "%s refused to revoke the grant of deleted connection %s (HTTP %d)",
        pending.client.spec.name,
        pending.connection_id,
        response.status_code,
    )
    return "refused"


async def revoke_all(*, http: httpx.AsyncClient, pending: list[PendingRevocation]) -> list[str]:
    """Every revocation, a few at a time; their outcomes, counted."""
    if not pending:
        return []
    gate = asyncio.Semaphore(REVOKE_CONCURRENCY)

    async def one(item: PendingRevocation) -> str:
        async with gate:
            return await revoke(http=http, pending=item)

    outcomes = list(await asyncio.gather(*(one(item) for item in pending)))
    increments = counters.Increments()
    for outcome in outcomes:
        increments.count(REVOCATIONS, outcome=outcome)
    try:
        await counters.add(increments)
    except Exception as exc:  # a deletion never fails for its count
        log.warning("revocations not counted (%s)", exc.__class__.__name__)
    return outcomes


async def delete_connection(
    *, scope: Scope, settings: Settings, key_ring: KeyRing, http: httpx.AsyncClient, connection_id: str
) -> str:
    """Delete a connection (and the syncs that read from it), then revoke its grant."""
    connection = await connections.get_usable_connection(
        scope=scope, connection_id=connection_id, action="delete"
    )
    pending = await pending_revocation(settings=settings, key_ring=key_ring, connection=connection)
    deleted = await deletion.delete_connection(scope=scope, connection_id=connection_id)
    await revoke_all(http=http, pending=[pending] if pending else [])
    return deleted


async def delete_end_user(
    *,
    scope: Scope,
    settings: Settings,
    key_ring: KeyRing,
    http: httpx.AsyncClient,
    end_user_id: str,
    bus: EventBus | None,
) -> str:
    """Delete an end user with its connections, then revoke their grants."""
    end_user = await orgs.get_end_user(scope=scope, end_user_id=end_user_id)
    pending = [
        item
        for connection in await Connection.filter(end_user_id=end_user.id)
        if (item := await pending_revocation(settings=settings, key_ring=key_ring, connection=connection))
    ]
    deleted = await deletion.delete_end_user(scope=scope, end_user_id=end_user_id, bus=bus)
    await revoke_all(http=http, pending=pending)
    return deleted
