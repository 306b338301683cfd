"""`EltSync.lastRun` and `activeRun`: a dashboard lists syncs with their runs in a bounded number
of queries, whatever the number of syncs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from server import ids
from server.api.execution import FastExecutor
from server.scope import Scope
from server.syncs import runs
from server.syncs.models import EltSync, SyncRun
from server.syncs.transitions import utcnow
from tests.sql_statements import sql_statements

DASHBOARD = """
query Dashboard($first: Int) {
  eltSyncs(first: $first) {
    edges { node { id enabled nextRunAt lastRun { id status trigger } activeRun { id status } } }
  }
}
"""

ONE_SYNC = "query Sync($id: ID!) { eltSync(id: $id) { id lastRun { id status } activeRun { id } } }"


async def make_sync(tenant: Any, connection_id: str, schema: str) -> EltSync:
    return await EltSync.create(
        id=ids.new_id("elt_sync"),
        organization_id=tenant.organization_id,
        workspace_id=tenant.workspace_id,
        connection_id=connection_id,
        destination_schema=schema,
        sync_interval="0 * * * *",
    )


async def make_run(sync: EltSync, status: str, queued_at: datetime, trigger: str = "SCHEDULE") -> SyncRun:
    """A run in ``status``, queued at ``queued_at`` (made directly: no worker picks it up)."""
    finished = status in ("SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED")
    return await SyncRun.create(
        id=ids.new_id("sync_run"),
        organization_id=sync.organization_id,
        sync_id=sync.id,
        trigger=trigger,
        status=status,
        queued_at=queued_at,
        started_at=queued_at if status != "QUEUED" and status != "SKIPPED" else None,
        # A fresh heartbeat, so that the embedded scheduler does not declare a RUNNING run lost.
        heartbeat_at=utcnow() if status == "RUNNING" else None,
        finished_at=queued_at + timedelta(minutes=1) if finished else None,
    )


def nodes_by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {edge["node"]["id"]: edge["node"] for edge in data["eltSyncs"]["edges"]}


async def test_each_sync_lists_its_latest_run_whatever_its_status(
    tenant: Any, demo_connection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fallbacks: list[str] = []
    original = FastExecutor.execute_with_graphql_core

    def recorded(self: FastExecutor, serially: bool | None = None) -> Any:
        fallbacks.append(self.operation.operation.value)
        return original(self, serially)

    monkeypatch.setattr(FastExecutor, "execute_with_graphql_core", recorded)
    now = utcnow()
    hours = [now - timedelta(hours=n) for n in range(4)]  # hours[1] is an hour ago

    retrying = await make_sync(tenant, demo_connection, "retrying")
    await make_run(retrying, "SUCCEEDED", hours[3])
    await make_run(retrying, "FAILED", hours[2])
    retry = await make_run(retrying, "QUEUED", hours[1], trigger="RETRY")

    busy = await make_sync(tenant, demo_connection, "busy")
    running = await make_run(busy, "RUNNING", hours[2])
    skipped = await make_run(busy, "SKIPPED", hours[1])

    # Made newest first: the latest run is the latest by queue time, not the latest made.
    cancelled_sync = await make_sync(tenant, demo_connection, "stopped")
    cancelled = await make_run(cancelled_sync, "CANCELLED", hours[1], trigger="MANUAL")
    await make_run(cancelled_sync, "SUCCEEDED", hours[2])

    never_run = await make_sync(tenant, demo_connection, "fresh")

    nodes = nodes_by_id(await tenant.data(DASHBOARD, {"first": 10}))

    assert nodes[retrying.id]["lastRun"] == {"id": retry.id, "status": "QUEUED", "trigger": "RETRY"}
    assert nodes[retrying.id]["activeRun"] == {"id": retry.id, "status": "QUEUED"}
    assert nodes[busy.id]["lastRun"] == {"id": skipped.id, "status": "SKIPPED", "trigger": "SCHEDULE"}
    assert nodes[busy.id]["activeRun"] == {"id": running.id, "status": "RUNNING"}
    assert nodes[cancelled_sync.id]["lastRun"] == {
        "id": cancelled.id,
        "status": "CANCELLED",
        "trigger": "MANUAL",
    }
    assert nodes[cancelled_sync.id]["activeRun"] is None
    assert nodes[never_run.id]["lastRun"] is None
    assert nodes[never_run.id]["activeRun"] is None

    one = (await tenant.data(ONE_SYNC, {"id": busy.id}))["eltSync"]
    assert one == {
        "id": busy.id,
        "lastRun": {"id": skipped.id, "status": "SKIPPED"},
        "activeRun": {"id": running.id},
    }


async def test_a_sync_of_another_tenant_or_workspace_has_no_runs_to_show(
    tenant: Any, other_tenant: Any, demo_connection: str
) -> None:
    sync = await make_sync(tenant, demo_connection, "crm")
    run = await make_run(sync, "RUNNING", utcnow())
    own = Scope(organization_id=tenant.organization_id)
    other_organization = Scope(organization_id=other_tenant.organization_id)
    other_workspace = Scope(organization_id=tenant.organization_id, workspace_id=ids.new_id("workspace"))

    assert (await runs.latest_runs_of_syncs(scope=own, sync_ids=[sync.id]))[sync.id].id == run.id
    assert (await runs.active_runs_of_syncs(scope=own, sync_ids=[sync.id]))[sync.id].id == run.id
    for scope in (other_organization, other_workspace):
        assert await runs.latest_runs_of_syncs(scope=scope, sync_ids=[sync.id]) == {}
        assert await runs.active_runs_of_syncs(scope=scope, sync_ids=[sync.id]) == {}


async def test_listing_syncs_with_their_runs_costs_the_same_queries_for_3_or_20(
    tenant: Any, demo_connection: str
) -> None:
    now = utcnow()
    latest: dict[str, str] = {}
    for n in range(20):
        sync = await make_sync(tenant, demo_connection, f"crm{n}")
        await make_run(sync, "SUCCEEDED", now - timedelta(hours=2, minutes=n))
        latest[sync.id] = (await make_run(sync, "FAILED", now - timedelta(hours=1, minutes=n))).id
    await tenant.data(DASHBOARD, {"first": 1})  # whatever a first request caches is cached now

    counted: dict[int, list[str]] = {}
    for size in (3, 20):
        with sql_statements() as statements:
            nodes = nodes_by_id(await tenant.data(DASHBOARD, {"first": size}))
        counted[size] = statements
        assert len(nodes) == size
        assert {sync_id: node["lastRun"]["id"] for sync_id, node in nodes.items()} == {
            sync_id: latest[sync_id] for sync_id in nodes
        }
        assert all(node["activeRun"] is None for node in nodes.values())

    assert len(counted[20]) == len(counted[3]), counted
    # One statement for every sync's last run, one for every sync's active run.
    assert len([s for s in counted[20] if "sync_runs" in s]) == 2, counted[20]
