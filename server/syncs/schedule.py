"""When syncs run: cron in the sync's timezone, claiming due syncs, recovering lost runs.

``next_run_after`` evaluates the cron expression in the sync's own timezone (croniter on an
aware datetime, so a daily 09:00 stays 09:00 across a DST change) and stores UTC.

``run_due_syncs`` is one scheduler tick. A due sync is claimed by moving its ``next_run_at``
forward with a conditional UPDATE (``WHERE next_run_at <= now``): of two schedulers, only one
moves it. One statement moves a whole batch (``unnest`` on Postgres, a ``VALUES`` list on
SQLite), and each distinct (cron, timezone) is evaluated once per tick, so syncs spread over
thousands of schedules cost what syncs on one schedule do. On Postgres the candidates are also
locked ``FOR UPDATE SKIP LOCKED`` so concurrent schedulers split the due syncs instead of
queueing behind each other's locks. The next run time
is computed from *now*, so a sync missed during downtime runs once, not once per missed slot.
A sync whose previous run is still going gets a ``SKIPPED`` run in its history instead.
A sync whose stored schedule cannot be evaluated (a cron that never matches a date, an unknown
timezone: rows older than today's input checks, or edited by hand) is disabled in the same
transaction with a ``FAILED`` run giving the reason, so one tenant's bad row never stops the
scheduling of the others.

``recover_stale_runs`` finds RUNNING runs whose heartbeat stopped for
``settings.run_stale_seconds`` (their worker died, e.g. SIGKILL or a lost machine), fails them
and queues the next attempt.

``reconcile_queue`` resends QUEUED runs that have no message in Redis any more (Redis restarted
without persistence, or a process died between the commit and the send). Runs are rows first and
messages second, and a run only executes after its conditional QUEUED -> RUNNING move, so a
message sent twice is harmless: the second one finds the run no longer QUEUED and does nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from dataclasses import field as default
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter
from tortoise.transactions import in_transaction

from server import ids
from server.config import Settings
from server.db import is_postgres, is_unavailable
from server.errors import Conflict, FieldError
from server.events import EventBus
from server.syncs import queue, reconcile
from server.syncs.models import EltSync, SyncRun
from server.syncs.runner import schedule_retry
from server.syncs.transitions import (
    ACTIVE,
    move_run,
    publish_run,
    publish_sync,
    run_events,
    utcnow,
    workspace_of,
)
from server.syncs.webhook_events import record_elt_sync_updated, record_sync_run, record_sync_run_stuck

log = logging.getLogger("weir.scheduler")

CLAIM_BATCH = 500
INTERVAL_MAX_LENGTH = 120  # EltSync.sync_interval's column
_GAPS_CHECKED = 50


def timezone_error(field: str, timezone: str) -> FieldError | None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: the name becomes a file path, and a long one is "file name too long".
        shown = timezone if len(timezone) <= 64 else timezone[:64] + "..."
        return FieldError(field, f"{shown!r} is not an IANA timezone such as Europe/Paris")
    return None


def cron_error(field: str, expression: str, timezone: str, min_interval_seconds: int) -> FieldError | None:
    """Why ``expression`` is not an acceptable sync interval, or None."""
    if len(expression) > INTERVAL_MAX_LENGTH:
        return FieldError(field, f"must be at most {INTERVAL_MAX_LENGTH} characters")
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        return FieldError(
            field, f"{expression!r} is not a cron expression (five fields: minute hour day month weekday)"
        )
    zone = ZoneInfo(timezone) if timezone_error("", timezone) is None else ZoneInfo("UTC")
    try:
        times = croniter(expression, datetime.now(zone))
        previous = times.get_next(datetime)
        for _ in range(_GAPS_CHECKED):
            current = times.get_next(datetime)
            if (current - previous).total_seconds() < min_interval_seconds:
                return FieldError(
                    field, f"runs more often than the minimum interval of {min_interval_seconds} seconds"
                )
            previous = current
    except CroniterBadDateError:
        # Valid field by field, but no date matches (31 February, 31 April).
        return FieldError(field, f"{expression!r} never matches a date (such as 31 February)")
    except (ValueError, OverflowError) as exc:
        return FieldError(field, f"{expression!r} cannot be evaluated: {exc}")
    return None


def schedule_error(expression: str, timezone: str, moment: datetime | None = None) -> FieldError | None:
    """Why a *stored* schedule gives no next run time (field ``syncInterval`` or ``timezone``),
    or None. Rows may predate today's input checks, or be edited by hand."""
    following = _next_or_problem(expression, timezone, moment or utcnow())
    return following if isinstance(following, FieldError) else None


def _next_or_problem(expression: str, timezone: str, moment: datetime) -> datetime | FieldError:
    zone_problem = timezone_error("timezone", timezone)
    if zone_problem is not None:
        return zone_problem
    try:
        return next_run_after(expression, timezone, moment)
    except CroniterBadDateError:
        return FieldError("syncInterval", f"{expression!r} never matches a date")
    except Exception as exc:  # noqa: BLE001 -- whatever fails here is this row's data, not ours
        return FieldError("syncInterval", f"{expression!r} cannot be evaluated ({type(exc).__name__})")


def next_run_after(expression: str, timezone: str, moment: datetime) -> datetime:
    """The first cron time strictly after ``moment``, in UTC."""
    local = moment.astimezone(ZoneInfo(timezone))
    return croniter(expression, local).get_next(datetime).astimezone(ZoneInfo("UTC"))


async def create_run(
    *,
    sync: EltSync,
    trigger: str,
    full_refresh: bool = False,
    status: str = "QUEUED",
    error: str | None = None,
) -> SyncRun:
    return await SyncRun.create(
        id=ids.new_id("sync_run"),
        organization_id=sync.organization_id,
        sync_id=sync.id,
        trigger=trigger,
        status=status,
        full_refresh=full_refresh,
        error=error,
        finished_at=utcnow() if status == "SKIPPED" else None,
    )


async def _disable_unschedulable(sync: EltSync, problem: FieldError, now: datetime) -> SyncRun | None:
    """Inside the claim's transaction: disable a sync whose stored schedule gives no next time
    and record a FAILED run saying why (and its ``sync_run.failed`` and ``elt_sync.updated``
    webhook events). Disabled, it stops being due, so it fails once, not on every tick; its
    owner fixes the interval with ``updateEltSync`` and enables it again."""
    disabled = await EltSync.filter(id=sync.id, enabled=True).update(
        enabled=False, next_run_at=None, updated_at=now
    )
    if not disabled:
        return None
    sync.enabled, sync.next_run_at, sync.updated_at = False, None, now
    reason = (
        f"the schedule cannot be evaluated: {problem.field} {problem.message}; "
        "the sync was disabled (set a valid schedule with updateEltSync, then enable it)"
    )
    run = await SyncRun.create(
        id=ids.new_id("sync_run"),
        organization_id=sync.organization_id,
        sync_id=sync.id,
        trigger="SCHEDULE",
        status="FAILED",
        error=reason,
        finished_at=now,
    )
    await record_sync_run(run, workspace_id=sync.workspace_id)
    await record_elt_sync_updated(sync)
    log.warning("sync %s of organization %s: %s", sync.id, sync.organization_id, reason)
    return run


@dataclass
class _Claimed:
    runs: list[SyncRun] = default(default_factory=list)
    disabled: list[EltSync] = default(default_factory=list)
    candidates: int = 0


# One tick's next run times, by (cron, timezone): 10,000 syncs share at most a few thousand.
Schedules = dict[tuple[str, str], "datetime | FieldError"]
# Rows moved per statement on SQLite (two parameters each, under its 999-parameter limit).
_SQLITE_CHUNK = 400


async def _claim_batch(*, postgres: bool, now: datetime, schedules: Schedules) -> _Claimed:
    """Claim up to ``CLAIM_BATCH`` due syncs in one transaction. A sync whose schedule cannot
    be evaluated is disabled with a FAILED run instead, so it never stops the others."""
    claimed = _Claimed()
    async with in_transaction():
        query = EltSync.filter(enabled=True, next_run_at__lte=now).order_by("next_run_at").limit(CLAIM_BATCH)
        # Locked on Postgres by this transaction, so every row is ours. SQLite has one writer
        # (the embedded default): the guarded UPDATE of ``_move_next_runs`` suffices.
        due = await (query.select_for_update(skip_locked=True) if postgres else query)
        claimed.candidates = len(due)
        runnable: dict[str, tuple[EltSync, datetime]] = {}
        for sync in due:
            key = (sync.sync_interval, sync.timezone)
            if key not in schedules:
                schedules[key] = _next_or_problem(*key, now)
            following = schedules[key]
            if isinstance(following, FieldError):
                failed = await _disable_unschedulable(sync, following, now)
                if failed is not None:
                    claimed.runs.append(failed)
                    claimed.disabled.append(sync)
            else:
                runnable[sync.id] = (sync, following)
        if not runnable:
            return claimed
        # One statement moves every sync's next run time, instead of one per distinct schedule
        # (thousands when tenants spread their crons over the day), then one INSERT for the runs.
        moved = await _move_next_runs(
            postgres=postgres,
            now=now,
            moves=[(sync_id, following) for sync_id, (_, following) in runnable.items()],
        )
        mine = [runnable[sync_id][0] for sync_id in runnable if sync_id in moved]
        if not mine:
            return claimed
        going = {
            sync_id: (run_id, status)
            for sync_id, run_id, status in await SyncRun.filter(
                sync_id__in=[sync.id for sync in mine], status__in=ACTIVE
            ).values_list("sync_id", "id", "status")
        }
        created = [_new_run(sync, going.get(sync.id)) for sync in mine]
        await SyncRun.bulk_create(created)
        claimed.runs.extend(created)
    return claimed


async def _move_next_runs(*, postgres: bool, now: datetime, moves: list[tuple[str, datetime]]) -> set[str]:
    """Set each sync's ``next_run_at`` where it is still enabled and due at ``now``; return the
    ids moved. The guard makes a sync another scheduler claimed first come back unmoved."""
    db = EltSync._meta.db
    if postgres:
        # execute_query_dict: Tortoise's execute_query reads no rows back from an UPDATE.
        rows = await db.execute_query_dict(
            "UPDATE elt_syncs AS s SET next_run_at = v.next_run_at "
            "FROM unnest($1::text[], $2::timestamptz[]) AS v(id, next_run_at) "
            "WHERE s.id = v.id AND s.enabled AND s.next_run_at <= $3 RETURNING s.id",
            [[sync_id for sync_id, _ in moves], [following for _, following in moves], now],
        )
        return {row["id"] for row in rows}
    # SQLite stores times as Tortoise writes them: compare and set in the same form.
    field = EltSync._meta.fields_map["next_run_at"]
    moved: set[str] = set()
    for start in range(0, len(moves), _SQLITE_CHUNK):
        chunk = moves[start : start + _SQLITE_CHUNK]
        values = [
            value
            for sync_id, following in chunk
            for value in (sync_id, field.to_db_value(following, EltSync))
        ]
        rows = await db.execute_query_dict(
            f"WITH v(id, next_run_at) AS (VALUES {','.join('(?,?)' for _ in chunk)}) "
            "UPDATE elt_syncs SET next_run_at = (SELECT v.next_run_at FROM v WHERE v.id = elt_syncs.id) "
            "WHERE id IN (SELECT id FROM v) AND enabled AND next_run_at <= ? RETURNING id",
            [*values, field.to_db_value(now, EltSync)],
        )
        moved.update(row["id"] for row in rows)
    return moved


def _new_run(sync: EltSync, going: tuple[str, str] | None) -> SyncRun:
    now = utcnow()
    skipped = going is not None
    return SyncRun(
        id=ids.new_id("sync_run"),
        organization_id=sync.organization_id,
        sync_id=sync.id,
        trigger="SCHEDULE",
        status="SKIPPED" if skipped else "QUEUED",
        full_refresh=False,
        attempt=1,
        stream_stats={},
        cancel_requested=False,
        queued_at=now,
        finished_at=now if skipped else None,
        error=f"skipped: run {going[0]} was still {going[1]}" if going else None,
    )


async def _announce(bus: EventBus | None, runs: list[SyncRun], workspaces: dict[str, str | None]) -> None:
    """Publish the new runs (concurrently) and send the queued ones to the workers. The runs
    are committed: a failed publish or send is logged and the rest goes on (a run whose message
    was not sent stays QUEUED and the queue reconciler sends it again)."""
    if bus is not None:
        try:
            await bus.publish_many(
                [
                    pair
                    for run in runs
                    for pair in run_events(run=run, kind="status", workspace_id=workspaces.get(run.sync_id))
                ]
            )
        except Exception as exc:
            log.warning("%d new run(s) not announced (%s)", len(runs), exc.__class__.__name__)
    for run in runs:
        if run.status == "QUEUED":
            queue.send_run(run.id)
        else:
            log.info("sync %s: %s", run.sync_id, run.error)


async def run_due_syncs(
    *, settings: Settings, bus: EventBus | None, now: datetime | None = None
) -> list[SyncRun]:
    """Claim every due enabled sync, create its run and send it to the workers; a sync whose
    schedule cannot be evaluated gets a FAILED run and is disabled (both are returned)."""
    now = now or utcnow()
    postgres = is_postgres(settings.effective_database_url)
    created: list[SyncRun] = []
    schedules: Schedules = {}
    while True:
        batch = await _claim_batch(postgres=postgres, now=now, schedules=schedules)
        if batch.runs:
            # After each commit: publish, then hand the queued runs to the workers.
            workspaces = dict(
                await EltSync.filter(id__in=[run.sync_id for run in batch.runs]).values_list(
                    "id", "workspace_id"
                )
            )
            await _announce(bus, batch.runs, workspaces)
        if bus is not None:
            for sync in batch.disabled:
                try:
                    await publish_sync(bus=bus, sync=sync, kind="updated")
                except Exception as exc:
                    log.warning("sync %s: update not announced (%s)", sync.id, exc.__class__.__name__)
        created.extend(batch.runs)
        # Fewer candidates than a batch: nothing else is due (or another scheduler holds it).
        if batch.candidates < CLAIM_BATCH:
            return created


async def recover_stale_runs(
    *,
    settings: Settings,
    bus: EventBus | None,
    now: datetime | None = None,
    stale_after_seconds: float | None = None,
) -> list[SyncRun]:
    """Fail RUNNING runs whose heartbeat stopped (returned) and queue their next attempt.

    The move is conditional on the heartbeat being stale still, so a run whose worker wrote
    anything meanwhile (a save, a check, its own end with the real cause) is left alone: the
    scan never overwrites what the worker recorded. Each stream still going says where it
    stopped (its rows loaded are kept)."""
    if stale_after_seconds is None:
        stale_after_seconds = settings.run_stale_seconds
    cutoff = (now or utcnow()) - timedelta(seconds=stale_after_seconds)
    recovered: list[SyncRun] = []
    for run in await SyncRun.filter(status="RUNNING", heartbeat_at__lt=cutoff):
        error = f"worker lost: the run sent no heartbeat for {stale_after_seconds:g} s"
        stats = dict(run.stream_stats or {})
        for name, stream in stats.items():
            if isinstance(stream, dict) and stream.get("status") == "RUNNING":
                stats[name] = {
                    **stream,
                    "status": "FAILED",
                    "error": f"stopped after {stream.get('rowsLoaded', 0)} row(s): {error}",
                }
        try:
            failed = await move_run(
                run=run,
                to="FAILED",
                bus=bus,
                only_if={"heartbeat_at__lt": cutoff},
                error=error,
                stream_stats=stats,
            )
        except Conflict:
            continue  # it finished, or its worker spoke, meanwhile
        log.warning("sync run %s lost its worker; marked failed", run.id)
        recovered.append(failed)
        if failed.attempt <= settings.sync_max_retries:
            await schedule_retry(run=failed, bus=bus, delay=False)
    return recovered


def _last_progress(run: SyncRun) -> datetime | None:
    """When the run last loaded a batch (its streams' ``lastBatchAt``), else when it started."""
    moments = [run.started_at] if run.started_at is not None else []
    for stream in (run.stream_stats or {}).values():
        at = stream.get("lastBatchAt") if isinstance(stream, dict) else None
        if isinstance(at, str):
            with contextlib.suppress(ValueError):
                moments.append(datetime.fromisoformat(at))
    return max(moments, default=None)


async def mark_stuck_runs(
    *, settings: Settings, bus: EventBus | None, now: datetime | None = None
) -> list[str]:
    """Mark RUNNING runs that loaded no batch for ``settings.run_stuck_seconds`` (their
    heartbeat is alive, so the stale scan leaves them be): ``stuck_at``, a ``sync_run.stuck``
    webhook and a status event, once per run. The run's next batch clears the mark."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=settings.run_stuck_seconds)
    marked: list[str] = []
    for run in await SyncRun.filter(status="RUNNING", stuck_at=None, started_at__lt=cutoff):
        last = _last_progress(run)
        if last is None or last >= cutoff:
            continue
        workspace_id = await workspace_of(run.sync_id)
        async with in_transaction():
            if not await SyncRun.filter(id=run.id, status="RUNNING", stuck_at=None).update(stuck_at=now):
                continue  # it ended, moved or was marked meanwhile
            run.stuck_at = now
            await record_sync_run_stuck(run, workspace_id=workspace_id)
        log.warning("sync run %s loaded nothing since %s: marked stuck", run.id, last.isoformat())
        if bus is not None:
            await publish_run(bus=bus, run=run, kind="status", workspace_id=workspace_id)
        marked.append(run.id)
    return marked


async def requeue_queued_runs() -> int:
    """Send every QUEUED run again (the embedded stub broker forgets its queue on restart).

    Safe: a run executes only once, whichever message reaches a worker first.
    """
    queued = await SyncRun.filter(status="QUEUED").values_list("id", flat=True)
    for run_id in queued:
        queue.send_run(str(run_id))
    return len(queued)


async def reconcile_queue(*, settings: Settings, now: datetime | None = None) -> list[str]:
    """Resend QUEUED runs older than ``settings.queue_reconcile_seconds`` that have no message
    in the broker; return their ids. Does nothing on a broker that cannot be inspected (the
    embedded stub: ``weir serve`` resends everything queued when it starts instead)."""
    # One pass per half window across every scheduler: two passes at once would both see the
    # same runs without a message and send each twice.
    if not queue.claim_reconcile_pass(settings.queue_reconcile_seconds / 2):
        return []
    cutoff = (now or utcnow()) - timedelta(seconds=settings.queue_reconcile_seconds)
    # The database first, the broker second: a run that finished in between is only resent
    # needlessly (and then ignored), never missed.
    waiting = await SyncRun.filter(status="QUEUED", queued_at__lt=cutoff).values_list("id", flat=True)
    if not waiting:
        return []
    sent = queue.runs_with_messages()
    if sent is None:
        return []
    missing = [str(run_id) for run_id in waiting if run_id not in sent]
    for run_id in missing:
        queue.send_run(run_id)
    if missing:
        log.warning("resent %d queued run(s) that had no message in the broker", len(missing))
    return missing


async def tick(*, settings: Settings, bus: EventBus | None) -> None:
    """One pass of the scheduler. Each step runs even when the one before it failed (a lost
    Redis must not stop due syncs from being claimed, nor stale runs from being recovered)."""
    steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("recovering stale runs", lambda: recover_stale_runs(settings=settings, bus=bus)),
        ("marking stuck runs", lambda: mark_stuck_runs(settings=settings, bus=bus)),
        ("reconciling the queue", lambda: reconcile_queue(settings=settings)),
        ("starting due syncs", lambda: run_due_syncs(settings=settings, bus=bus)),
        ("starting due reconciliations", lambda: reconcile.start_due_reconciliations(bus=bus)),
    ]
    for what, step in steps:
        try:
            await step()
        except Exception as exc:
            if _outage(exc):  # expected while Redis or the database is away: no traceback
                log.warning("scheduler tick: %s failed (%s); the next tick tries again", what, exc)
            else:
                log.exception("scheduler tick: %s failed; the next tick tries again", what)


def _outage(exc: Exception) -> bool:
    """Redis or the database did not answer (as opposed to a bug)."""
    return type(exc).__module__.split(".")[0] == "redis" or is_unavailable(exc)
