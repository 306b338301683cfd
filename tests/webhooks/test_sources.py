"""The calls connect sessions and sync runs make into the outbox (wired in by their services)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from server import ids
from server.connect.models import ConnectSession
from server.connections import deletion
from server.syncs.models import EltSync, SyncRun
from server.syncs.webhook_events import record_elt_sync_updated, record_sync_run
from server.webhooks import service
from server.webhooks.models import WebhookDelivery, WebhookEvent
from server.webhooks.outbox import record_connect_session
from tests.webhooks.helpers import make_connection

TOKEN_HASH = "f" * 64
VERIFIER = "v1.test1.sealed-verifier"


async def test_connect_sessions_record_completed_and_failed(owner, settings, key_ring):
    session = await ConnectSession.create(
        id=ids.new_id("connect_session"),
        organization_id=owner.scope.organization_id,
        workspace_id=owner.workspace_id,
        token_hash=TOKEN_HASH,
        status="CONNECTING",
        oauth_state_hash="e" * 64,
        oauth_verifier_encrypted=VERIFIER,
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
    )
    assert await record_connect_session(session) is None  # CONNECTING is not an event
    session.status, session.error_code = "FAILED", "CHECK_FAILED"
    async with in_transaction():
        failed = await record_connect_session(session)
    connection = await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    session.status, session.connection_id, session.error_code = "COMPLETED", connection.id, None
    completed = await record_connect_session(session)

    assert (failed.type, completed.type) == ("connect_session.failed", "connect_session.completed")
    assert completed.payload["connectionId"] == connection.id
    assert completed.payload["status"] == "COMPLETED"
    text = json.dumps([failed.payload, completed.payload])
    assert TOKEN_HASH not in text and VERIFIER not in text and "e" * 64 not in text


async def test_sync_runs_and_syncs_record_their_events(owner, settings, key_ring, receiver):
    endpoint = await service.create_endpoint(
        scope=owner.scope,
        settings=settings,
        key_ring=key_ring,
        workspace_id=owner.workspace_id,
        url=receiver.url,
        event_types=["sync_run.started", "sync_run.failed", "elt_sync.updated"],
    )
    connection = await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    sync = await EltSync.create(
        id=ids.new_id("elt_sync"),
        organization_id=owner.scope.organization_id,
        workspace_id=owner.workspace_id,
        connection_id=connection.id,
        destination_schema="crm",
        sync_interval="0 * * * *",
    )
    run = await SyncRun.create(
        id=ids.new_id("sync_run"),
        organization_id=owner.scope.organization_id,
        sync_id=sync.id,
        trigger="MANUAL",
    )
    assert await record_sync_run(run, workspace_id=sync.workspace_id) is None  # QUEUED
    for status in ("RUNNING", "FAILED"):
        run.status = status
        await record_sync_run(run, workspace_id=sync.workspace_id)
    sync.enabled = True
    await record_elt_sync_updated(sync)

    events = await WebhookEvent.filter(type__startswith="s").order_by("id")
    assert [e.type for e in events] == ["sync_run.started", "sync_run.failed"]
    assert events[1].payload["syncId"] == sync.id and events[1].payload["status"] == "FAILED"
    updated = await WebhookEvent.get(type="elt_sync.updated")
    assert updated.payload["enabled"] is True
    assert updated.payload["destinationSchemaName"] == "crm"
    delivered = await WebhookDelivery.filter(endpoint_id=endpoint.endpoint.id).order_by("event_id")
    assert [d.event_type for d in delivered] == ["sync_run.started", "sync_run.failed", "elt_sync.updated"]


async def test_connect_session_moves_record_their_events(owner, settings, key_ring, receiver, dispatcher):
    from server.connect.service import transition

    endpoint = await service.create_endpoint(
        scope=owner.scope,
        settings=settings,
        key_ring=key_ring,
        workspace_id=owner.workspace_id,
        url=receiver.url,
        event_types=["connect_session.completed", "connect_session.failed"],
    )
    session = await ConnectSession.create(
        id=ids.new_id("connect_session"),
        organization_id=owner.scope.organization_id,
        workspace_id=owner.workspace_id,
        token_hash=TOKEN_HASH,
        status="PENDING",
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
    )
    session = await transition(session=session, status="CONNECTING", bus=None, integration_name="openai")
    session = await transition(
        session=session, status="FAILED", bus=None, error_code="CHECK_FAILED", error_message="key refused"
    )
    session = await transition(session=session, status="CONNECTING", bus=None)
    connection = await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    await transition(session=session, status="COMPLETED", bus=None, connection_id=connection.id)

    await dispatcher.drain()
    await dispatcher.drain()
    sent = [json.loads(request.body) for request in receiver.received]
    assert [(d["type"], d["data"]["status"]) for d in sent] == [
        ("connect_session.failed", "FAILED"),
        ("connect_session.completed", "COMPLETED"),
    ]
    assert sent[0]["data"]["errorCode"] == "CHECK_FAILED"
    assert sent[1]["data"]["connectionId"] == connection.id
    assert TOKEN_HASH not in json.dumps(sent)
    assert {d.status for d in await WebhookDelivery.filter(endpoint_id=endpoint.endpoint.id)} == {"SUCCEEDED"}


@pytest.fixture
def run_env(database, key_ring):  # type: ignore[no-untyped-def]
    from server.events import InMemoryEventBus
    from server.syncs.runner import RunEnvironment
    from server.worker.broker import install_broker

    install_broker(database)
    return RunEnvironment(settings=database, key_ring=key_ring, bus=InMemoryEventBus())


async def test_a_real_run_and_sync_changes_reach_the_endpoint(
    run_env, owner, settings, key_ring, receiver, dispatcher
):
    from server.scope import Scope
    from server.syncs import service as syncs
    from server.syncs.service import StreamChoice
    from server.syncs.settings import RESERVED_PREFIX
    from tests.syncs.conftest import make_sync, run_once

    env = run_env
    scope = Scope(organization_id=owner.scope.organization_id, workspace_id=owner.workspace_id)

    await service.create_endpoint(
        scope=scope,
        settings=settings,
        key_ring=key_ring,
        workspace_id=scope.workspace_id,
        url=receiver.url,
        event_types=["sync_run.started", "sync_run.succeeded", "elt_sync.updated"],
    )
    sync = await make_sync(
        env,
        scope,
        settings={"contacts": 25, "batch_size": 10},
        streams=[StreamChoice(name="contacts", sync_mode="INCREMENTAL", hashed_columns=["email"])],
    )
    await syncs.set_enabled(scope=scope, bus=None, sync_id=sync.id, enabled=True)
    run = await run_once(env, scope, sync)
    assert run.status == "SUCCEEDED"

    await dispatcher.drain()
    await dispatcher.drain()
    sent = [json.loads(request.body) for request in receiver.received]
    assert [d["type"] for d in sent if d["type"].startswith("sync_run")] == [
        "sync_run.started",
        "sync_run.succeeded",
    ]
    succeeded = (
        sent[-1]
        if sent[-1]["type"] == "sync_run.succeeded"
        else next(d for d in sent if d["type"] == "sync_run.succeeded")
    )
    assert succeeded["data"]["id"] == run.id and succeeded["data"]["rowsLoaded"] == 25
    assert (succeeded["data"]["rowsInserted"], succeeded["data"]["rowsUpdated"]) == (25, 0)
    assert succeeded["data"]["streams"][0]["rowsInserted"] == 25
    assert succeeded["data"]["streams"][0]["name"] == "contacts"
    [updated] = [d for d in sent if d["type"] == "elt_sync.updated"]
    assert updated["data"]["enabled"] is True and updated["data"]["nextRunAt"]
    stored = await EltSync.get(id=sync.id)
    assert any(key.startswith(RESERVED_PREFIX) for key in stored.settings)  # a salt exists...
    assert not any(key.startswith(RESERVED_PREFIX) for key in updated["data"]["settings"])


async def test_deleting_an_end_user_records_its_connections_deletion(owner, settings, key_ring):
    from server.connections import service as connections
    from server.orgs import service as orgs

    end_user = await orgs.create_end_user(
        scope=owner.scope, workspace_id=owner.workspace_id, external_id="leaving-customer"
    )
    connection = await connections.create_connection(
        scope=owner.scope,
        key_ring=key_ring,
        settings=settings,
        integration_name="openai",
        auth_type="SECRET_TEXT",
        credentials={"secret_text": "sk-test-" + "x" * 30},
        connection_scope="USER",
        end_user_id=end_user.id,
    )
    await deletion.delete_end_user(scope=owner.scope, end_user_id=end_user.id)
    deleted = await WebhookEvent.filter(type="connection.deleted", object_id=connection.id)
    assert len(deleted) == 1 and deleted[0].payload["id"] == connection.id
