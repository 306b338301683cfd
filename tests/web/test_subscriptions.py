"""Subscriptions over graphql-transport-ws: authentication in connection_init, tenant filtering."""

import asyncio

import pytest
import websockets

from tests.graphql_ws import GraphQLWebSocket

WORKSPACE_UPDATED = "subscription($id: ID!) { workspaceUpdated(id: $id) { id displayName } }"
UPDATE = "mutation($id: ID!, $n: String) { updateWorkspace(input: {id: $id, displayName: $n}) { id } }"


async def test_a_subscriber_gets_the_current_state_then_each_change(live_server, tenant):
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    assert (await ws.acknowledged())["type"] == "connection_ack"
    await ws.subscribe(WORKSPACE_UPDATED, {"id": tenant.workspace_id})
    first = await ws.receive()
    assert first["type"] == "next"
    assert first["payload"]["data"]["workspaceUpdated"]["id"] == tenant.workspace_id
    await tenant.data(UPDATE, {"id": tenant.workspace_id, "n": "Renamed"})
    change = await ws.receive()
    assert change["payload"]["data"]["workspaceUpdated"]["displayName"] == "Renamed"
    await ws.close()


@pytest.mark.parametrize("authorization", [None, "Bearer weir_sk_wrong", "Bearer "])
async def test_a_bad_key_closes_the_socket_with_4403(live_server, authorization):
    ws = await GraphQLWebSocket.connect(live_server, authorization)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await ws.receive()
    assert closed.value.rcvd.code == 4403


async def test_a_subscriber_never_sees_another_organizations_events(live_server, tenant, other_tenant):
    intruder = await GraphQLWebSocket.connect(live_server, f"Bearer {other_tenant.key}")
    await intruder.acknowledged()
    await intruder.subscribe(WORKSPACE_UPDATED, {"id": tenant.workspace_id})
    refused = await intruder.receive()
    assert refused["type"] == "error" or refused["payload"].get("errors")
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    await tenant.data(UPDATE, {"id": tenant.workspace_id, "n": "Secret rename"})
    with pytest.raises((asyncio.TimeoutError, TimeoutError)):
        while True:
            message = await intruder.receive(timeout=0.5)
            assert "Secret rename" not in str(message)
    await intruder.close()
