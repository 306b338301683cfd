"""When syncs run: cron in the sync's timezone, claiming due syncs, recovering lost runs.

``next_run_after`` evaluates the cron expression in the sync's own timezone (croniter on an
aware datetime, so a daily 09:00 stays 09:00 across a DST change) and stores UTC.

``run_due_syncs`` is one scheduler tick. A due sync is claimed by moving its ``next_run_at``
forward with a conditional UPDATE (``WHERE next_run_at <= now``): of two schedulers, only one
moves it. On Postgres the candidates are also locked ``FOR UPDATE SKIP LOCKED`` so concurrent
schedulers split the due syncs instead of queueing behind each other's locks. The next run time
is computed from *now*, so a sync missed during downtime runs once, not once per missed slot.
A sync whose previous run is still going gets a ``SKIPPED`` run in its history instead.

``recover_stale_runs`` finds RUNNING runs whose heartbeat stopped for
``settings.run_stale_seconds`` (their worker died, e.g. SIGKILL or a lost machine), fails them
and queues the next attempt.

``reconcile_queue`` resends QUEUED runs that have no message in Redis any more (Redis restarted
without persistence, or a process died between the commit and the send). Runs are rows first and
messages second, and a run only executes after its conditional QUEUED -> RUNNING move, so a
message sent twice is harmless: the second one finds the run no longer QUEUED and does nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from tortoise.transactions import in_transaction

from server import ids
from server.config import Settings
from server.db import is_postgres
from server.errors import Conflict, FieldError
from server.events import EventBus
from server.syncs import queue
from server.syncs.models import EltSync, SyncRun
from server.syncs.runner import schedule_retry
from server.syncs.transitions import ACTIVE, move_run, run_events, utcnow

log = logging.getLogger("weir.scheduler")

CLAIM_BATCH = 500
_GAPS_CHECKED = 50


def timezone_error(field: str, timezone: str) -> FieldError | None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return FieldError(field, f"{timezone!r} is not an IANA timezone such as Europe/Paris")
    return None


def cron_error(field: str, expression: str, timezone: str,
               min_interval_seconds: int) -> FieldError | None:
    """Why ``expression`` is not an acceptable sync interval, or None."""
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        return FieldError(field, f"{expression!r} is not a cron expression "
                                 "(five fields: minute hour day month weekday)")
    zone = ZoneInfo(timezone) if timezone_error("", timezone) is None else ZoneInfo("UTC")
    times = croniter(expression, datetime.now(zone))
    previous = times.get_next(datetime)
    for _ in range(_GAPS_CHECKED):
        current = times.get_next(datetime)
        if (current - previous).total_seconds() < min_interval_seconds:
            return FieldError(field, f"runs more often than the minimum interval of "
                                     f"{min_interval_seconds} seconds")
        previous = current
    return None


def next_run_after(expression: str, timezone: str, moment: datetime) -> datetime:
    """The first cron time strictly after ``moment``, in UTC."""
    local = moment.astimezone(ZoneInfo(timezone))
    return croniter(expression, local).get_next(datetime).astimezone(ZoneInfo("UTC"))


async def create_run(*, sync: EltSync, trigger: str, full_refresh: bool = False,
                     status: str = "QUEUED", error: str | None = None) -> SyncRun:
    return await SyncRun.create(
        id=ids.new_id("sync_run"), organization_id=sync.organization_id, sync_id=sync.id,
        trigger=trigger, status=status, full_refresh=full_refresh, error=error,
        finished_at=utcnow() if status == "SKIPPED" else None,
    )


async def _claim(sync: EltSync, now: datetime) -> bool:
    following = next_run_after(sync.sync_interval, sync.timezone, now)
    claimed = await EltSync.filter(id=sync.id, enabled=True, next_run_at__lte=now).update(
        next_run_at=following
    )
    return bool(claimed)


async def _start_claimed(sync: EltSync) -> SyncRun:
    going = await SyncRun.filter(sync_id=sync.id, status__in=ACTIVE).order_by("-id").first()
    if going is not None:
        return await create_run(sync=sync, trigger="SCHEDULE", status="SKIPPED",
                                error=f"skipped: run {going.id} was still {going.status}")
    return await create_run(sync=sync, trigger="SCHEDULE")


async def _claim_batch(*, postgres: bool, now: datetime) -> tuple[list[SyncRun], int]:
    """Claim up to ``CLAIM_BATCH`` due syncs in one transaction; return their runs and how many
    candidates there were."""
    async with in_transaction():
        query = EltSync.filter(enabled=True, next_run_at__lte=now).order_by(
            "next_run_at").limit(CLAIM_BATCH)
        if not postgres:  # one process (the embedded default): the conditional UPDATE suffices
            due = await query
            created = [await _start_claimed(sync) for sync in due if await _claim(sync, now)]
            return created, len(due)
        # Locked by this transaction, so every row is ours: one UPDATE per distinct schedule
        # and one INSERT for all the runs, instead of three statements per sync.
        due = await query.select_for_update(skip_locked=True)
        if not due:
            return [], 0
        schedules: dict[tuple[str, str], list[str]] = defaultdict(list)
        for sync in due:
            schedules[(sync.sync_interval, sync.timezone)].append(sync.id)
        for (expression, timezone), sync_ids in schedules.items():
            await EltSync.filter(id__in=sync_ids).update(
                next_run_at=next_run_after(expression, timezone, now))
        going = {sync_id: (run_id, status) for sync_id, run_id, status in await SyncRun.filter(
            sync_id__in=[sync.id for sync in due], status__in=ACTIVE).values_list(
            "sync_id", "id", "status")}
        created = [_new_run(sync, going.get(sync.id)) for sync in due]
        await SyncRun.bulk_create(created)
    return created, len(due)


def _new_run(sync: EltSync, going: tuple[str, str] | None) -> SyncRun:
    now = utcnow()
    skipped = going is not None
    return SyncRun(
        id=ids.new_id("sync_run"), organization_id=sync.organization_id, sync_id=sync.id,
        trigger="SCHEDULE", status="SKIPPED" if skipped else "QUEUED", full_refresh=False,
        attempt=1, stream_stats={}, cancel_requested=False, queued_at=now,
        finished_at=now if skipped else None,
        error=f"skipped: run {going[0]} was still {going[1]}" if going else None,
    )


async def _announce(bus: EventBus | None, runs: list[SyncRun],
                    workspaces: dict[str, str | None]) -> None:
    """Publish the new runs (concurrently) and send the queued ones to the workers."""
    if bus is not None:
        await bus.publish_many([pair for run in runs for pair in run_events(
            run=run, kind="status", workspace_id=workspaces.get(run.sync_id))])
    for run in runs:
        if run.status == "QUEUED":
            queue.enqueue_run(run.id)
        else:
            log.info("sync %s: %s", run.sync_id, run.error)


async def run_due_syncs(*, settings: Settings, bus: EventBus | None,
                        now: datetime | None = None) -> list[SyncRun]:
    """Claim every due enabled sync, create its run and send it to the workers."""
    now = now or utcnow()
    postgres = is_postgres(settings.effective_database_url)
    created: list[SyncRun] = []
    while True:
        batch, candidates = await _claim_batch(postgres=postgres, now=now)
        if batch:
            # After each commit: publish, then hand the queued runs to the workers.
            workspaces = dict(await EltSync.filter(
                id__in=[run.sync_id for run in batch]).values_list("id", "workspace_id"))
            await _announce(bus, batch, workspaces)
        created.extend(batch)
        # Fewer candidates than a batch: nothing else is due (or another scheduler holds it).
        if candidates < CLAIM_BATCH:
            return created


async def recover_stale_runs(*, settings: Settings, bus: EventBus | None,
                             now: datetime | None = None,
                             stale_after_seconds: float | None = None) -> list[SyncRun]:
    """Fail RUNNING runs whose heartbeat stopped (returned) and queue their next attempt."""
    if stale_after_seconds is None:
        stale_after_seconds = settings.run_stale_seconds
    cutoff = (now or utcnow()) - timedelta(seconds=stale_after_seconds)
    recovered: list[SyncRun] = []
    for run in await SyncRun.filter(status="RUNNING", heartbeat_at__lt=cutoff):
        try:
            failed = await move_run(run=run, to="FAILED", bus=bus,
                                    error="worker lost: the run stopped sending heartbeats")
        except Conflict:
            continue  # it finished meanwhile
        log.warning("sync run %s lost its worker; marked failed", run.id)
        recovered.append(failed)
        if failed.attempt <= settings.sync_max_retries:
            await schedule_retry(run=failed, bus=bus, delay=False)
    return recovered


async def requeue_queued_runs() -> int:
    """Send every QUEUED run again (the embedded stub broker forgets its queue on restart).

    Safe: a run executes only once, whichever message reaches a worker first.
    """
    queued = await SyncRun.filter(status="QUEUED").values_list("id", flat=True)
    for run_id in queued:
        queue.enqueue_run(run_id)
    return len(queued)


async def reconcile_queue(*, settings: Settings, now: datetime | None = None) -> list[str]:
    """Resend QUEUED runs older than ``settings.queue_reconcile_seconds`` that have no message
    in the broker; return their ids. Does nothing on a broker that cannot be inspected (the
    embedded stub: ``weir serve`` resends everything queued when it starts instead)."""
    cutoff = (now or utcnow()) - timedelta(seconds=settings.queue_reconcile_seconds)
    # The database first, the broker second: a run that finished in between is only resent
    # needlessly (and then ignored), never missed.
    waiting = await SyncRun.filter(status="QUEUED", queued_at__lt=cutoff).values_list(
        "id", flat=True)
    if not waiting:
        return []
    sent = queue.runs_with_messages()
    if sent is None:
        return []
    missing = [run_id for run_id in waiting if run_id not in sent]
    for run_id in missing:
        queue.enqueue_run(run_id)
    if missing:
        log.warning("resent %d queued run(s) that had no message in the broker", len(missing))
    return missing


async def tick(*, settings: Settings, bus: EventBus | None) -> None:
    """One pass of the scheduler."""
    await recover_stale_runs(settings=settings, bus=bus)
    await reconcile_queue(settings=settings)
    await run_due_syncs(settings=settings, bus=bus)
