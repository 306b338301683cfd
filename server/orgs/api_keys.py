"""API keys: ``weir_sk_`` + 256 random bits, shown once, stored as a SHA-256 with a prefix.

A SHA-256 is enough here (unlike for passwords): the secret has 256 bits of entropy, so there is
nothing to brute-force, and a fast hash keeps every request's authentication cheap.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server import ids
from server.errors import NotFound, Unauthenticated, ValidationFailed
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
# An authenticated key is remembered this long in-process. Revoking clears it here at once and,
# through the event bus, in every other API process (server.web.revocation); this lifetime is the
# bound when that event is lost (Redis away, or ``weir keys revoke`` on the embedded default).
AUTH_CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    secret: str  # returned to the caller once, never stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_api_key(
    *, organization_id: str, name: str, workspace_id: str | None = None
) -> NewApiKey:
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
        secret_hash=_hash(secret),
    )
    return NewApiKey(api_key=api_key, secret=secret)


async def create_scoped_api_key(*, scope: Scope, name: str, workspace_id: str | None) -> NewApiKey:
    """``createApiKey``: a restricted caller can only make keys for its own workspace."""
    if scope.workspace_id is not None:
        if workspace_id is None:
            workspace_id = scope.workspace_id
        scope.check_workspace(workspace_id)
    return await create_api_key(
        organization_id=scope.organization_id, name=name, workspace_id=workspace_id
    )


async def list_api_keys(
    *, scope: Scope, first: int | None, after: str | None, max_page_size: int
) -> Page[ApiKeyRow]:
    """Keys of the organization (revoked ones included, marked by ``revoked_at``)."""
    where = [("organization_id", scope.organization_id)]
    if scope.workspace_id is not None:
        where.append(("workspace_id", scope.workspace_id))
    return await paginate_rows(rows.api_keys, where, first=first, after=after,
                               max_page_size=max_page_size)


async def get_api_key(*, scope: Scope, api_key_id: str) -> ApiKey:
    """One key of the caller's organization (and workspace, when restricted)."""
    api_key = await ApiKey.get_or_none(id=api_key_id, organization_id=scope.organization_id)
    if api_key is None or (
        scope.workspace_id is not None and api_key.workspace_id != scope.workspace_id
    ):
        raise NotFound("API key", api_key_id)
    return api_key


async def revoke_api_key(*, scope: Scope, api_key_id: str,
                         bus: EventBus | None = None) -> ApiKey:
    """Revoke a key: it stops authenticating at once in this process and, through ``bus``, in
    every other one, where its open WebSockets are closed."""
    api_key = await get_api_key(scope=scope, api_key_id=api_key_id)
    if api_key.revoked_at is None:
        api_key.revoked_at = datetime.now(UTC)
        await api_key.save(update_fields=["revoked_at"])
    _cache.forget(api_key.secret_hash)
    await publish_revocation(bus, kind=API_KEY, object_id=api_key.id)
    return api_key


async def revoke_api_key_by_prefix_or_id(*, identifier: str,
                                         bus: EventBus | None = None) -> ApiKey:
    """For the CLI: revoke by id or by the visible prefix (which must match exactly one key)."""
    rows = await ApiKey.filter(id=identifier) or await ApiKey.filter(prefix=identifier)
    if len(rows) != 1:
        raise NotFound("API key", identifier)
    scope = Scope(organization_id=rows[0].organization_id)
    return await revoke_api_key(scope=scope, api_key_id=rows[0].id, bus=bus)


class _AuthCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Scope]] = {}

    def get(self, secret_hash: str) -> Scope | None:
        entry = self._entries.get(secret_hash)
        if entry is None or entry[0] < time.monotonic():
            self._entries.pop(secret_hash, None)
            return None
        return entry[1]

    def put(self, secret_hash: str, scope: Scope) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[secret_hash] = (time.monotonic() + AUTH_CACHE_SECONDS, scope)

    def forget(self, secret_hash: str) -> None:
        self._entries.pop(secret_hash, None)

    def forget_key(self, api_key_id: str) -> None:
        # Revocations are rare and the cache is small: a scan beats keeping a second index.
        for secret_hash, (_, scope) in list(self._entries.items()):
            if scope.api_key_id == api_key_id:
                self._entries.pop(secret_hash, None)

    def clear(self) -> None:
        self._entries.clear()


_cache = _AuthCache()


async def authenticate(secret: str | None) -> Scope:
    """The scope a presented key grants, or ``UNAUTHENTICATED``."""
    if not secret:
        raise Unauthenticated("an API key is required: send 'Authorization: Bearer <key>'")
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        raise Unauthenticated("the API key is not valid")
    secret_hash = _hash(secret)
    cached = _cache.get(secret_hash)
    if cached is not None:
        return cached
    api_key = await ApiKey.get_or_none(secret_hash=secret_hash, revoked_at=None)
    if api_key is None:
        raise Unauthenticated("the API key is not valid or has been revoked")
    now = datetime.now(UTC)
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        await ApiKey.filter(id=api_key.id).update(last_used_at=now)
    scope = Scope(
        organization_id=api_key.organization_id,
        workspace_id=api_key.workspace_id,
        api_key_id=api_key.id,
    )
    _cache.put(secret_hash, scope)
    return scope


def forget_api_key(api_key_id: str) -> None:
    """Drop a revoked key from this process's authentication cache."""
    _cache.forget_key(api_key_id)


def clear_auth_cache() -> None:
    _cache.clear()
