"""The outbox: connection changes record their events in the same transaction."""

from __future__ import annotations

import json

import pytest
from tortoise.transactions import in_transaction

from server.connections import deletion
from server.connections import service as connections
from server.connections import status as statuses
from server.webhooks.models import WebhookDelivery, WebhookEvent
from server.webhooks.outbox import new_event_id, record_event
from server.webhooks.payloads import connection_payload
from tests.webhooks.helpers import SECRET_KEY, deliveries_of, make_connection


async def test_connection_changes_record_events_without_secrets(owner, settings, key_ring, endpoint):
    connection = await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    await statuses.set_status(connection=connection, status="ERROR", reason="token revoked", bus=None)
    await deletion.delete_connection(scope=owner.scope, connection_id=connection.id)

    events = await WebhookEvent.filter(object_id=connection.id).order_by("id")
    assert [event.type for event in events] == [
        "connection.created",
        "connection.status_changed",
        "connection.health_changed",
        "connection.deleted",
    ]
    assert {event.workspace_id for event in events} == {owner.workspace_id}
    created, changed, health, _ = (event.payload for event in events)
    assert created["id"] == connection.id
    assert created["integrationName"] == "openai"
    assert created["authType"] == "SECRET_TEXT"
    assert created["status"] == "ACTIVE"
    assert created["credentialPreview"] == connection.credential_preview
    assert changed["status"] == "ERROR" and changed["statusReason"] == "token revoked"
    assert health["health"] == "NEEDS_REAUTHORIZATION" and health["healthReason"] == "token revoked"
    stored = json.dumps([event.payload for event in events])
    assert SECRET_KEY not in stored and SECRET_KEY[-12:] not in stored
    # The endpoint listens to created, status_changed and deleted only.
    assert len(await deliveries_of(endpoint.endpoint.id)) == 3


async def test_an_event_commits_or_rolls_back_with_its_change(owner, endpoint):
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await record_event(
                organization_id=owner.scope.organization_id,
                workspace_id=owner.workspace_id,
                type="connection.created",
                payload={"id": "conn_x"},
                object_id="conn_x",
            )
            raise RuntimeError("the change failed")
    assert await WebhookEvent.filter(object_id="conn_x").count() == 0
    assert await WebhookDelivery.filter(object_id="conn_x").count() == 0


async def test_a_failed_status_change_records_no_event(owner, settings, key_ring, endpoint):
    connection = await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    with pytest.raises(Exception, match="cannot go from"):
        await statuses.set_status(connection=connection, status="DELETED", reason=None, bus=None)
    assert await WebhookEvent.filter(object_id=connection.id).count() == 1


async def test_only_subscribed_endpoints_of_the_workspace_get_deliveries(owner, settings, key_ring, receiver):
    from server import ids
    from server.orgs.models import Workspace
    from server.webhooks import service

    other = await Workspace.create(
        id=ids.new_id("workspace"), organization_id=owner.scope.organization_id, name="staging"
    )
    deleted_only = await service.create_endpoint(
        scope=owner.scope,
        settings=settings,
        key_ring=key_ring,
        workspace_id=owner.workspace_id,
        url=receiver.url,
        event_types=["connection.deleted"],
    )
    elsewhere = await service.create_endpoint(
        scope=owner.scope,
        settings=settings,
        key_ring=key_ring,
        workspace_id=other.id,
        url=receiver.url,
        event_types=["connection.created"],
    )
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    assert await deliveries_of(deleted_only.endpoint.id) == []
    assert await deliveries_of(elsewhere.endpoint.id) == []


async def test_organization_wide_connections_reach_every_workspace(owner, settings, key_ring, endpoint):
    connection = await connections.create_connection(
        scope=owner.scope,
        key_ring=key_ring,
        settings=settings,
        integration_name="openai",
        auth_type="SECRET_TEXT",
        credentials={"secret_text": SECRET_KEY},
        connection_scope="ORGANIZATION",
    )
    [delivery] = await deliveries_of(endpoint.endpoint.id)
    assert delivery.object_id == connection.id
    event = await WebhookEvent.get(id=delivery.event_id)
    assert event.workspace_id is None
    assert event.payload == connection_payload(connection)


def test_event_ids_increase_strictly_within_a_process():
    made = [new_event_id() for _ in range(2000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


async def test_old_events_are_pruned_unless_a_delivery_still_waits(owner, endpoint):
    from datetime import UTC, datetime, timedelta

    from server.webhooks.outbox import prune_events

    made = []
    for object_id in ("conn_old_done", "conn_old_waiting", "conn_recent"):
        made.append(
            await record_event(
                organization_id=owner.scope.organization_id,
                workspace_id=owner.workspace_id,
                type="connection.created",
                payload={"id": object_id},
                object_id=object_id,
            )
        )
    old = datetime.now(UTC) - timedelta(days=40)
    await WebhookEvent.filter(id__in=[made[0].id, made[1].id]).update(created_at=old)
    await WebhookDelivery.filter(event_id=made[0].id).update(status="SUCCEEDED")

    assert await prune_events(now=datetime.now(UTC), retention_days=30) == 1
    left = await WebhookEvent.filter(organization_id=owner.scope.organization_id)
    assert sorted(e.object_id for e in left) == ["conn_old_waiting", "conn_recent"]
    assert await WebhookDelivery.filter(event_id=made[0].id).count() == 0
