"""A running run whose heartbeat is alive but that loads nothing is marked stuck once, with a
``sync_run.stuck`` webhook event and a status event; its next batch clears the mark."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from server.events import InMemoryEventBus
from server.scope import Scope
from server.syncs import schedule
from server.syncs.models import SyncRun
from server.syncs.runner import RunEnvironment
from server.syncs.service import StreamChoice
from server.syncs.stream_load import Progress
from server.syncs.transitions import move_run, run_channels, utcnow
from server.webhooks.models import WebhookEvent
from tests.syncs.conftest import make_sync

CONTACTS = [StreamChoice(name="contacts", sync_mode="INCREMENTAL")]


async def _running(env: RunEnvironment, scope: Scope, schema: str, minutes_ago: int) -> SyncRun:
    sync = await make_sync(env, scope, settings={"contacts": 5}, streams=CONTACTS, schema=schema)
    run = await move_run(run=await schedule.create_run(sync=sync, trigger="MANUAL"), to="RUNNING", bus=None)
    started = utcnow() - timedelta(minutes=minutes_ago)
    await SyncRun.filter(id=run.id).update(started_at=started, heartbeat_at=utcnow())
    return await SyncRun.get(id=run.id)


async def test_a_run_that_loads_nothing_is_marked_stuck_once(env: RunEnvironment, scope: Scope) -> None:
    settings = env.settings.replace(run_stuck_seconds=600)
    stuck = await _running(env, scope, "stuck", minutes_ago=30)
    young = await _running(env, scope, "young", minutes_ago=5)
    # Started long ago but loaded a batch a minute ago: moving.
    moving = await _running(env, scope, "moving", minutes_ago=30)
    recent = (utcnow() - timedelta(minutes=1)).isoformat()
    await SyncRun.filter(id=moving.id).update(
        stream_stats={"contacts": {"rowsLoaded": 5, "lastBatchAt": recent}}
    )

    bus = InMemoryEventBus()
    await bus.start()
    channel = run_channels(stuck.organization_id, stuck.sync_id, None)[0]
    async with bus.subscribe(channel) as events:
        assert await schedule.mark_stuck_runs(settings=settings, bus=bus) == [stuck.id]
        event = await asyncio.wait_for(anext(events), 2)
    assert event["runId"] == stuck.id and event["run"]["stuck_at"] is not None
    assert await schedule.mark_stuck_runs(settings=settings, bus=bus) == []  # once
    assert (await SyncRun.get(id=stuck.id)).stuck_at is not None
    assert (await SyncRun.get(id=young.id)).stuck_at is None
    assert (await SyncRun.get(id=moving.id)).stuck_at is None
    webhooks = await WebhookEvent.filter(type="sync_run.stuck")
    assert [hook.object_id for hook in webhooks] == [stuck.id]
    assert webhooks[0].payload["stuckAt"] is not None
    await bus.close()


async def test_the_next_batch_clears_the_mark(env: RunEnvironment, scope: Scope) -> None:
    settings = env.settings.replace(run_stuck_seconds=600)
    run = await _running(env, scope, "stuck", minutes_ago=30)
    assert await schedule.mark_stuck_runs(settings=settings, bus=None) == [run.id]
    progress = Progress(run, None)
    progress.stream("contacts")["rowsLoaded"] = 5
    await progress.save(force=True)
    assert (await SyncRun.get(id=run.id)).stuck_at is None
