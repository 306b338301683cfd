"""Live sync and run updates over graphql-transport-ws."""

from __future__ import annotations

from typing import Any

from tests.graphql_ws import GraphQLWebSocket
from tests.syncs.test_sync_api import CREATE, TRIGGER, demo_input

RUN_UPDATED = """
subscription($id: ID) { syncRunUpdated(syncId: $id) { id status rowsLoaded } }
"""
SYNC_UPDATED = """
subscription($w: ID) { eltSyncUpdated(workspaceId: $w) { kind syncId sync { enabled } } }
"""
ENABLE = "mutation Enable($id: ID!) { enableEltSync(id: $id) { id } }"


async def test_a_run_subscriber_sees_the_run_from_queued_to_succeeded(
    live_server: str, tenant: Any, demo_connection: str, worker: Any
) -> None:
    sync_id = (await tenant.data(CREATE, {"input": demo_input(
        demo_connection, sourceStreams=[{"name": "contacts", "syncMode": "INCREMENTAL"}])}
    ))["createEltSync"]["id"]
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    assert (await ws.acknowledged())["type"] == "connection_ack"
    await ws.subscribe(RUN_UPDATED, {"id": sync_id})

    run_id = (await tenant.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]["id"]
    seen = []
    while not seen or seen[-1]["status"] not in ("SUCCEEDED", "FAILED"):
        message = await ws.receive(timeout=30)
        assert message["type"] == "next", message
        seen.append(message["payload"]["data"]["syncRunUpdated"])
    await ws.close()

    assert {update["id"] for update in seen} == {run_id}
    statuses = [update["status"] for update in seen]
    assert statuses[0] == "QUEUED" and "RUNNING" in statuses and statuses[-1] == "SUCCEEDED"
    assert seen[-1]["rowsLoaded"] == 120


async def test_a_sync_subscriber_gets_current_syncs_then_changes(
    live_server: str, tenant: Any, demo_connection: str
) -> None:
    sync_id = (await tenant.data(CREATE, {"input": demo_input(
        demo_connection, sourceStreams=[{"name": "contacts", "syncMode": "INCREMENTAL"}])}
    ))["createEltSync"]["id"]
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    await ws.acknowledged()
    await ws.subscribe(SYNC_UPDATED, {"w": tenant.workspace_id})

    current = (await ws.receive())["payload"]["data"]["eltSyncUpdated"]
    await tenant.data(ENABLE, {"id": sync_id})
    changed = (await ws.receive())["payload"]["data"]["eltSyncUpdated"]
    await ws.close()

    assert current == {"kind": "CURRENT", "syncId": sync_id, "sync": {"enabled": False}}
    assert changed == {"kind": "UPDATED", "syncId": sync_id, "sync": {"enabled": True}}


async def test_following_another_organizations_workspace_is_not_found(
    live_server: str, tenant: Any, other_tenant: Any
) -> None:
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    await ws.acknowledged()
    await ws.subscribe(SYNC_UPDATED, {"w": other_tenant.workspace_id})
    await ws.subscribe("subscription($w: ID) { syncRunUpdated(workspaceId: $w) { id } }",
                       {"w": other_tenant.workspace_id})
    messages = [await ws.receive() for _ in range(4)]
    await ws.close()

    assert sorted((m["id"], m["type"]) for m in messages) == [
        ("1", "complete"), ("1", "next"), ("2", "complete"), ("2", "next")]
    for message in (m for m in messages if m["type"] == "next"):
        assert message["type"] == "next" and message["payload"]["data"] is None, message
        assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
