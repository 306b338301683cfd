"""A sync run's status changes here and nowhere else, and each change is published.

    QUEUED ──> RUNNING ──> SUCCEEDED
       │          ├──────> FAILED      (a retry is a new run: trigger RETRY, attempt + 1)
       └──────────┴──────> CANCELLED

A run is created ``QUEUED`` (or ``SKIPPED`` by the scheduler when the previous run is still
going, which records the skip in the run history). Moves are conditional updates on the current
status, so two workers cannot both start the same run. Events go out after the update
committed (moves never run inside a caller's transaction).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from server import counters
from server.errors import Conflict
from server.events import EventBus, channel
from server.syncs import metrics
from server.syncs.models import EltSync, SyncRun
from server.syncs.webhook_events import record_sync_run

log = logging.getLogger("weir.syncs")

ALLOWED_MOVES: dict[str, frozenset[str]] = {
    "QUEUED": frozenset({"RUNNING", "CANCELLED"}),
    "RUNNING": frozenset({"SUCCEEDED", "FAILED", "CANCELLED"}),
}
STATUSES = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED")
ACTIVE = ("QUEUED", "RUNNING")
FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED")


def utcnow() -> datetime:
    return datetime.now(UTC)


async def move_run(
    *, run: SyncRun, to: str, bus: EventBus | None, only_if: dict[str, Any] | None = None, **changes: Any
) -> SyncRun:
    """Move ``run`` to status ``to`` (with ``changes``); ``CONFLICT`` if the move is not allowed,
    or if the row no longer matches the filters ``only_if`` (e.g. a heartbeat still stale)."""
    if to not in ALLOWED_MOVES.get(run.status, frozenset()):
        raise Conflict(f"sync run {run.id} is {run.status} and cannot become {to}")
    values: dict[str, Any] = {"status": to, **changes}
    now = utcnow()
    if to == "RUNNING":
        values.setdefault("started_at", now)
        values.setdefault("heartbeat_at", now)
    if to in FINISHED:
        values.setdefault("finished_at", now)
    async with in_transaction():
        moved = await SyncRun.filter(id=run.id, status=run.status, **(only_if or {})).update(**values)
        if not moved:
            current = await SyncRun.get(id=run.id)
            if current.status == run.status:
                raise Conflict(f"sync run {run.id} changed meanwhile and did not become {to}")
            raise Conflict(f"sync run {run.id} is {current.status} and cannot become {to}")
        run = await SyncRun.get(id=run.id)
        # sync_run.started / .succeeded / .failed / .cancelled, committed with the move.
        await record_sync_run(run, workspace_id=await workspace_of(run.sync_id))
        if to in FINISHED:
            await counters.add(metrics.finished_run(run))
    if bus is not None:
        await publish_run(bus=bus, run=run, kind="status")
    return run


async def workspace_of(sync_id: str) -> str | None:
    """The workspace of sync ``sync_id`` (None: organization-wide, or no such sync)."""
    found = await EltSync.filter(id=sync_id).values_list("workspace_id", flat=True)
    return found[0] if found else None


def run_channels(organization_id: str, sync_id: str, workspace_id: str | None) -> list[str]:
    names = [channel(organization_id, "sync", sync_id, "runs"), channel(organization_id, "runs")]
    if workspace_id:
        names.append(channel(organization_id, "workspace", workspace_id, "runs"))
    return names


def sync_channels(organization_id: str, workspace_id: str | None) -> list[str]:
    names = [channel(organization_id, "syncs")]
    if workspace_id:
        names.append(channel(organization_id, "workspace", workspace_id, "syncs"))
    return names


_LOOK_UP = "look up"


async def publish_run(*, bus: EventBus, run: SyncRun, kind: str, workspace_id: str | None = _LOOK_UP) -> None:
    """Tell subscribers a run changed (``kind`` is ``status`` or ``progress``); a caller that
    knows the sync's workspace passes it and saves the lookup.

    Never raises: the change is committed and the database is the truth. An event that cannot
    go out (Redis away) is only late news, since every subscription starts from the database
    and reads it again when the bus comes back.
    """
    try:
        if workspace_id == _LOOK_UP:
            workspace_id = await workspace_of(run.sync_id)
        for name, event in run_events(run=run, kind=kind, workspace_id=workspace_id):
            await bus.publish(name, event)
    except Exception as exc:
        log.warning("run %s: %s event not published (%s)", run.id, kind, exc.__class__.__name__)


# The run's fields an event carries, so that a subscriber shows the state the event announces:
# re-reading the row when the event arrives showed whatever the run was by then, and a run
# that started a moment after being queued was never seen QUEUED.
_STATE_FIELDS = (
    "id",
    "organization_id",
    "sync_id",
    "trigger",
    "status",
    "full_refresh",
    "attempt",
    "stream_stats",
    "error",
    "cancel_requested",
)
_STATE_TIMES = ("queued_at", "started_at", "finished_at", "heartbeat_at", "stuck_at")


def run_state(run: SyncRun) -> dict[str, Any]:
    """``run`` as JSON-safe values (it crosses processes through Redis)."""
    state = {name: getattr(run, name) for name in _STATE_FIELDS}
    for name in _STATE_TIMES:
        moment = getattr(run, name)
        state[name] = moment.isoformat() if moment is not None else None
    return state


def run_from_state(state: dict[str, Any]) -> SyncRun:
    """The run as ``run_state`` saw it: an unsaved model, for reading only."""
    values = {name: state.get(name) for name in _STATE_FIELDS}
    for name in _STATE_TIMES:
        moment = state.get(name)
        values[name] = datetime.fromisoformat(moment) if moment else None
    return SyncRun(**values)


def run_events(*, run: SyncRun, kind: str, workspace_id: str | None) -> list[tuple[str, dict[str, Any]]]:
    """The (channel, event) pairs that announce a change of ``run``, with its state then."""
    event = {
        "type": f"syncRun.{kind}",
        "runId": run.id,
        "syncId": run.sync_id,
        "status": run.status,
        "run": run_state(run),
    }
    return [(name, event) for name in run_channels(run.organization_id, run.sync_id, workspace_id)]


async def publish_sync(*, bus: EventBus, sync: EltSync, kind: str) -> None:
    """Tell subscribers a sync changed (``created``, ``updated``, ``deleted``)."""
    event = {"type": f"eltSync.{kind}", "syncId": sync.id}
    for name in sync_channels(sync.organization_id, sync.workspace_id):
        await bus.publish(name, event)
