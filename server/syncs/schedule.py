"""When syncs run: cron in the sync's timezone, claiming due syncs, recovering lost runs.

``next_run_after`` evaluates the cron expression in the sync's own timezone (croniter on an
aware datetime, so a daily 09:00 stays 09:00 across a DST change) and stores UTC.

``run_due_syncs`` is one scheduler tick. A due sync is claimed by moving its ``next_run_at``
forward with a conditional UPDATE (``WHERE next_run_at <= now``): of two schedulers, only one
moves it. On Postgres the candidates are also locked ``FOR UPDATE SKIP LOCKED`` so concurrent
schedulers split the due syncs instead of queueing behind each other's locks. The next run time
is computed from *now*, so a sync missed during downtime runs once, not once per missed slot.
A sync whose previous run is still going gets a ``SKIPPED`` run in its history instead.

``recover_stale_runs`` finds RUNNING runs whose heartbeat stopped (their worker died, e.g.
SIGKILL or a lost machine), fails them and queues the next attempt.
"""

from __future__ import annotations

import logging
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
from server.syncs.transitions import ACTIVE, move_run, publish_run, utcnow

log = logging.getLogger("weir.scheduler")

STALE_AFTER_SECONDS = 120.0  # twelve missed heartbeats
CLAIM_BATCH = 50
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


async def run_due_syncs(*, settings: Settings, bus: EventBus | None,
                        now: datetime | None = None) -> list[SyncRun]:
    """Claim every due enabled sync, create its run and send it to the workers."""
    now = now or utcnow()
    created: list[SyncRun] = []
    if is_postgres(settings.effective_database_url):
        async with in_transaction():
            due = await (EltSync.filter(enabled=True, next_run_at__lte=now)
                         .order_by("next_run_at").limit(CLAIM_BATCH)
                         .select_for_update(skip_locked=True))
            for sync in due:
                if await _claim(sync, now):
                    created.append(await _start_claimed(sync))
    else:
        due = await EltSync.filter(enabled=True, next_run_at__lte=now).order_by(
            "next_run_at").limit(CLAIM_BATCH)
        for sync in due:
            if await _claim(sync, now):
                created.append(await _start_claimed(sync))
    # After the commit: publish, then hand the queued runs to the workers.
    for run in created:
        if bus is not None:
            await publish_run(bus=bus, run=run, kind="status")
        if run.status == "QUEUED":
            queue.enqueue_run(run.id)
        else:
            log.info("sync %s: %s", run.sync_id, run.error)
    return created


async def recover_stale_runs(*, settings: Settings, bus: EventBus | None,
                             now: datetime | None = None,
                             stale_after_seconds: float = STALE_AFTER_SECONDS) -> list[SyncRun]:
    """Fail RUNNING runs whose heartbeat stopped (returned) and queue their next attempt."""
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


async def tick(*, settings: Settings, bus: EventBus | None) -> None:
    """One pass of the scheduler."""
    await recover_stale_runs(settings=settings, bus=bus)
    await run_due_syncs(settings=settings, bus=bus)
