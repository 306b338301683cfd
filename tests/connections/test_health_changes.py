"""Every change of a connection's health is a ``connection.health_changed`` webhook and a
``connectionHealthChanged`` event, whichever path found it; ``connections`` filters by health.
Against the OAuth authorization server emulator (an outage, a revoked grant)."""

from __future__ import annotations

import json

import pytest

from server.connections import health
from server.connections.health import health_channel
from server.connections.models import Connection
from server.connectors import registry
from server.connectors.definition import parse_definition
from server.webhooks.models import WebhookEvent
from tests.api.test_connections_subscription import until_listening
from tests.connections.test_check_health import _expire
from tests.emulators.oauth_provider import OAuthProvider, serve_app
from tests.graphql_ws import GraphQLWebSocket
from tests.integrations.definitions import oauth_definition
from tests.proxy.test_refresh import _oauth_connection


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.replace(checks_reuse_seconds=0)  # each check asks the provider again


TEST = """mutation($id: ID!) { testConnection(id: $id) {
  ok message connection { status health healthReason lastCheckedAt nextCheckAt }
} }"""
LIST = """query($health: ConnectionHealth) {
  connections(filter: {health: $health}) { edges { node { id health healthReason nextCheckAt } } }
}"""
HEALTH_CHANGED = """subscription($w: ID) {
  connectionHealthChanged(workspaceId: $w, includeCurrent: false) {
    connectionId health reason status workspaceId changedAt connection { id health }
  }
}"""


async def _test(tenant, connection_id: str) -> dict:
    return (await tenant.data(TEST, {"id": connection_id}))["testConnection"]


async def _events(connection_id: str, type: str) -> list[dict]:
    rows = await WebhookEvent.filter(object_id=connection_id, type=type).order_by("id")
    return [row.payload for row in rows]


async def test_each_health_change_is_one_webhook_and_a_repeat_is_none(tenant, settings, monkeypatch):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        provider.unavailable = True  # an outage: 503 from its API
        degraded = await _test(tenant, connection.id)
        again = await _test(tenant, connection.id)
        provider.unavailable = False
        working = await _test(tenant, connection.id)
        await _expire(connection)
        provider.revoke_access_tokens()
        provider.refuse_refresh = True  # invalid_grant: the grant was revoked
        revoked = await _test(tenant, connection.id)

    assert (degraded["connection"]["status"], degraded["connection"]["health"]) == ("ACTIVE", "DEGRADED")
    assert "failed to answer" in degraded["connection"]["healthReason"]
    assert "refused" not in degraded["connection"]["healthReason"]
    assert again["connection"]["health"] == "DEGRADED"
    assert (working["ok"], working["connection"]["health"]) == (True, "WORKING")
    assert working["connection"]["healthReason"] is None
    assert (revoked["connection"]["status"], revoked["connection"]["health"]) == (
        "ERROR",
        "NEEDS_REAUTHORIZATION",
    )

    changes = await _events(connection.id, "connection.health_changed")
    # The repeated DEGRADED check with the same reason is no change.
    assert [change["health"] for change in changes] == ["DEGRADED", "WORKING", "NEEDS_REAUTHORIZATION"]
    assert changes[0]["status"] == "ACTIVE" and "failed to answer" in changes[0]["healthReason"]
    assert "invalid_grant" in changes[2]["healthReason"]
    assert all(change["lastCheckedAt"] for change in changes)
    # Only the refusal changed the status.
    statuses = await _events(connection.id, "connection.status_changed")
    assert [change["status"] for change in statuses] == ["ERROR"]
    stored = json.dumps(changes)
    assert "at_first" not in stored and "rt_first" not in stored


async def test_a_provider_that_cannot_be_reached_is_named_so(tenant, settings, monkeypatch):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
    tested = await _test(tenant, connection.id)
    assert tested["connection"]["health"] == "DEGRADED"
    assert "could not reach" in tested["connection"]["healthReason"]
    [change] = await _events(connection.id, "connection.health_changed")
    assert change["health"] == "DEGRADED" and "refused" not in change["healthReason"]


async def test_missing_scopes_names_them_and_leaves_the_status(tenant, settings, monkeypatch):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
    await health.mark_missing_scopes(connection=connection, missing=["crm.write", "crm.read"], bus=None)
    stored = await Connection.get(id=connection.id)
    assert (stored.status, stored.health) == ("ACTIVE", "MISSING_SCOPES")
    assert "crm.read, crm.write" in (stored.health_reason or "")
    [change] = await _events(connection.id, "connection.health_changed")
    assert change["health"] == "MISSING_SCOPES" and "crm.read, crm.write" in change["healthReason"]
    # A check that the credentials work says nothing of the scopes: still MISSING_SCOPES.
    async with serve_app(provider.app()) as url:
        monkeypatch.setitem(registry.CONNECTORS, "acme_crm", parse_definition(oauth_definition(url)))
        tested = await _test(tenant, connection.id)
    assert tested["ok"] is True
    assert tested["connection"]["health"] == "MISSING_SCOPES"
    assert len(await _events(connection.id, "connection.health_changed")) == 1


async def test_connections_filter_by_health(tenant, settings, monkeypatch):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        provider.unavailable = True
        await _test(tenant, connection.id)
    degraded = (await tenant.data(LIST, {"health": "DEGRADED"}))["connections"]["edges"]
    working = (await tenant.data(LIST, {"health": "WORKING"}))["connections"]["edges"]
    assert [edge["node"]["id"] for edge in degraded] == [connection.id]
    assert working == []
    refused = await tenant.graphql(LIST, {"health": "BROKEN"})
    assert refused["errors"] and "BROKEN" in refused["errors"][0]["message"]


async def test_a_subscriber_sees_each_health_change_of_its_workspace(
    app, live_server, tenant, settings, monkeypatch
):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
        assert (await ws.acknowledged())["type"] == "connection_ack"
        await ws.subscribe(HEALTH_CHANGED, {"w": tenant.workspace_id})
        await until_listening(app, health_channel(tenant.organization_id, tenant.workspace_id))
        provider.unavailable = True
        await _test(tenant, connection.id)
        first = await ws.receive()
        provider.unavailable = False
        await _test(tenant, connection.id)
        second = await ws.receive()
    await ws.close()
    event = first["payload"]["data"]["connectionHealthChanged"]
    assert (event["connectionId"], event["health"], event["status"]) == (connection.id, "DEGRADED", "ACTIVE")
    assert "failed to answer" in event["reason"] and event["changedAt"]
    assert event["workspaceId"] == tenant.workspace_id
    assert event["connection"] == {"id": connection.id, "health": "DEGRADED"}
    back = second["payload"]["data"]["connectionHealthChanged"]
    assert (back["health"], back["reason"]) == ("WORKING", None)


async def test_another_organization_never_hears_a_health_change(
    app, live_server, tenant, other_tenant, settings, monkeypatch
):
    intruder = await GraphQLWebSocket.connect(live_server, f"Bearer {other_tenant.key}")
    await intruder.acknowledged()
    await intruder.subscribe(HEALTH_CHANGED, {"w": tenant.workspace_id})
    refused = await intruder.receive()
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    await intruder.close()
