"""Settings schemas and stream discovery read the account through the refreshing credential
path of syncs and ``testConnection``: an expired OAuth token is refreshed first, a revoked grant
NEEDS_REAUTHORIZATION, a provider that cannot be reached is named so. Against the OAuth
authorization server emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from server.connections.models import Connection
from server.connectors import registry
from server.connectors.base import StreamSpec
from server.crypto import load_key_ring
from server.errors import CheckFailed
from server.scope import Scope
from server.syncs import service as syncs
from server.syncs.sources import offered_streams
from tests.emulators.oauth_provider import OAuthProvider, serve_app
from tests.proxy.test_refresh import _oauth_connection, _refreshes

CONTACTS = StreamSpec(
    name="contacts",
    primary_key=("id",),
    record_schema={"type": "object", "properties": {"id": {"type": "integer"}}},
)


def _reading(module: Any, seen: list[str]) -> SimpleNamespace:
    """``module`` with discovery and settings options that note the access token they got."""

    async def discover(context: Any, credentials: Any, settings: Any) -> list[StreamSpec]:
        seen.append(credentials["access_token"])
        return [CONTACTS]

    async def settings_options(context: Any, credentials: Any, partial: Any) -> dict[str, Any]:
        seen.append(context.credentials["access_token"])
        return {}

    return SimpleNamespace(
        SPEC=module.SPEC,
        check=module.check,
        read=module.read,
        discover=discover,
        settings_options=settings_options,
    )


async def _expired(provider, url, tenant, settings, monkeypatch, seen):  # type: ignore[no-untyped-def]
    connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
    monkeypatch.setitem(registry.CONNECTORS, "acme_crm", _reading(registry.CONNECTORS["acme_crm"], seen))
    await Connection.filter(id=connection.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=5))
    provider.revoke_access_tokens()  # the expired token is refused
    return await Connection.get(id=connection.id)


async def test_discovery_refreshes_an_expired_token_first(tenant, settings, monkeypatch):
    provider, seen = OAuthProvider(), []
    async with serve_app(provider.app()) as url:
        connection = await _expired(provider, url, tenant, settings, monkeypatch, seen)
        offered = await offered_streams(
            settings=settings, key_ring=load_key_ring(settings), connection=connection, sync_settings={}
        )
    assert list(offered) == ["contacts"]
    assert len(_refreshes(provider)) == 1
    assert seen and seen[0] != "at_first" and seen[0] in provider.access_tokens


async def test_the_settings_schema_refreshes_an_expired_token_first(tenant, settings, monkeypatch):
    provider, seen = OAuthProvider(), []
    async with serve_app(provider.app()) as url:
        connection = await _expired(provider, url, tenant, settings, monkeypatch, seen)
        await syncs.connection_settings_schema(
            scope=Scope(organization_id=tenant.organization_id),
            settings=settings,
            key_ring=load_key_ring(settings),
            connection_id=connection.id,
            partial_settings=None,
        )
    assert len(_refreshes(provider)) == 1
    assert seen and seen[0] in provider.access_tokens


async def test_discovery_with_a_revoked_grant_needs_reauthorization(tenant, settings, monkeypatch):
    provider, seen = OAuthProvider(), []
    async with serve_app(provider.app()) as url:
        connection = await _expired(provider, url, tenant, settings, monkeypatch, seen)
        provider.refuse_refresh = True
        with pytest.raises(CheckFailed) as refused:
            await offered_streams(
                settings=settings, key_ring=load_key_ring(settings), connection=connection, sync_settings={}
            )
    assert "invalid_grant" in refused.value.message
    stored = await Connection.get(id=connection.id)
    assert (stored.status, stored.health) == ("ERROR", "NEEDS_REAUTHORIZATION")
    assert seen == []


async def test_discovery_names_a_provider_it_cannot_reach(tenant, settings, monkeypatch):
    provider, seen = OAuthProvider(), []
    async with serve_app(provider.app()) as url:
        connection = await _expired(provider, url, tenant, settings, monkeypatch, seen)
    with pytest.raises(CheckFailed) as failed:  # the provider is gone
        await offered_streams(
            settings=settings, key_ring=load_key_ring(settings), connection=connection, sync_settings={}
        )
    assert "could not reach" in failed.value.message and "refused" not in failed.value.message
    stored = await Connection.get(id=connection.id)
    assert stored.status == "ACTIVE"
