"""Live sync and run updates over graphql-transport-ws."""

from __future__ import annotations

from typing import Any

from tests.graphql_ws import GraphQLWebSocket
from tests.syncs.test_sync_api import CREATE, TRIGGER, demo_input

RUN_UPDATED = """
subscription($id: ID) { syncRunUpdated(syncId: $id) { id status rowsLoaded rowsInserted rowsUpdated } }
"""
SYNC_UPDATED = """
subscription($w: ID) { eltSyncUpdated(workspaceId: $w) { kind syncId sync { enabled } } }
"""
ENABLE = "mutation Enable($id: ID!) { enableEltSync(id: $id) { id } }"


async def test_a_run_subscriber_sees_the_run_from_queued_to_succeeded(
    live_server: str, tenant: Any, demo_connection: str, worker: Any
) -> None:
    sync_id = (
        await tenant.data(
            CREATE,
            {
                "input": demo_input(
                    demo_connection, sourceStreams=[{"name": "contacts", "syncMode": "INCREMENTAL"}]
                )
            },
        )
    )["createEltSync"]["id"]
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
    assert (seen[-1]["rowsInserted"], seen[-1]["rowsUpdated"]) == (120, 0)


async def test_a_sync_subscriber_gets_current_syncs_then_changes(
    live_server: str, tenant: Any, demo_connection: str
) -> None:
    sync_id = (
        await tenant.data(
            CREATE,
            {
                "input": demo_input(
                    demo_connection, sourceStreams=[{"name": "contacts", "syncMode": "INCREMENTAL"}]
                )
            },
        )
    )["createEltSync"]["id"]
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
    await ws.subscribe(
        "subscription($w: ID) { syncRunUpdated(workspaceId: $w) { id } }", {"w": other_tenant.workspace_id}
    )
    messages = [await ws.receive() for _ in range(4)]
    await ws.close()

    assert sorted((m["id"], m["type"]) for m in messages) == [
        ("1", "complete"),
        ("1", "next"),
        ("2", "complete"),
        ("2", "next"),
    ]
    for message in (m for m in messages if m["type"] == "next"):
        assert message["type"] == "next" and message["payload"]["data"] is None, message
        assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# -- never stale --------------------------------------------------------------------------------

SYNC_WITH_STREAMS = """
subscription($w: ID) { eltSyncUpdated(workspaceId: $w) {
  kind sync { enabled sourceStreams { name } } } }
"""
ADD_STREAMS = """mutation($id: ID!) { addSourceStreams(input: {syncId: $id, sourceStreams: [
  {name: "deals", syncMode: INCREMENTAL}]}) { id } }"""


async def test_each_sync_event_shows_the_sync_as_it_is_then(
    live_server: str, tenant: Any, demo_connection: str
) -> None:
    # DataLoaders live for one event: the streams read for the first event are not served
    # again for the later ones.
    sync_id = (
        await tenant.data(
            CREATE,
            {
                "input": demo_input(
                    demo_connection, sourceStreams=[{"name": "contacts", "syncMode": "INCREMENTAL"}]
                )
            },
        )
    )["createEltSync"]["id"]
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    await ws.acknowledged()
    await ws.subscribe(SYNC_WITH_STREAMS, {"w": tenant.workspace_id})
    seen = [(await ws.receive())["payload"]["data"]["eltSyncUpdated"]]
    await tenant.data(ADD_STREAMS, {"id": sync_id})
    seen.append((await ws.receive())["payload"]["data"]["eltSyncUpdated"])
    await tenant.data(ENABLE, {"id": sync_id})
    seen.append((await ws.receive())["payload"]["data"]["eltSyncUpdated"])
    await ws.close()

    def shown(event: dict[str, Any]) -> tuple[str, bool, list[str]]:
        sync = event["sync"]
        return event["kind"], sync["enabled"], sorted(s["name"] for s in sync["sourceStreams"])

    assert [shown(event) for event in seen] == [
        ("CURRENT", False, ["contacts"]),
        ("UPDATED", False, ["contacts", "deals"]),
        ("UPDATED", True, ["contacts", "deals"]),
    ]


async def _move_back_to_back(bus: Any, tenant: Any, sync_id: str) -> str:
    """Trigger a run and take it to SUCCEEDED at once, as a fast worker does."""
    from server.syncs.models import SyncRun
    from server.syncs.transitions import move_run

    run_id = (await tenant.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]["id"]
    run = await SyncRun.get(id=run_id)
    run = await move_run(run=run, to="RUNNING", bus=bus)
    await move_run(run=run, to="SUCCEEDED", bus=bus)
    return run_id


async def test_a_slow_run_subscriber_still_gets_every_state_in_order(
    app: Any, tenant: Any, demo_connection: str
) -> None:
    from server.scope import Scope
    from server.syncs import runs

    bus = app.state.runtime.services.bus
    sync_id = (
        await tenant.data(
            CREATE,
            {
                "input": demo_input(
                    demo_connection, sourceStreams=[{"name": "contacts", "syncMode": "INCREMENTAL"}]
                )
            },
        )
    )["createEltSync"]["id"]
    first = await _move_back_to_back(bus, tenant, sync_id)
    updates = runs.run_updates(
        scope=Scope(organization_id=tenant.organization_id), bus=bus, sync_id=sync_id, workspace_id=None
    )
    assert (await anext(updates)).id == first  # the latest run, then the subscriber dawdles
    second = await _move_back_to_back(bus, tenant, sync_id)
    seen = [await anext(updates) for _ in range(3)]
    await updates.aclose()
    assert [(run.id, run.status) for run in seen] == [
        (second, "QUEUED"),
        (second, "RUNNING"),
        (second, "SUCCEEDED"),
    ]
    assert seen[0].started_at is None and seen[1].started_at is not None
    assert seen[1].finished_at is None and seen[2].finished_at is not None


async def test_a_websocket_subscriber_gets_every_state_of_back_to_back_moves(
    app: Any, live_server: str, tenant: Any, demo_connection: str
) -> None:
    bus = app.state.runtime.services.bus
    sync_id = (
        await tenant.data(
            CREATE,
            {
                "input": demo_input(
                    demo_connection, sourceStreams=[{"name": "contacts", "syncMode": "INCREMENTAL"}]
                )
            },
        )
    )["createEltSync"]["id"]
    first = await _move_back_to_back(bus, tenant, sync_id)
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    await ws.acknowledged()
    await ws.subscribe(RUN_UPDATED, {"id": sync_id})
    # The latest run first: from then on the subscriber hears every event.
    snapshot = (await ws.receive(timeout=10))["payload"]["data"]["syncRunUpdated"]
    assert (snapshot["id"], snapshot["status"]) == (first, "SUCCEEDED")
    statuses: list[tuple[str, str]] = []
    run_ids = [await _move_back_to_back(bus, tenant, sync_id) for _ in range(3)]
    while len(statuses) < 9:
        update = (await ws.receive(timeout=10))["payload"]["data"]["syncRunUpdated"]
        statuses.append((update["id"], update["status"]))
    await ws.close()
    assert statuses == [
        (run_id, status) for run_id in run_ids for status in ("QUEUED", "RUNNING", "SUCCEEDED")
    ]


STREAMS_OF = "query($id: ID!) { eltSync(id: $id) { sourceStreams { name } } }"


async def test_a_second_query_on_a_socket_reads_afresh(
    live_server: str, tenant: Any, demo_connection: str
) -> None:
    # A socket keeps one context for all its operations; its DataLoaders must not.
    sync_id = (
        await tenant.data(
            CREATE,
            {
                "input": demo_input(
                    demo_connection, sourceStreams=[{"name": "contacts", "syncMode": "INCREMENTAL"}]
                )
            },
        )
    )["createEltSync"]["id"]
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    await ws.acknowledged()
    answers = []
    for change in (None, ADD_STREAMS):
        if change:
            await tenant.data(change, {"id": sync_id})
        await ws.subscribe(STREAMS_OF, {"id": sync_id})
        message = await ws.receive()
        assert message["type"] == "next", message
        answers.append(sorted(s["name"] for s in message["payload"]["data"]["eltSync"]["sourceStreams"]))
        assert (await ws.receive())["type"] == "complete"
    await ws.close()
    assert answers == [["contacts"], ["contacts", "deals"]]
