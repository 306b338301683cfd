"""One tenant's bad schedule never stops the scheduling of the others.

A stored cron that never matches a date, a string that is not cron, an unknown timezone: the
row is disabled with a FAILED run giving the reason (and its events), while every other due
sync is still claimed and queued, on both databases (the Postgres path claims in bulk).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
import pytest

from server import ids
from server.errors import ValidationFailed
from server.events import InMemoryEventBus
from server.orgs.models import Organization, Workspace
from server.scope import Scope
from server.syncs import queue, schedule, service
from server.syncs.models import EltSync, SyncRun
from server.syncs.runner import RunEnvironment
from server.syncs.service import StreamChoice, SyncChanges
from server.webhooks.models import WebhookEvent
from tests.syncs.conftest import make_sync

CONTACTS = [StreamChoice(name="contacts", sync_mode="INCREMENTAL")]
BAD_SCHEDULES = [
    ("0 0 31 2 *", "UTC", "never matches a date"),
    ("every tuesday", "UTC", "cannot be evaluated"),
    ("0 * * * *", "Mars/Olympus_Mons", "not an IANA timezone"),
]


class RecordingBus(InMemoryEventBus):
    """The in-memory bus, remembering every event published."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        self.published.append((channel, event))
        await super().publish(channel, event)

    async def publish_many(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        self.published.extend(events)
        await super().publish_many(events)


def _queued_run_ids() -> list[str]:
    broker = queue.current_broker()
    waiting = broker.queues.get(queue.QUEUE_NAME)
    return [dramatiq.Message.decode(body).args[0] for body in list(waiting.queue)] if waiting else []


async def _enabled_sync(
    env: RunEnvironment, scope: Scope, schema: str, interval: str = "0 * * * *", timezone: str = "UTC"
) -> EltSync:
    sync = await make_sync(env, scope, settings={"contacts": 5}, streams=CONTACTS, schema=schema)
    await service.set_enabled(scope=scope, bus=None, sync_id=sync.id, enabled=True)
    # Written straight to the database, as an older version or a hand edit could have.
    await EltSync.filter(id=sync.id).update(
        sync_interval=interval, timezone=timezone, next_run_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    return await EltSync.get(id=sync.id)


async def _other_tenant(env: RunEnvironment) -> Scope:
    organization = await Organization.create(id=ids.new_id("organization"), name="Globex")
    workspace = await Workspace.create(id=ids.new_id("workspace"), organization=organization, name="default")
    return Scope(organization_id=organization.id, workspace_id=workspace.id)


async def test_bad_stored_schedules_are_disabled_and_every_other_sync_is_queued(
    env: RunEnvironment, scope: Scope
) -> None:
    bus = RecordingBus()
    first_good = await _enabled_sync(env, scope, "crm_before")
    bad = [
        await _enabled_sync(env, scope, f"crm_bad_{n}", interval, timezone)
        for n, (interval, timezone, _) in enumerate(BAD_SCHEDULES)
    ]
    other = await _other_tenant(env)
    second_good = await _enabled_sync(env, other, "crm_other")

    created = await schedule.run_due_syncs(settings=env.settings, bus=bus)

    queued = {run.sync_id: run for run in created if run.status == "QUEUED"}
    assert set(queued) == {first_good.id, second_good.id}
    assert {run.id for run in queued.values()} <= set(_queued_run_ids())
    for sync, (_, _, reason) in zip(bad, BAD_SCHEDULES, strict=True):
        stored = await EltSync.get(id=sync.id)
        assert (stored.enabled, stored.next_run_at) == (False, None)
        [run] = await SyncRun.filter(sync_id=sync.id)
        assert (run.trigger, run.status) == ("SCHEDULE", "FAILED")
        assert reason in run.error and "disabled" in run.error
        assert run.finished_at is not None
        assert run in created
        assert ("syncRun.status", "FAILED") in [
            (event["type"], event.get("status"))
            for _, event in bus.published
            if event.get("syncId") == sync.id
        ]
        assert any(event == {"type": "eltSync.updated", "syncId": sync.id} for _, event in bus.published)
        types = set(await WebhookEvent.filter(object_id__in=[sync.id, run.id]).values_list("type", flat=True))
        assert {"sync_run.failed", "elt_sync.updated"} <= types

    # The next tick finds nothing: a disabled sync fails once, not every five seconds.
    assert await schedule.run_due_syncs(settings=env.settings, bus=bus) == []
    for sync in bad:
        assert await SyncRun.filter(sync_id=sync.id).count() == 1


async def test_a_bad_schedule_is_refused_when_enabling_again(env: RunEnvironment, scope: Scope) -> None:
    sync = await _enabled_sync(env, scope, "crm", "0 0 31 2 *")
    await schedule.run_due_syncs(settings=env.settings, bus=None)

    with pytest.raises(ValidationFailed) as refused:
        await service.set_enabled(scope=scope, bus=None, sync_id=sync.id, enabled=True)

    assert "never matches a date" in str(refused.value)
    fixed = await service.update_sync(
        scope=scope,
        settings=env.settings,
        bus=None,
        sync_id=sync.id,
        changes=SyncChanges(sync_interval="0 0 28 2 *"),
    )
    enabled = await service.set_enabled(scope=scope, bus=None, sync_id=fixed.id, enabled=True)
    assert enabled.enabled and enabled.next_run_at > datetime.now(UTC)


async def test_changing_the_timezone_of_a_sync_with_a_bad_stored_cron_names_the_field(
    env: RunEnvironment, scope: Scope
) -> None:
    sync = await _enabled_sync(env, scope, "crm", "0 0 30 2 *")

    with pytest.raises(ValidationFailed) as refused:
        await service.update_sync(
            scope=scope,
            settings=env.settings,
            bus=None,
            sync_id=sync.id,
            changes=SyncChanges(timezone="Europe/Paris"),
        )

    assert refused.value.errors[0].field == "input.syncInterval"


@pytest.mark.parametrize(
    "interval, message",
    [
        ("0 0 31 2 *", "never matches a date"),
        ("0 0 30 2 *", "never matches a date"),
        ("0 0 31 4 *", "never matches a date"),
        ("0 " * 60 + "* * * *", "at most 120 characters"),
    ],
)
async def test_an_impossible_interval_is_validation_failed_at_input(
    tenant: Any, demo_connection: str, interval: str, message: str
) -> None:
    from tests.syncs.test_sync_api import CREATE, UPDATE, demo_input, error_of, fields_of

    created = await tenant.graphql(CREATE, {"input": demo_input(demo_connection, syncInterval=interval)})
    assert error_of(created)["extensions"]["code"] == "VALIDATION_FAILED"
    assert message in fields_of(created)["input.syncInterval"]

    sync_id = (await tenant.data(CREATE, {"input": demo_input(demo_connection)}))["createEltSync"]["id"]
    updated = await tenant.graphql(UPDATE, {"input": {"id": sync_id, "syncInterval": interval}})
    assert error_of(updated)["extensions"]["code"] == "VALIDATION_FAILED"
    assert message in fields_of(updated)["input.syncInterval"]
