"""The scheduler: cron in the sync's timezone, claiming due syncs once, skips, lost workers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from server.scope import Scope
from server.syncs import schedule, service
from server.syncs.models import EltSync, SyncRun
from server.syncs.runner import RunEnvironment, execute_run
from server.syncs.service import StreamChoice
from server.syncs.transitions import move_run
from tests.syncs.conftest import make_sync

CONTACTS = [StreamChoice(name="contacts", sync_mode="INCREMENTAL")]


def test_next_run_follows_the_timezone_across_daylight_saving() -> None:
    # 09:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer.
    before_switch = datetime(2025, 3, 29, 12, 0, tzinfo=UTC)

    first = schedule.next_run_after("0 9 * * *", "Europe/Paris", before_switch)
    second = schedule.next_run_after("0 9 * * *", "Europe/Paris", first)

    assert first == datetime(2025, 3, 30, 7, 0, tzinfo=UTC)
    assert second == datetime(2025, 3, 31, 7, 0, tzinfo=UTC)
    winter = schedule.next_run_after("0 9 * * *", "Europe/Paris", datetime(2025, 1, 10, 12, 0, tzinfo=UTC))
    assert winter == datetime(2025, 1, 11, 8, 0, tzinfo=UTC)


def test_cron_checks_name_the_field() -> None:
    assert schedule.cron_error("input.syncInterval", "0 * * * *", "UTC", 300) is None
    bad = schedule.cron_error("input.syncInterval", "61 * * * *", "UTC", 300)
    assert bad is not None and bad.field == "input.syncInterval"
    # Every five minutes except one gap of one minute: still too often.
    burst = schedule.cron_error("input.syncInterval", "0,1 * * * *", "UTC", 300)
    assert burst is not None and "minimum" in burst.message
    assert schedule.timezone_error("input.timezone", "Nowhere/Land") is not None


async def due_sync(env: RunEnvironment, scope: Scope, minutes_ago: int = 1) -> EltSync:
    sync = await make_sync(env, scope, settings={"contacts": 5}, streams=CONTACTS)
    await service.set_enabled(scope=scope, bus=None, sync_id=sync.id, enabled=True)
    due = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    await EltSync.filter(id=sync.id).update(next_run_at=due)
    return await EltSync.get(id=sync.id)


async def test_a_due_sync_is_claimed_once_and_rescheduled(env: RunEnvironment, scope: Scope) -> None:
    sync = await due_sync(env, scope, minutes_ago=600)  # missed ten slots while down

    created = await schedule.run_due_syncs(settings=env.settings, bus=env.bus)
    again = await schedule.run_due_syncs(settings=env.settings, bus=env.bus)

    assert [(r.sync_id, r.trigger, r.status) for r in created] == [(sync.id, "SCHEDULE", "QUEUED")]
    assert again == []  # the missed slots run once, not ten times
    refreshed = await EltSync.get(id=sync.id)
    assert refreshed.next_run_at > datetime.now(UTC)
    assert await execute_run(env=env, run_id=created[0].id) == "SUCCEEDED"


async def test_a_sync_whose_run_is_still_going_is_skipped_and_recorded(
    env: RunEnvironment, scope: Scope
) -> None:
    sync = await due_sync(env, scope)
    going = await schedule.create_run(sync=sync, trigger="MANUAL")

    created = await schedule.run_due_syncs(settings=env.settings, bus=env.bus)

    assert [r.status for r in created] == ["SKIPPED"]
    assert going.id in created[0].error
    assert await SyncRun.filter(sync_id=sync.id, status="QUEUED").count() == 1


async def test_a_disabled_sync_is_not_run(env: RunEnvironment, scope: Scope) -> None:
    sync = await due_sync(env, scope)
    await EltSync.filter(id=sync.id).update(enabled=False)

    assert await schedule.run_due_syncs(settings=env.settings, bus=env.bus) == []


async def test_a_run_whose_worker_died_is_failed_and_retried(env: RunEnvironment, scope: Scope) -> None:
    sync = await make_sync(env, scope, settings={"contacts": 5}, streams=CONTACTS)
    run = await schedule.create_run(sync=sync, trigger="MANUAL")
    run = await move_run(run=run, to="RUNNING", bus=None)
    await SyncRun.filter(id=run.id).update(heartbeat_at=datetime.now(UTC) - timedelta(minutes=10))

    recovered = await schedule.recover_stale_runs(settings=env.settings, bus=env.bus)

    assert [r.id for r in recovered] == [run.id]
    lost = await SyncRun.get(id=run.id)
    assert lost.status == "FAILED" and "worker lost" in lost.error
    retry = await SyncRun.get(sync_id=sync.id, attempt=2)
    assert (retry.trigger, retry.status) == ("RETRY", "QUEUED")
    assert await execute_run(env=env, run_id=retry.id) == "SUCCEEDED"


async def test_the_scheduler_loop_queues_due_syncs_until_stopped(env: RunEnvironment, scope: Scope) -> None:
    import asyncio

    from server.scheduler.main import scheduler_loop

    sync = await due_sync(env, scope)
    stop = asyncio.Event()
    loop = asyncio.create_task(
        scheduler_loop(settings=env.settings, bus=env.bus, key_ring=env.key_ring, interval=0.05, stop=stop)
    )
    for _ in range(200):
        if await SyncRun.filter(sync_id=sync.id).exists():
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(loop, 5)

    assert await SyncRun.filter(sync_id=sync.id, trigger="SCHEDULE").count() == 1


ZONES = ("UTC", "Europe/Paris", "America/New_York")


async def test_two_schedulers_claim_many_schedules_once_each(env: RunEnvironment, scope: Scope) -> None:
    """More due syncs than a claim batch, over many crons and zones: two schedulers racing
    create exactly one run per sync, and each sync's next run is its own cron's, in its zone."""
    template = await make_sync(env, scope, settings={"contacts": 5}, streams=CONTACTS)
    now = datetime.now(UTC)
    clones = [
        EltSync(
            id=f"sync_{n:026d}",
            organization_id=template.organization_id,
            workspace_id=template.workspace_id,
            connection_id=template.connection_id,
            destination_schema=f"race_{n}",
            settings={},
            sync_interval=f"{n % 60} {(n // 60) % 24} * * *",
            timezone=ZONES[n % len(ZONES)],
            enabled=True,
            next_run_at=now - timedelta(minutes=1),
        )
        for n in range(schedule.CLAIM_BATCH + 150)
    ]
    await EltSync.bulk_create(clones, batch_size=200)

    first, second = await asyncio.gather(
        schedule.run_due_syncs(settings=env.settings, bus=None, now=now),
        schedule.run_due_syncs(settings=env.settings, bus=None, now=now),
    )

    runs = [run.sync_id for run in first + second]
    assert sorted(runs) == sorted(sync.id for sync in clones)
    assert await SyncRun.filter(sync_id__in=[sync.id for sync in clones]).count() == len(clones)
    stored = dict(await EltSync.filter(id__in=[sync.id for sync in clones]).values_list("id", "next_run_at"))
    for sync in clones:
        assert stored[sync.id] == schedule.next_run_after(sync.sync_interval, sync.timezone, now), sync.id


async def test_a_sync_claimed_meanwhile_is_not_moved_again(env: RunEnvironment, scope: Scope) -> None:
    sync = await due_sync(env, scope)
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)
    # Another scheduler moved it first: the guard leaves it alone and reports it unmoved.
    await EltSync.filter(id=sync.id).update(next_run_at=later)
    postgres = env.settings.effective_database_url.startswith("postgres")
    moved = await schedule._move_next_runs(
        postgres=postgres, now=now, moves=[(sync.id, now + timedelta(days=1))]
    )
    assert moved == set()
    assert (await EltSync.get(id=sync.id)).next_run_at == later
    await EltSync.filter(id=sync.id).update(next_run_at=now - timedelta(seconds=1))
    moved = await schedule._move_next_runs(postgres=postgres, now=now, moves=[(sync.id, later)])
    assert moved == {sync.id}
    assert (await EltSync.get(id=sync.id)).next_run_at == later
