"""When a sync's primary-key reconciliation runs.

A sync with ``delete_detection`` RECONCILE gets, besides its loads, a run with trigger
``RECONCILE`` on its own cron (``reconcile_interval``, in the sync's timezone): the run reads
only the keys of its incremental streams without delete markers and marks deleted the rows whose
key the source no longer has (``StreamLoad.reconcile``). A due sync is claimed like a due load,
by moving ``next_reconcile_at`` forward with a conditional UPDATE, so of two schedulers only one
starts it; the next time is computed from now (a pass missed during downtime runs once). A sync
with a run queued or running is left for the next tick (the pass waits, it is not skipped).
"""

from __future__ import annotations

import logging
from datetime import datetime

from server.events import EventBus
from server.syncs import queue, schedule  # (schedule's tick calls this module: attributes at call time)
from server.syncs.models import EltSync, SyncRun
from server.syncs.transitions import ACTIVE, publish_run, utcnow

log = logging.getLogger("weir.scheduler")

DEFAULT_RECONCILE_INTERVAL = "0 3 * * *"  # daily, when a sync asks for RECONCILE without a cron
CLAIM_LIMIT = 500


def next_reconcile_after(sync: EltSync, moment: datetime) -> datetime:
    return schedule.next_run_after(
        sync.reconcile_interval or DEFAULT_RECONCILE_INTERVAL, sync.timezone, moment
    )


async def start_due_reconciliations(*, bus: EventBus | None, now: datetime | None = None) -> list[SyncRun]:
    """Start a RECONCILE run for every enabled sync whose reconciliation is due."""
    now = now or utcnow()
    due = await EltSync.filter(enabled=True, delete_detection="RECONCILE", next_reconcile_at__lte=now).limit(
        CLAIM_LIMIT
    )
    started: list[SyncRun] = []
    for sync in due:
        if await SyncRun.filter(sync_id=sync.id, status__in=ACTIVE).exists():
            continue  # after the run going now
        try:
            following = next_reconcile_after(sync, now)
        except Exception as exc:  # a row edited by hand: leave it off the schedule
            log.warning("sync %s: reconcile interval cannot be evaluated (%s)", sync.id, exc)
            await EltSync.filter(id=sync.id).update(next_reconcile_at=None)
            continue
        claimed = await EltSync.filter(id=sync.id, next_reconcile_at=sync.next_reconcile_at).update(
            next_reconcile_at=following
        )
        if not claimed:
            continue  # another scheduler took it
        run = await schedule.create_run(sync=sync, trigger="RECONCILE")
        started.append(run)
        if bus is not None:
            try:
                await publish_run(bus=bus, run=run, kind="status")
            except Exception as exc:
                log.warning("sync %s: reconcile run not announced (%s)", sync.id, exc.__class__.__name__)
        queue.send_run(run.id)
    return started
