"""Every mutation leaves an audit entry (who, what, on which object, how it ended), never a
secret; tenants see only their own; connect tokens cannot read the log; old entries go."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.audit import service
from server.audit.models import AuditEntry
from server.scheduler.housekeeping import run_housekeeping
from tests.connect.conftest import CREATE as CREATE_SESSION
from tests.connect.conftest import SELECT, acme, provider  # noqa: F401 (fixtures)
from tests.graphql_ws import GraphQLWebSocket

LOG = """
query Log($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    edges { node { id actorKind actorId endUserId workspaceId operation objectType objectId
                   outcome errorCode createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""
CREATE_KEY = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }"


async def _log(tenant: Any, **filter: Any) -> list[dict[str, Any]]:
    data = await tenant.data(LOG, {"filter": filter or None})
    return [edge["node"] for edge in data["auditLog"]["edges"]]


async def test_a_mutation_is_recorded_with_its_key_object_and_outcome(tenant: Any) -> None:
    created = await tenant.data('mutation { createWorkspace(input: {name: "staging"}) { id } }')
    workspace_id = created["createWorkspace"]["id"]
    refused = await tenant.graphql('mutation { createWorkspace(input: {name: ""}) { id } }')
    assert refused["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"

    entries = await _log(tenant, operation="createWorkspace")
    assert [(e["outcome"], e["objectId"], e["errorCode"]) for e in entries] == [
        ("SUCCEEDED", workspace_id, None),
        ("FAILED", None, "VALIDATION_FAILED"),
    ]
    first = entries[0]
    assert first["actorKind"] == "API_KEY"
    assert first["actorId"].startswith("key_")
    assert first["objectType"] == "workspace"
    # The key's own id narrows the log to what it did.
    assert len(await _log(tenant, actorId=first["actorId"], outcome="FAILED")) == 1


async def test_no_secret_reaches_the_log(tenant: Any) -> None:
    created = (await tenant.data(CREATE_KEY, {"input": {"name": "ci"}}))["createApiKey"]
    entry = (await _log(tenant, operation="createApiKey"))[0]
    assert entry["objectId"] == created["apiKey"]["id"]
    rows = await AuditEntry.all().values()
    assert created["secret"] not in repr(rows)


async def test_arguments_name_the_object_when_the_result_does_not(tenant: Any) -> None:
    deleted = await tenant.graphql(
        'mutation { deleteConnection(id: "conn_00000000000000000000000000") { deletedId } }'
    )
    assert deleted["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    entry = (await _log(tenant, operation="deleteConnection"))[0]
    assert (entry["objectId"], entry["objectType"], entry["outcome"]) == (
        "conn_00000000000000000000000000",
        "connection",
        "FAILED",
    )


async def test_tenants_see_only_their_own(tenant: Any, other_tenant: Any) -> None:
    await other_tenant.data('mutation { createWorkspace(input: {name: "theirs"}) { id } }')
    await tenant.data('mutation { createWorkspace(input: {name: "ours"}) { id } }')
    mine = await _log(tenant)
    assert len(mine) == 1
    assert {entry["workspaceId"] for entry in mine} <= {None, tenant.workspace_id}
    theirs = await _log(other_tenant)
    assert len(theirs) == 1 and theirs[0]["id"] != mine[0]["id"]


async def test_an_end_users_change_names_the_connect_session(acme: Any) -> None:  # noqa: F811
    created = (
        await acme.data(
            CREATE_SESSION, {"input": {"workspaceId": acme.workspace_id, "endUserExternalId": "u1"}}
        )
    )["createConnectSession"]
    token, session_id = created["token"], created["session"]["id"]
    chosen = await acme.graphql(SELECT, {"name": "testoauth"}, key=token)
    assert "errors" not in chosen, chosen
    # A connect token cannot read the log.
    refused = await acme.graphql(LOG, key=token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    entry = (await _log(acme, operation="selectIntegration"))[0]
    assert entry["actorKind"] == "CONNECT_TOKEN"
    assert entry["actorId"] == session_id
    assert entry["endUserId"].startswith("eu_")
    assert entry["workspaceId"] == acme.workspace_id
    assert token not in repr(await AuditEntry.all().values())
    assert (await _log(acme, operation="createConnectSession"))[0]["objectId"] == session_id


async def test_a_mutation_over_websocket_is_recorded(tenant: Any, live_server: str) -> None:
    socket = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    try:
        assert (await socket.acknowledged())["type"] == "connection_ack"
        await socket.subscribe('mutation { createWorkspace(input: {name: "over ws"}) { id } }')
        message = await socket.receive()
        assert message["type"] == "next", message
        assert (await socket.receive())["type"] == "complete"
    finally:
        await socket.close()
    # The entry is written as the operation ends, just after its result went out.
    for _ in range(50):
        entries = await _log(tenant, operation="createWorkspace")
        if entries:
            break
        await asyncio.sleep(0.05)
    entry = entries[0]
    assert entry["objectId"] == message["payload"]["data"]["createWorkspace"]["id"]


async def test_hostile_filters_name_their_field(tenant: Any) -> None:
    long = await tenant.graphql(LOG, {"filter": {"operation": "x" * 101}})
    assert long["errors"][0]["extensions"]["fields"][0]["field"] == "filter.operation"
    backwards = await tenant.graphql(
        LOG, {"filter": {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}}
    )
    assert backwards["errors"][0]["extensions"]["fields"][0]["field"] == "filter.since"


async def test_entries_are_paged_oldest_first(tenant: Any) -> None:
    for n in range(5):
        await tenant.data(f'mutation {{ createWorkspace(input: {{name: "w{n}"}}) {{ id }} }}')
    first = (await tenant.data(LOG, {"first": 2}))["auditLog"]
    rest = (await tenant.data(LOG, {"first": 10, "after": first["pageInfo"]["endCursor"]}))["auditLog"]
    ids = [edge["node"]["id"] for edge in first["edges"] + rest["edges"]]
    assert len(ids) == 5 and ids == sorted(ids)


async def test_an_audit_write_that_fails_never_fails_the_mutation(
    tenant: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the audit table is away")

    monkeypatch.setattr(AuditEntry, "bulk_create", refuse)
    created = await tenant.data('mutation { createWorkspace(input: {name: "still made"}) { id } }')
    assert created["createWorkspace"]["id"].startswith("ws_")
    assert "audit entries not written" in caplog.text


async def test_old_entries_are_pruned_by_housekeeping(tenant: Any, settings: Any) -> None:
    actor = service.Actor(service.OPERATOR, tenant.organization_id)
    now = datetime.now(UTC)
    await AuditEntry.bulk_create(
        [
            service.entry(actor, service.Change("createApiKey", "SUCCEEDED"), at=now - timedelta(days=days))
            for days in (1, 89, 91, 200)
        ]
    )
    pruned = await run_housekeeping(settings=settings, now=now)
    assert pruned.deleted["audit_log"] == 2
    assert await AuditEntry.all().count() == 2
