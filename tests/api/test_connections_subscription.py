"""connectionStatusChanged over graphql-transport-ws, against the app served on loopback."""

from __future__ import annotations

import asyncio

import pytest

from server.connections.status import status_channel
from tests.connections.conftest import fake_integrations  # noqa: F401 -- autouse fixture
from tests.connections.fakes import BASE_URL, mock_client
from tests.graphql_ws import GraphQLWebSocket

STATUS_CHANGED = """subscription($w: ID) {
  connectionStatusChanged(workspaceId: $w, includeCurrent: false) {
    connectionId status reason workspaceId connection { id status externalId }
  }
}"""
CREATE_END_USER = """mutation($w: ID!) {
  createEndUser(input: {workspaceId: $w, externalId: "watched"}) { id }
}"""
CREATE = "mutation($input: CreateConnectionInput!) { createConnection(input: $input) { id } }"
TEST = "mutation($id: ID!) { testConnection(id: $id) { ok } }"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.replace(connector_base_urls={"acme_key": BASE_URL})


@pytest.fixture
async def provider_http(app):  # type: ignore[no-untyped-def]
    services = app.state.runtime.services
    async with mock_client() as http:
        services.check_http = http
        yield http
        services.check_http = None


async def until_listening(app, channel: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the subscription's resolver has subscribed to the bus (no event is lost)."""
    bus = app.state.runtime.services.bus
    for _ in range(250):
        if bus._fanout.subscribers.get(channel):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"nobody subscribed to {channel}")


async def _connection(tenant, secret: str, **extra) -> str:  # type: ignore[no-untyped-def]
    if "scope" not in extra:
        user = await tenant.data(CREATE_END_USER, {"w": tenant.workspace_id})
        extra["endUserId"] = user["createEndUser"]["id"]
    created = await tenant.data(
        CREATE,
        {
            "input": {
                "integrationName": "acme_key",
                "authType": "SECRET_TEXT",
                "secretText": secret,
                "externalId": "watched-connection",
                **extra,
            }
        },
    )
    return created["createConnection"]["id"]


async def test_a_subscriber_sees_each_status_change_of_its_workspace(app, live_server, tenant, provider_http):
    connection_id = await _connection(tenant, "sk-live-revoked-meanwhile-1234")
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    assert (await ws.acknowledged())["type"] == "connection_ack"
    await ws.subscribe(STATUS_CHANGED, {"w": tenant.workspace_id})
    await until_listening(app, status_channel(tenant.organization_id, tenant.workspace_id))

    await tenant.data(TEST, {"id": connection_id})
    change = await ws.receive()

    assert change["type"] == "next"
    event = change["payload"]["data"]["connectionStatusChanged"]
    assert event["connectionId"] == connection_id
    assert event["status"] == "ERROR"
    assert "Invalid API key" in event["reason"]
    assert "sk-live-revoked-meanwhile-1234" not in str(change)
    assert event["workspaceId"] == tenant.workspace_id
    assert event["connection"] == {"id": connection_id, "status": "ERROR", "externalId": "watched-connection"}
    await ws.close()


async def test_organization_wide_connections_have_their_own_channel(app, live_server, tenant, provider_http):
    connection_id = await _connection(tenant, "sk-live-org-wide-revoked-5678", scope="ORGANIZATION")
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    await ws.acknowledged()
    await ws.subscribe(STATUS_CHANGED, {"w": None})
    await until_listening(app, status_channel(tenant.organization_id, None))

    await tenant.data(TEST, {"id": connection_id})
    change = await ws.receive()

    event = change["payload"]["data"]["connectionStatusChanged"]
    assert (event["connectionId"], event["status"], event["workspaceId"]) == (connection_id, "ERROR", None)
    await ws.close()


async def test_a_subscriber_never_sees_another_organizations_connections(
    app, live_server, tenant, other_tenant, provider_http
):
    connection_id = await _connection(tenant, "sk-live-victim-revoked-9999")
    intruder = await GraphQLWebSocket.connect(live_server, f"Bearer {other_tenant.key}")
    await intruder.acknowledged()
    await intruder.subscribe(STATUS_CHANGED, {"w": tenant.workspace_id})
    refused = await intruder.receive()
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    await intruder.subscribe(STATUS_CHANGED, {"w": other_tenant.workspace_id})
    await intruder.subscribe(STATUS_CHANGED, {"w": None})
    await until_listening(app, status_channel(other_tenant.organization_id, None))
    await until_listening(app, status_channel(other_tenant.organization_id, other_tenant.workspace_id))

    owner = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    await owner.acknowledged()
    await owner.subscribe(STATUS_CHANGED, {"w": tenant.workspace_id})
    await until_listening(app, status_channel(tenant.organization_id, tenant.workspace_id))

    # The victim's connection fails its check, which publishes a status change.
    assert (await tenant.data(TEST, {"id": connection_id}))["testConnection"]["ok"] is False

    seen = await owner.receive()
    assert seen["payload"]["data"]["connectionStatusChanged"]["connectionId"] == connection_id
    with pytest.raises((asyncio.TimeoutError, TimeoutError)):
        while True:
            message = await intruder.receive(timeout=0.5)
            assert connection_id not in str(message)
    await intruder.close()
    await owner.close()


CURRENT_THEN_CHANGES = """subscription($w: ID) {
  connectionStatusChanged(workspaceId: $w) { connectionId status }
}"""


async def test_a_subscriber_first_gets_every_connections_current_status(
    app, live_server, tenant, provider_http
):
    connection_id = await _connection(tenant, "sk-live-revoked-meanwhile-1234")
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    await ws.acknowledged()
    await ws.subscribe(CURRENT_THEN_CHANGES, {"w": tenant.workspace_id})
    snapshot = await ws.receive()
    assert snapshot["payload"]["data"]["connectionStatusChanged"] == {
        "connectionId": connection_id,
        "status": "ACTIVE",
    }
    await tenant.data(TEST, {"id": connection_id})
    change = await ws.receive()
    assert change["payload"]["data"]["connectionStatusChanged"]["status"] == "ERROR"
    await ws.close()
