"""Who is calling: the one function HTTP and WebSocket both authenticate through.

A request presents one secret: over HTTP in ``Authorization: Bearer <secret>`` (or, for Weld
clients, ``x-api-key``); over WebSocket in the ``connection_init`` payload, under the same names.
``Authenticator.authenticate`` turns it into a ``Scope``:

- an API key (``weir_sk_``, server.orgs.api_keys) grants its organization, or one workspace of
  it; a key that authenticated in the last ``AUTH_CACHE_SECONDS`` is answered from memory;
- a connect token (``weir_ct_``, server.connect.service) grants a ``ConnectScope``: its own
  session, and only the operations ``server.auth.connect_token`` lists;
- anything else, or nothing, is ``Unauthenticated`` (``UNAUTHENTICATED``).

The operator's ``/metrics`` token is no tenant's credential: ``operator_token_matches`` checks it.

Revoked credentials stop granting anything at once: ``forget_api_key`` is called by the revoking
resolver and by the revocation listener (server.auth.revocation) for every other process.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from server.auth.key_cache import ApiKeyCache
from server.connect import service as connect_sessions
from server.errors import Unauthenticated
from server.events import EventBus
from server.orgs import api_keys
from server.scope import Scope


def secret_from_headers(headers: Mapping[str, str]) -> str | None:
    """The secret of ``Authorization: Bearer <secret>`` or, for Weld clients, ``x-api-key``."""
    authorization = headers.get("authorization") or ""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return (headers.get("x-api-key") or "").strip() or None


def secret_from_connection_params(params: Mapping[str, Any]) -> str | None:
    """The secret of a WebSocket ``connection_init`` payload: ``authorization`` (with or without
    ``Bearer``; ``Authorization`` too) or ``x-api-key``."""
    raw = params.get("authorization") or params.get("Authorization") or params.get("x-api-key")
    if not isinstance(raw, str):
        return None
    scheme, _, value = raw.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else raw.strip()


def operator_token_matches(headers: Mapping[str, str], token: str) -> bool:
    """Whether ``Authorization: Bearer`` carries the operator's ``token`` (``/metrics``'s
    ``WEIR_METRICS_TOKEN``: no tenant's credential, so no scope)."""
    scheme, _, value = (headers.get("authorization") or "").partition(" ")
    # Constant time, on bytes: the comparison must not tell how much of a guess was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass")
    )


class Authenticator:
    """Authenticates secrets for one process; owns its API-key cache (built and dropped with the
    services container, so nothing outlives the app that made it)."""

    def __init__(self, *, bus: EventBus | None = None, cache: ApiKeyCache | None = None) -> None:
        # The bus carries a connect session's expiry, noticed while authenticating its token.
        self.bus = bus
        self.api_key_cache = cache if cache is not None else ApiKeyCache()

    async def authenticate(self, secret: str | None) -> Scope:
        """The scope ``secret`` grants, or ``Unauthenticated``."""
        if secret and secret.startswith(connect_sessions.TOKEN_PREFIX):
            return await connect_sessions.authenticate_token(secret, bus=self.bus)
        return await self.authenticate_api_key(secret)

    async def authenticate_headers(self, headers: Mapping[str, str]) -> Scope:
        """An HTTP request's caller."""
        return await self.authenticate(secret_from_headers(headers))

    async def authenticate_connection_params(self, params: Mapping[str, Any]) -> Scope:
        """A WebSocket's caller, from its ``connection_init`` payload."""
        return await self.authenticate(secret_from_connection_params(params))

    async def authenticate_api_key(self, secret: str | None) -> Scope:
        """The scope a presented API key grants, or ``Unauthenticated``."""
        if not secret:
            raise Unauthenticated("an API key is required: send 'Authorization: Bearer <key>'")
        if not secret.startswith(api_keys.KEY_PREFIX) or len(secret) > api_keys.MAX_SECRET_LENGTH:
            raise Unauthenticated("the API key is not valid")
        secret_hash = api_keys.hash_secret(secret)
        cached = self.api_key_cache.get(secret_hash)
        if cached is not None:
            return cached
        api_key = await api_keys.key_for_secret(secret_hash)
        if api_key is None:
            raise Unauthenticated("the API key is not valid or has been revoked")
        scope = Scope(
            organization_id=api_key.organization_id, workspace_id=api_key.workspace_id, api_key_id=api_key.id
        )
        self.api_key_cache.put(secret_hash, scope)
        return scope

    def forget_api_key(self, api_key_id: str) -> None:
        """Stop answering for a revoked key from memory."""
        self.api_key_cache.forget_key(api_key_id)
