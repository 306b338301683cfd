"""Delivery to a scripted receiver on loopback: signatures, order, retries, disabling, replay."""

from __future__ import annotations

import json
from datetime import timedelta

from server.connections import deletion
from server.connections import status as statuses
from server.webhooks import service
from server.webhooks.claims import claim_due, lease_seconds
from server.webhooks.delivery import RETRY_BASE_SECONDS, RETRY_FACTOR
from server.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.webhooks.helpers import (
    deliveries_of,
    header_values,
    independent_signatures,
    make_connection,
)


async def test_a_delivery_is_signed_and_verifies_independently(
    owner, settings, key_ring, endpoint, receiver, dispatcher
):
    connection = await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    assert await dispatcher.run() == 1

    [request] = receiver.received
    headers, body = request.headers, request.body
    assert headers["content-type"] == "application/json"
    timestamp = headers["weir-timestamp"]
    assert int(timestamp) == int(dispatcher.clock.now.timestamp())
    expected = independent_signatures(endpoint.secret, timestamp, body)
    assert header_values(headers["weir-signature"]) == [expected]
    document = json.loads(body)
    assert document["id"] == headers["weir-event-id"]
    assert document["type"] == "connection.created"
    assert document["workspaceId"] == owner.workspace_id
    assert document["data"]["id"] == connection.id
    assert document["createdAt"]
    tampered = body.replace(b"ACTIVE", b"ERROR")
    assert independent_signatures(endpoint.secret, timestamp, tampered) != expected

    [delivery] = await deliveries_of(endpoint.endpoint.id)
    assert delivery.status == "SUCCEEDED"
    [attempt] = delivery.attempts
    assert attempt["statusCode"] == 200
    assert attempt["latencyMs"] >= 0
    assert attempt["responseExcerpt"] == "answer 200"


async def test_events_of_one_object_are_delivered_in_order(
    owner, settings, key_ring, endpoint, receiver, dispatcher
):
    receiver.script = [500]  # the first event of the first connection fails once
    first = await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    await statuses.set_status(connection=first, status="ERROR", reason="revoked", bus=None)
    await statuses.set_status(connection=first, status="ACTIVE", reason=None, bus=None)
    second = await make_connection(owner.scope, owner.workspace_id, settings, key_ring)

    await dispatcher.drain()
    # The failed event holds back the rest of its object; the other object is not held.
    sent = [json.loads(r.body) for r in receiver.received]
    assert [(d["data"]["id"], d["type"]) for d in sent] == [
        (first.id, "connection.created"),
        (second.id, "connection.created"),
    ]

    dispatcher.clock.advance(seconds=RETRY_BASE_SECONDS * 1.3)
    await dispatcher.drain()
    of_first = [json.loads(r.body) for r in receiver.received if json.loads(r.body)["data"]["id"] == first.id]
    assert [(d["type"], d["data"]["status"]) for d in of_first] == [
        ("connection.created", "ACTIVE"),
        ("connection.created", "ACTIVE"),
        ("connection.status_changed", "ERROR"),
        ("connection.status_changed", "ACTIVE"),
    ]


async def test_retries_back_off_with_jitter_over_about_a_day_then_give_up(
    owner, settings, key_ring, endpoint, receiver, dispatcher
):
    receiver.script = [500] * 50
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    clock = dispatcher.clock
    started = clock.now
    delays = []
    while True:
        assert await dispatcher.run() == 1
        [delivery] = await deliveries_of(endpoint.endpoint.id)
        if delivery.status != "PENDING":
            break
        delays.append((delivery.next_attempt_at - clock.now).total_seconds())
        clock.advance(seconds=delays[-1] - 1)
        assert await dispatcher.run() == 0  # not before its time
        clock.now = delivery.next_attempt_at
    assert delivery.status == "FAILED"
    assert delivery.last_error.startswith(f"gave up after {len(delays) + 1} attempts")
    assert delivery.attempt_count == len(receiver.received) == len(delays) + 1
    for number, delay in enumerate(delays, start=1):
        base = min(RETRY_BASE_SECONDS * RETRY_FACTOR ** (number - 1), 6 * 3600)
        assert base * 0.8 <= delay <= base * 1.2, (number, delay)
    assert delays[:4] == sorted(delays[:4])
    spent = (clock.now - started).total_seconds()
    assert 16 * 3600 <= spent <= 24 * 3600  # about a day, whatever the jitter drew
    assert all(a["statusCode"] == 500 for a in delivery.attempts)


async def test_retry_after_is_honoured_on_429(owner, settings, key_ring, endpoint, receiver, dispatcher):
    receiver.script = [(429, {"Retry-After": "120"})]
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    sent_at = dispatcher.clock.now
    await dispatcher.run()
    [delivery] = await deliveries_of(endpoint.endpoint.id)
    assert delivery.status == "PENDING"
    assert delivery.next_attempt_at == sent_at + timedelta(seconds=120)
    dispatcher.clock.advance(seconds=119)
    assert await dispatcher.run() == 0
    dispatcher.clock.advance(seconds=1)
    assert await dispatcher.run() == 1
    [delivery] = await deliveries_of(endpoint.endpoint.id)
    assert delivery.status == "SUCCEEDED"
    assert [a["statusCode"] for a in delivery.attempts] == [429, 200]


async def test_a_timeout_is_retried(owner, settings, key_ring, endpoint, receiver, dispatcher):
    receiver.script = [("sleep", 3)]
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    await dispatcher.run()
    [delivery] = await deliveries_of(endpoint.endpoint.id)
    assert delivery.status == "PENDING"
    [attempt] = delivery.attempts
    assert attempt["statusCode"] is None and attempt["error"].startswith("timed out")
    dispatcher.clock.now = delivery.next_attempt_at
    await dispatcher.run()
    [delivery] = await deliveries_of(endpoint.endpoint.id)
    assert delivery.status == "SUCCEEDED"
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["weir-event-id"] == receiver.received[1].headers["weir-event-id"]


async def test_a_connection_error_is_retried(owner, settings, key_ring, receiver, dispatcher):
    from tests.serving import free_port

    created = await service.create_endpoint(
        scope=owner.scope,
        settings=settings,
        key_ring=key_ring,
        workspace_id=owner.workspace_id,
        url=f"http://127.0.0.1:{free_port()}/nobody",
        event_types=["connection.created"],
    )
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    await dispatcher.run()
    [delivery] = await deliveries_of(created.endpoint.id)
    assert delivery.status == "PENDING"
    assert delivery.attempts[0]["error"].startswith("connection failed")


async def test_client_errors_are_not_retried_and_do_not_block_the_next_event(
    owner, settings, key_ring, endpoint, receiver, dispatcher
):
    receiver.script = [400]
    connection = await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    await deletion.delete_connection(scope=owner.scope, connection_id=connection.id)
    await dispatcher.drain()
    created, deleted = await deliveries_of(endpoint.endpoint.id)
    assert (created.status, created.attempt_count) == ("FAILED", 1)
    assert deleted.status == "SUCCEEDED"
    dispatcher.clock.advance(hours=30)
    assert await dispatcher.drain() == 0
    assert len(receiver.received) == 2


async def test_410_disables_the_endpoint_and_enabling_it_delivers_what_waited(
    owner, settings, key_ring, endpoint, receiver, dispatcher
):
    receiver.script = [410]
    connection = await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    await dispatcher.drain()
    row = await WebhookEndpoint.get(id=endpoint.endpoint.id)
    assert not row.enabled and "410" in row.disabled_reason
    await statuses.set_status(connection=connection, status="ERROR", reason="x", bus=None)
    await deletion.delete_connection(scope=owner.scope, connection_id=connection.id)
    dispatcher.clock.advance(days=2)
    assert await dispatcher.drain() == 0
    assert len(receiver.received) == 1

    updated = await service.update_endpoint(
        scope=owner.scope,
        settings=settings,
        endpoint_id=endpoint.endpoint.id,
        enabled=True,
        now=dispatcher.clock.now,
    )
    assert updated.enabled and updated.disabled_reason is None
    await dispatcher.drain()
    types = [json.loads(r.body)["type"] for r in receiver.received]
    assert types == [
        "connection.created",
        "connection.created",
        "connection.status_changed",
        "connection.deleted",
    ]
    assert {d.status for d in await deliveries_of(endpoint.endpoint.id)} == {"SUCCEEDED"}


async def test_an_endpoint_failing_for_a_long_stretch_is_disabled(
    owner, settings, key_ring, receiver, dispatcher
):
    dispatcher.settings = settings.replace(webhooks_disable_after_seconds=3600)
    created = await service.create_endpoint(
        scope=owner.scope,
        settings=settings,
        key_ring=key_ring,
        workspace_id=owner.workspace_id,
        url=receiver.url,
        event_types=["connection.created"],
    )
    receiver.script = [503] * 20
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    for _ in range(20):
        await dispatcher.run()
        row = await WebhookEndpoint.get(id=created.endpoint.id)
        if not row.enabled:
            break
        [delivery] = await deliveries_of(created.endpoint.id)
        dispatcher.clock.now = delivery.next_attempt_at
    assert not row.enabled
    assert row.disabled_reason.startswith("failing since")
    assert (dispatcher.clock.now - row.failing_since) >= timedelta(hours=1)
    [delivery] = await deliveries_of(created.endpoint.id)
    assert delivery.status == "PENDING"  # it waits for the endpoint, it is not given up

    receiver.script = []
    await service.update_endpoint(
        scope=owner.scope,
        settings=settings,
        endpoint_id=created.endpoint.id,
        enabled=True,
        now=dispatcher.clock.now,
    )
    assert await dispatcher.run() == 1
    [delivery] = await deliveries_of(created.endpoint.id)
    assert delivery.status == "SUCCEEDED"
    row = await WebhookEndpoint.get(id=created.endpoint.id)
    assert row.failing_since is None and row.consecutive_failures == 0


async def test_redelivery_sends_the_same_event_again(
    owner, settings, key_ring, endpoint, receiver, dispatcher
):
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    await dispatcher.drain()
    [event] = await WebhookEvent.filter(organization_id=owner.scope.organization_id)
    [replay] = await service.redeliver_event(scope=owner.scope, event_id=event.id)
    assert replay.status == "PENDING"
    await dispatcher.drain()
    first, second = receiver.received
    assert first.headers["weir-event-id"] == second.headers["weir-event-id"] == event.id
    assert first.body == second.body
    assert len(await deliveries_of(endpoint.endpoint.id)) == 2


async def test_rotation_signs_with_both_secrets_during_the_grace_period(
    owner, settings, key_ring, endpoint, receiver, dispatcher
):
    rotated = await service.rotate_secret(
        scope=owner.scope,
        settings=settings,
        key_ring=key_ring,
        endpoint_id=endpoint.endpoint.id,
        grace_seconds=3600,
        now=dispatcher.clock.now,
    )
    assert rotated.secret != endpoint.secret
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    await dispatcher.run()
    request = receiver.received[-1]
    timestamp = request.headers["weir-timestamp"]
    values = header_values(request.headers["weir-signature"])
    assert values == [
        independent_signatures(rotated.secret, timestamp, request.body),
        independent_signatures(endpoint.secret, timestamp, request.body),
    ]

    dispatcher.clock.advance(seconds=3601)
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    await dispatcher.run()
    request = receiver.received[-1]
    timestamp = request.headers["weir-timestamp"]
    assert header_values(request.headers["weir-signature"]) == [
        independent_signatures(rotated.secret, timestamp, request.body)
    ]


async def test_a_claim_abandoned_by_a_killed_worker_expires_and_is_delivered_once(
    owner, settings, key_ring, endpoint, receiver, dispatcher
):
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    # The "killed" worker claimed it and died before sending anything.
    [claim] = await claim_due(settings=settings, now=dispatcher.clock.now, limit=10)
    assert await dispatcher.run() == 0  # the claim holds
    dispatcher.clock.advance(seconds=lease_seconds(settings) - 1)
    assert await dispatcher.run() == 0
    dispatcher.clock.advance(seconds=2)  # the restarted worker finds the expired claim
    assert await dispatcher.run() == 1
    dispatcher.clock.advance(hours=1)
    assert await dispatcher.drain() == 0
    assert len(receiver.received) == 1
    [delivery] = await deliveries_of(endpoint.endpoint.id)
    assert delivery.id == claim.delivery.id
    assert (delivery.status, delivery.attempt_count, delivery.claim_token) == ("SUCCEEDED", 1, None)


async def test_concurrent_dispatchers_never_claim_the_same_delivery(
    owner, settings, key_ring, endpoint, dispatcher
):
    import asyncio

    for number in range(12):
        await make_connection(
            owner.scope, owner.workspace_id, settings, key_ring, external_id=f"customer-{number}"
        )
    now = dispatcher.clock.now
    batches = await asyncio.gather(*(claim_due(settings=settings, now=now, limit=5) for _ in range(4)))
    claimed = [claim.delivery.id for batch in batches for claim in batch]
    assert len(claimed) == len(set(claimed)) == 12
    assert await WebhookDelivery.filter(claim_token__isnull=False).count() == 12


async def test_a_blocked_object_does_not_starve_the_others(owner, endpoint, receiver, dispatcher):
    from server.webhooks.outbox import record_event

    async def event(object_id: str) -> None:
        await record_event(
            organization_id=owner.scope.organization_id,
            workspace_id=owner.workspace_id,
            type="connection.status_changed",
            payload={"id": object_id},
            object_id=object_id,
        )

    receiver.script = [500]
    await event("conn_busy")
    assert await dispatcher.run() == 1  # fails: the rest of conn_busy now waits behind it
    for _ in range(300):
        await event("conn_busy")
    await event("conn_other")
    assert await dispatcher.run(limit=10) == 1
    assert json.loads(receiver.received[-1].body)["data"]["id"] == "conn_other"


async def test_signing_secrets_follow_an_encryption_key_rotation(owner, settings, receiver, dispatcher):
    from server.crypto import generate_key_spec, parse_key_ring
    from server.vault import rotate_all, verify_key_ring

    old, new = generate_key_spec("old"), generate_key_spec("new")
    old_ring = parse_key_ring(old)
    created = await service.create_endpoint(
        scope=owner.scope,
        settings=settings,
        key_ring=old_ring,
        workspace_id=owner.workspace_id,
        url=receiver.url,
        event_types=["connection.created"],
    )
    rotated = await service.rotate_secret(
        scope=owner.scope,
        settings=settings,
        key_ring=old_ring,
        endpoint_id=created.endpoint.id,
        grace_seconds=3600,
        now=dispatcher.clock.now,
    )
    both = parse_key_ring(f"{new},{old}")
    counts = await rotate_all(key_ring=both)
    assert counts.rotated >= 2
    only_new = parse_key_ring(new)
    await verify_key_ring(key_ring=only_new)  # nothing is left sealed with the old key

    dispatcher.key_ring = only_new
    await make_connection(owner.scope, owner.workspace_id, settings, dispatcher.key_ring)
    await dispatcher.run()
    request = receiver.received[-1]
    timestamp = request.headers["weir-timestamp"]
    assert header_values(request.headers["weir-signature"]) == [
        independent_signatures(rotated.secret, timestamp, request.body),
        independent_signatures(created.secret, timestamp, request.body),
    ]
