"""MISSING_SCOPES: a stream declares the OAuth scopes it needs; a grant stores the scopes its
token response names (on exchange and refresh); a sync selecting a stream the grant lacks
scopes for makes the connection MISSING_SCOPES naming them, and a grant that has them ends it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from server.connections.models import Connection
from server.connectors import registry
from server.connectors.base import ConnectorSpec, RecordBatch, StreamSpec
from server.connectors.definition import parse_definition
from server.crypto import load_key_ring
from server.integrations.refresh import fresh_credentials
from server.scope import Scope
from server.syncs.runner import RunEnvironment
from server.syncs.service import StreamChoice
from server.webhooks.models import WebhookEvent
from tests.emulators.oauth_provider import OAuthProvider, serve_app
from tests.integrations.definitions import oauth_definition
from tests.proxy.test_refresh import _oauth_connection
from tests.syncs.conftest import make_sync, run_once


def _stream(name: str, scopes: tuple[str, ...]) -> StreamSpec:
    return StreamSpec(
        name=name,
        primary_key=("id",),
        record_schema={"type": "object", "properties": {"id": {"type": "integer"}}},
        scopes=scopes,
    )


def _scoped() -> SimpleNamespace:
    async def read(context: Any, stream: str, settings: Any, state: Any) -> AsyncIterator[Any]:
        yield RecordBatch(stream=stream, records=[{"id": 1}])

    spec = ConnectorSpec(
        name="scoped",
        display_name="Scoped",
        category="CRM",
        auth_types=("NONE",),
        description="Streams that need scopes.",
        streams=(_stream("contacts", ("contacts.read",)), _stream("deals", ("deals.read", "contacts.read"))),
    )
    return SimpleNamespace(SPEC=spec, check=None, read=read)


async def _sync(env: RunEnvironment, scope: Scope, monkeypatch, granted: list[str] | None):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(registry.CONNECTORS, "scoped", _scoped())
    sync = await make_sync(
        env,
        scope,
        settings={},
        streams=[
            StreamChoice(name="contacts", sync_mode="FULL_REFRESH"),
            StreamChoice(name="deals", sync_mode="FULL_REFRESH"),
        ],
        integration="scoped",
    )
    await Connection.filter(id=sync.connection_id).update(granted_scopes=granted)
    return sync


async def test_a_sync_needing_scopes_the_grant_lacks_makes_it_missing_scopes(
    env: RunEnvironment, scope: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync = await _sync(env, scope, monkeypatch, ["contacts.read"])
    run = await run_once(env, scope, sync)
    connection = await Connection.get(id=sync.connection_id)
    assert (connection.status, connection.health) == ("ACTIVE", "MISSING_SCOPES")
    assert "deals.read" in (connection.health_reason or "")
    assert "contacts.read" not in (connection.health_reason or "")
    assert run.status == "SUCCEEDED"  # the provider, not Weir, decides what a grant covers
    [change] = await WebhookEvent.filter(object_id=connection.id, type="connection.health_changed")
    assert change.payload["health"] == "MISSING_SCOPES"

    # Reconnected with the scope: the next run ends it.
    await Connection.filter(id=connection.id).update(granted_scopes=["contacts.read", "deals.read"])
    await run_once(env, scope, sync)
    connection = await Connection.get(id=sync.connection_id)
    assert (connection.health, connection.health_reason) == ("WORKING", None)


async def test_a_grant_whose_scopes_are_unknown_is_not_flagged(
    env: RunEnvironment, scope: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync = await _sync(env, scope, monkeypatch, None)
    await run_once(env, scope, sync)
    assert (await Connection.get(id=sync.connection_id)).health == "WORKING"


async def test_granted_scopes_are_stored_on_refresh(tenant, settings, monkeypatch):
    provider = OAuthProvider(token_extra={"scope": "crm.write crm.read"})
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        assert connection.granted_scopes is None  # imported without a scope
        await Connection.filter(id=connection.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=5))
        await connection.refresh_from_db()
        async with httpx.AsyncClient() as http:
            await fresh_credentials(
                settings=settings,
                key_ring=load_key_ring(settings),
                connection=connection,
                http=http,
                bus=None,
            )
    assert (await Connection.get(id=connection.id)).granted_scopes == ["crm.read", "crm.write"]


def test_a_definition_stream_declares_its_scopes() -> None:
    definition = oauth_definition("https://crm.example")
    definition["streams"][0]["scopes"] = ["crm.read"]
    module = parse_definition(definition)
    assert module.SPEC.streams[0].scopes == ("crm.read",)
