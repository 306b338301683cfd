"""Runs across syncs: `syncRuns` without a sync id lists the organization's runs, newest first,
narrowed by status, workspace, connection and queue time; a restricted key sees its own
workspace's; bad filters are refused by name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from server.crypto import load_key_ring
from server.scope import Scope
from server.syncs import schedule, service
from server.syncs.models import SyncRun
from server.syncs.service import StreamChoice, SyncChanges
from tests.api.test_tenant_isolation import restricted_caller
from tests.syncs.conftest import create_demo_connection

RUNS = """query($syncId: ID, $filter: SyncRunFilter, $first: Int, $after: String) {
  syncRuns(syncId: $syncId, filter: $filter, first: $first, after: $after) {
    edges { node { id status syncId } }
    pageInfo { hasNextPage endCursor }
  }
}"""
NOW = datetime.now(UTC).replace(microsecond=0)


async def _sync(settings: Any, organization_id: str, workspace_id: str, schema: str) -> tuple[str, str]:
    connection_id = await create_demo_connection(organization_id, workspace_id)
    sync = await service.create_sync(
        scope=Scope(organization_id=organization_id),
        settings=settings,
        key_ring=load_key_ring(settings),
        bus=None,
        connection_id=connection_id,
        changes=SyncChanges(destination_schema=schema, settings={}, sync_interval="0 * * * *"),
        streams=[StreamChoice(name="contacts", sync_mode="INCREMENTAL")],
    )
    return sync.id, connection_id


async def _run(sync_id: str, status: str, minutes_ago: int) -> str:
    from server.syncs.models import EltSync

    run = await schedule.create_run(sync=await EltSync.get(id=sync_id), trigger="MANUAL")
    await SyncRun.filter(id=run.id).update(status=status, queued_at=NOW - timedelta(minutes=minutes_ago))
    return run.id


async def _ids(tenant: Any, **variables: Any) -> list[str]:
    data = await tenant.data(RUNS, variables)
    return [edge["node"]["id"] for edge in data["syncRuns"]["edges"]]


async def _errors(tenant: Any, **variables: Any) -> tuple[str, list[str]]:
    body = await tenant.graphql(RUNS, variables)
    error = body["errors"][0]["extensions"]
    return error["code"], [field["field"] for field in error.get("fields", [])]


async def test_runs_of_every_sync_are_listed_and_narrowed(tenant: Any, settings: Any) -> None:
    first, first_connection = await _sync(settings, tenant.organization_id, tenant.workspace_id, "one")
    second, _ = await _sync(settings, tenant.organization_id, tenant.workspace_id, "two")
    old_failed = await _run(first, "FAILED", 120)
    succeeded = await _run(first, "SUCCEEDED", 60)
    failed = await _run(second, "FAILED", 30)
    queued = await _run(second, "QUEUED", 1)

    assert await _ids(tenant) == [queued, failed, succeeded, old_failed]  # newest first
    assert await _ids(tenant, filter={"status": ["FAILED"]}) == [failed, old_failed]
    assert await _ids(tenant, filter={"status": ["FAILED", "QUEUED"]}) == [queued, failed, old_failed]
    assert await _ids(tenant, filter={"connectionId": first_connection}) == [succeeded, old_failed]
    assert await _ids(tenant, filter={"workspaceId": tenant.workspace_id}) == [
        queued,
        failed,
        succeeded,
        old_failed,
    ]
    since = (NOW - timedelta(minutes=90)).isoformat()
    until = (NOW - timedelta(minutes=10)).isoformat()
    assert await _ids(tenant, filter={"since": since, "until": until}) == [failed, succeeded]
    assert await _ids(tenant, syncId=second, filter={"status": ["FAILED"]}) == [failed]
    # Pages follow the cursor.
    page = (await tenant.data(RUNS, {"first": 3}))["syncRuns"]
    assert page["pageInfo"]["hasNextPage"] is True
    assert await _ids(tenant, first=3, after=page["pageInfo"]["endCursor"]) == [old_failed]


async def test_a_restricted_key_sees_its_workspaces_runs_only(tenant: Any, settings: Any) -> None:
    caller = await restricted_caller(tenant)
    mine, _ = await _sync(settings, tenant.organization_id, caller.workspace_id, "mine")
    theirs, _ = await _sync(settings, tenant.organization_id, tenant.workspace_id, "theirs")
    my_run = await _run(mine, "SUCCEEDED", 5)
    their_run = await _run(theirs, "SUCCEEDED", 4)

    assert await _ids(caller) == [my_run]
    assert await _errors(caller, filter={"workspaceId": tenant.workspace_id}) == ("NOT_FOUND", [])
    assert await _ids(tenant) == [their_run, my_run]


async def test_another_organization_sees_none_of_the_runs(
    tenant: Any, other_tenant: Any, settings: Any
) -> None:
    sync_id, connection_id = await _sync(settings, tenant.organization_id, tenant.workspace_id, "one")
    await _run(sync_id, "FAILED", 5)
    assert await _ids(other_tenant) == []
    assert await _ids(other_tenant, filter={"connectionId": connection_id}) == []


async def test_bad_filters_are_refused_by_name(tenant: Any) -> None:
    # An id no id can be is NOT_FOUND, as everywhere in the API.
    assert await _errors(tenant, filter={"workspaceId": "w" * 33}) == ("NOT_FOUND", [])
    assert await _errors(tenant, filter={"connectionId": "c" * 33}) == ("NOT_FOUND", [])
    later, earlier = NOW.isoformat(), (NOW - timedelta(hours=1)).isoformat()
    assert await _errors(tenant, filter={"since": later, "until": earlier}) == (
        "VALIDATION_FAILED",
        ["filter.since"],
    )
    body = await tenant.graphql(RUNS, {"filter": {"status": ["SOMEDAY"]}})
    assert "SOMEDAY" in body["errors"][0]["message"] and body.get("data") is None
    body = await tenant.graphql(RUNS, {"first": 1000})
    assert body["errors"][0]["extensions"]["fields"][0]["field"] == "first"
