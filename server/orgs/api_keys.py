"""API keys: ``weir_sk_`` + 256 random bits, shown once, stored as a SHA-256 with a prefix.

A SHA-256 is enough here (unlike for passwords): the secret has 256 bits of entropy, so there is
nothing to brute-force, and a fast hash keeps every request's authentication cheap.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server import ids
from server.errors import NotFound, ValidationFailed
from server.events import EventBus
from server.orgs import rows
from server.orgs.models import ApiKey, Workspace
from server.orgs.rows import ApiKeyRow
from server.pagination import Page, paginate_rows
from server.revocations import API_KEY, publish_revocation
from server.scope import Scope
from server.validation import check_text

KEY_PREFIX = "weir_sk_"
VISIBLE_PREFIX_LENGTH = len(KEY_PREFIX) + 6
# lastUsedAt is written at most this often per key, so reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=5)
MAX_SECRET_LENGTH = 200


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    secret: str  # returned to the caller once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_api_key(*, organization_id: str, name: str, workspace_id: str | None = None) -> NewApiKey:
    """A new key for the organization (optionally restricted to one workspace)."""
    problem = check_text("input.name", name, max_length=200)
    if problem:
        raise ValidationFailed(problem)
    if workspace_id is not None and not await Workspace.exists(
        id=workspace_id, organization_id=organization_id
    ):
        raise NotFound("workspace", workspace_id)
    secret = generate_secret()
    api_key = await ApiKey.create(
        id=ids.new_id("api_key"),
        organization_id=organization_id,
        workspace_id=workspace_id,
        name=name.strip(),
        prefix=secret[:VISIBLE_PREFIX_LENGTH],
        secret_hash=hash_secret(secret),
    )
    return NewApiKey(api_key=api_key, secret=secret)


async def create_scoped_api_key(*, scope: Scope, name: str, workspace_id: str | None) -> NewApiKey:
    """``createApiKey``: a restricted caller can only make keys for its own workspace."""
    if scope.workspace_id is not None:
        if workspace_id is None:
            workspace_id = scope.workspace_id
        scope.check_workspace(workspace_id)
    return await create_api_key(organization_id=scope.organization_id, name=name, workspace_id=workspace_id)


async def list_api_keys(
    *, scope: Scope, first: int | None, after: str | None, max_page_size: int
) -> Page[ApiKeyRow]:
    """Keys of the organization (revoked ones included, marked by ``revoked_at``)."""
    where = [("organization_id", scope.organization_id)]
    if scope.workspace_id is not None:
        where.append(("workspace_id", scope.workspace_id))
    return await paginate_rows(rows.api_keys, where, first=first, after=after, max_page_size=max_page_size)


async def get_api_key(*, scope: Scope, api_key_id: str) -> ApiKey:
    """One key of the caller's organization (and workspace, when restricted)."""
    api_key = await ApiKey.get_or_none(id=api_key_id, organization_id=scope.organization_id)
    if api_key is None or (scope.workspace_id is not None and api_key.workspace_id != scope.workspace_id):
        raise NotFound("API key", api_key_id)
    return api_key


async def revoke_api_key(*, scope: Scope, api_key_id: str, bus: EventBus | None = None) -> ApiKey:
    """Revoke a key. Through ``bus`` every API process hears of it (server.auth.revocation):
    it stops authenticating and its open WebSockets are closed."""
    api_key = await get_api_key(scope=scope, api_key_id=api_key_id)
    if api_key.revoked_at is None:
        api_key.revoked_at = datetime.now(UTC)
        await api_key.save(update_fields=["revoked_at"])
    await publish_revocation(bus, kind=API_KEY, object_id=api_key.id)
    return api_key


async def revoke_api_key_by_prefix_or_id(*, identifier: str, bus: EventBus | None = None) -> ApiKey:
    """For the CLI: revoke by id or by the visible prefix (which must match exactly one key)."""
    rows = await ApiKey.filter(id=identifier) or await ApiKey.filter(prefix=identifier)
    if len(rows) != 1:
        raise NotFound("API key", identifier)
    scope = Scope(organization_id=rows[0].organization_id)
    return await revoke_api_key(scope=scope, api_key_id=rows[0].id, bus=bus)


async def key_for_secret(secret_hash: str) -> ApiKey | None:
    """The unrevoked key stored with ``secret_hash``, its ``last_used_at`` brought up to date
    (to within ``LAST_USED_RESOLUTION``); ``None`` when there is none. Deciding what the caller
    may do with it is server.auth's part."""
    api_key = await ApiKey.get_or_none(secret_hash=secret_hash, revoked_at=None)
    if api_key is None:
        return None
    now = datetime.now(UTC)
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        await ApiKey.filter(id=api_key.id).update(last_used_at=now)
    return api_key
