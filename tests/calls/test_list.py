"""``calls``: the call log over GraphQL, filtered, paged, and inside its tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.calls.records import ACTION, FAILED
from server.calls.service import list_calls
from server.errors import ValidationFailed
from server.scope import Scope
from tests.api.test_tenant_isolation import restricted_caller
from tests.calls.helpers import log_call

CALLS = """query($filter: CallLogFilter, $first: Int, $after: String) {
  calls(filter: $filter, first: $first, after: $after) {
    edges { cursor node {
      id kind integrationName connectionId workspaceId apiKeyId endUserId action method path
      status httpStatus errorCode durationMs createdAt
    } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""
NOW = datetime.now(UTC).replace(microsecond=0)


async def _ids(tenant, filter=None, **variables):
    data = await tenant.data(CALLS, {"filter": filter, **variables})
    return [edge["node"]["id"] for edge in data["calls"]["edges"]]


async def _errors(tenant, filter):
    body = await tenant.graphql(CALLS, {"filter": filter})
    error = body["errors"][0]["extensions"]
    return error["code"], [field["field"] for field in error.get("fields", [])]


async def _log(tenant):
    """Five calls that differ in every filtered field."""
    org, ws = tenant.organization_id, tenant.workspace_id
    return {
        "proxy": await log_call(
            org, ws, connection_id="conn_a", api_key_id="key_a", at=NOW - timedelta(days=3)
        ),
        "action": await log_call(
            org,
            ws,
            kind=ACTION,
            integration_name="slack",
            action="send_channel_message",
            method=None,
            path=None,
            connection_id="conn_b",
            end_user_id="eu_1",
            api_key_id="key_b",
            at=NOW - timedelta(days=2),
        ),
        "failed": await log_call(
            org,
            ws,
            status=FAILED,
            http_status=502,
            error_code="PROVIDER_ERROR",
            connection_id="conn_a",
            at=NOW - timedelta(days=1),
        ),
        "custom": await log_call(org, ws, integration_name="my_crm", connection_id="conn_c", at=NOW),
    }


async def test_each_entry_shows_what_the_call_recorded(tenant):
    rows = await _log(tenant)
    data = await tenant.data(CALLS, {"filter": {"action": "send_channel_message"}})
    (edge,) = data["calls"]["edges"]
    row = rows["action"]
    assert edge["node"] == {
        "id": row.id,
        "kind": "ACTION",
        "integrationName": "slack",
        "connectionId": "conn_b",
        "workspaceId": tenant.workspace_id,
        "apiKeyId": "key_b",
        "endUserId": "eu_1",
        "action": "send_channel_message",
        "method": None,
        "path": None,
        "status": "SUCCEEDED",
        "httpStatus": 200,
        "errorCode": None,
        "durationMs": 12,
        "createdAt": (NOW - timedelta(days=2)).isoformat(),
    }


async def test_every_filter_narrows_the_log(tenant):
    rows = await _log(tenant)
    ids = {name: row.id for name, row in rows.items()}
    assert await _ids(tenant) == [ids["proxy"], ids["action"], ids["failed"], ids["custom"]]
    cases = [
        ({"workspaceId": tenant.workspace_id}, ["proxy", "action", "failed", "custom"]),
        ({"connectionId": "conn_a"}, ["proxy", "failed"]),
        ({"integrationName": "slack"}, ["action"]),
        ({"integrationName": "my_crm"}, ["custom"]),
        ({"kind": "ACTION"}, ["action"]),
        ({"kind": "PROXY"}, ["proxy", "failed", "custom"]),
        ({"status": "FAILED"}, ["failed"]),
        ({"action": "send_channel_message"}, ["action"]),
        ({"endUserId": "eu_1"}, ["action"]),
        ({"apiKeyId": "key_a"}, ["proxy"]),
        # since is inclusive, until exclusive.
        ({"since": (NOW - timedelta(days=2)).isoformat()}, ["action", "failed", "custom"]),
        ({"until": (NOW - timedelta(days=1)).isoformat()}, ["proxy", "action"]),
        (
            {"since": (NOW - timedelta(days=2)).isoformat(), "until": (NOW - timedelta(days=1)).isoformat()},
            ["action"],
        ),
        # A date-time without an offset is UTC.
        ({"since": (NOW - timedelta(days=1)).replace(tzinfo=None).isoformat()}, ["failed", "custom"]),
        ({"connectionId": "conn_a", "status": "FAILED", "kind": "PROXY"}, ["failed"]),
        ({"connectionId": "conn_b", "status": "FAILED"}, []),
        ({"integrationName": "hubspot"}, []),
    ]
    for filter, expected in cases:
        assert await _ids(tenant, filter) == [ids[name] for name in expected], filter


async def test_pages_follow_the_cursor_without_gaps_or_repeats(tenant):
    logged = [
        (await log_call(tenant.organization_id, tenant.workspace_id, path=f"/page/{n}")).id for n in range(5)
    ]
    seen, after, pages = [], None, 0
    while True:
        data = await tenant.data(CALLS, {"first": 2, "after": after})
        page = data["calls"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        pages += 1
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert (seen, pages) == (logged, 3)


async def test_bad_filters_are_refused_by_name(tenant):
    assert await _errors(tenant, {"integrationName": "x" * 65}) == (
        "VALIDATION_FAILED",
        ["filter.integrationName"],
    )
    assert await _errors(tenant, {"action": "x" * 101}) == ("VALIDATION_FAILED", ["filter.action"])
    # An id no id can be is NOT_FOUND, as everywhere in the API.
    assert await _errors(tenant, {"connectionId": "conn_" + "0" * 40}) == ("NOT_FOUND", [])
    assert await _errors(tenant, {"apiKeyId": "k" * 33}) == ("NOT_FOUND", [])
    since, until = NOW.isoformat(), (NOW - timedelta(seconds=1)).isoformat()
    assert await _errors(tenant, {"since": since, "until": until}) == ("VALIDATION_FAILED", ["filter.since"])
    body = await tenant.graphql(CALLS, {"filter": {"kind": "SYNC"}})
    assert "SYNC" in body["errors"][0]["message"] and body.get("data") is None
    body = await tenant.graphql(CALLS, {"first": 1000})
    assert body["errors"][0]["extensions"]["fields"][0]["field"] == "first"
    body = await tenant.graphql(CALLS, {"after": "not-a-cursor"})
    assert body["errors"][0]["extensions"]["fields"][0]["field"] == "after"


async def test_a_restricted_key_sees_only_its_workspace(tenant):
    caller = await restricted_caller(tenant)
    mine = await log_call(tenant.organization_id, caller.workspace_id)
    await log_call(tenant.organization_id, tenant.workspace_id)
    await log_call(tenant.organization_id, None)  # no workspace: the organization's own

    assert await _ids(caller) == [mine.id]
    assert await _ids(caller, {"workspaceId": caller.workspace_id}) == [mine.id]
    assert await _errors(caller, {"workspaceId": tenant.workspace_id}) == ("NOT_FOUND", [])
    # The unrestricted key sees all three.
    assert len(await _ids(tenant)) == 3


async def test_another_organization_sees_none_of_the_log(tenant, other_tenant):
    rows = await _log(tenant)
    assert await _ids(other_tenant) == []
    assert await _ids(other_tenant, {"workspaceId": tenant.workspace_id}) == []
    assert await _ids(other_tenant, {"connectionId": "conn_a"}) == []
    # A cursor of the victim's log opens nothing either.
    data = await tenant.data(CALLS, {"first": 1})
    after = data["calls"]["pageInfo"]["endCursor"]
    assert await _ids(other_tenant, after=after) == []
    assert rows  # the victim's log was there to find


async def test_the_service_checks_what_graphql_cannot(database):
    """Length first (a longer value would make Tortoise raise on the lookup), then every enum
    and the range, all named at once."""
    bad = {"kind": "SYNC", "status": "DONE", "since": NOW, "until": NOW - timedelta(days=1)}
    scope = Scope(organization_id="org_x")
    with pytest.raises(ValidationFailed) as too_long:
        await list_calls(scope=scope, workspace_id="w" * 33, **bad, first=10, after=None, max_page_size=100)
    assert [problem.field for problem in too_long.value.errors] == ["filter.workspaceId"]
    with pytest.raises(ValidationFailed) as refused:
        await list_calls(scope=scope, **bad, first=10, after=None, max_page_size=100)
    assert [problem.field for problem in refused.value.errors] == [
        "filter.kind",
        "filter.status",
        "filter.since",
    ]
