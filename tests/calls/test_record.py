"""Recording calls: a row per call, never an exception, ``call.failed`` through the outbox."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from tortoise.transactions import in_transaction

from server import ids
from server.calls import service
from server.calls.models import CallLog
from server.calls.records import ACTION, FAILED, PROXY, SUCCEEDED, Call
from server.orgs.models import Organization, Workspace
from server.webhooks.models import WebhookEvent

pytestmark = pytest.mark.usefixtures("database")


async def _workspace() -> Workspace:
    organization = await Organization.create(id=ids.new_id("organization"), name="Acme")
    return await Workspace.create(id=ids.new_id("workspace"), organization=organization, name="default")


def _call(workspace: Workspace, **changes: object) -> Call:
    call = Call(
        organization_id=workspace.organization_id,
        workspace_id=workspace.id,
        kind=PROXY,
        integration_name="github",
        status=SUCCEEDED,
        duration_ms=42,
        connection_id="conn_1",
        api_key_id="key_1",
        method="GET",
        path="/user/repos",
        http_status=200,
    )
    return replace(call, **changes)  # type: ignore[arg-type]


async def test_record_writes_one_row_with_what_the_call_says() -> None:
    workspace = await _workspace()
    await service.record(_call(workspace))

    (row,) = await CallLog.filter(organization_id=workspace.organization_id)
    assert row.id.startswith("call_")
    assert (row.kind, row.integration_name, row.method, row.path) == (PROXY, "github", "GET", "/user/repos")
    assert (row.status, row.http_status, row.duration_ms) == (SUCCEEDED, 200, 42)
    assert (row.workspace_id, row.connection_id, row.api_key_id) == (workspace.id, "conn_1", "key_1")
    assert await WebhookEvent.filter(organization_id=workspace.organization_id).count() == 0


async def test_record_never_raises_and_logs_what_it_could_not_write(caplog) -> None:
    workspace = await _workspace()
    with caplog.at_level(logging.ERROR, logger="weir.calls"):
        await service.record(_call(workspace, duration_ms="not a number", status=FAILED))

    assert await CallLog.filter(organization_id=workspace.organization_id).count() == 0
    # The event is written in the row's transaction: no row, no event.
    assert await WebhookEvent.filter(organization_id=workspace.organization_id).count() == 0
    assert "could not record a PROXY call of github" in caplog.text


async def test_record_cuts_an_overlong_path_to_fit_rather_than_lose_the_call() -> None:
    workspace = await _workspace()
    await service.record(_call(workspace, path="/" + "a" * 5000))

    (row,) = await CallLog.filter(organization_id=workspace.organization_id)
    assert row.path == "/" + "a" * 999


async def test_a_failed_call_writes_a_call_failed_event_in_graphql_names() -> None:
    workspace = await _workspace()
    await service.record(
        _call(
            workspace,
            kind=ACTION,
            integration_name="slack",
            action="send_channel_message",
            method=None,
            path=None,
            status=FAILED,
            http_status=403,
            error_code="PROVIDER_FORBIDDEN",
            end_user_id="eu_1",
        )
    )

    (row,) = await CallLog.filter(organization_id=workspace.organization_id)
    (event,) = await WebhookEvent.filter(organization_id=workspace.organization_id)
    assert (event.type, event.object_id, event.workspace_id) == ("call.failed", row.id, workspace.id)
    assert event.payload == {
        "id": row.id,
        "kind": ACTION,
        "integrationName": "slack",
        "connectionId": "conn_1",
        "workspaceId": workspace.id,
        "apiKeyId": "key_1",
        "endUserId": "eu_1",
        "action": "send_channel_message",
        "method": None,
        "path": None,
        "status": FAILED,
        "httpStatus": 403,
        "errorCode": "PROVIDER_FORBIDDEN",
        "durationMs": 42,
        "createdAt": row.created_at.isoformat(),
    }


async def test_record_never_keeps_a_query_string_even_when_handed_one() -> None:
    workspace = await _workspace()
    await service.record(_call(workspace, path="/search?api_key=sk_live_secret#frag"))

    (row,) = await CallLog.filter(organization_id=workspace.organization_id)
    assert row.path == "/search"


async def test_a_failed_record_leaves_the_callers_transaction_usable() -> None:
    workspace = await _workspace()
    async with in_transaction():
        # Refused by the database itself (no such organization): on Postgres a failed
        # statement outside a savepoint would abort the whole transaction.
        await service.record(_call(workspace, organization_id="org_" + "0" * 26))
        await Workspace.filter(id=workspace.id).update(name="renamed")
        await service.record(_call(workspace))

    assert (await Workspace.get(id=workspace.id)).name == "renamed"
    assert [row.organization_id for row in await CallLog.all()] == [workspace.organization_id]
