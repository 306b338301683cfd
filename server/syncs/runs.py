"""Sync runs: trigger, cancel, history, and live updates of runs and syncs."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import RawSQL, Subquery
from tortoise.transactions import in_transaction

from server.config import Settings
from server.db import is_postgres
from server.errors import Conflict, FieldError, NotFound, ValidationFailed
from server.events import EventBus, SharedLookups, is_resync
from server.orgs.service import get_workspace
from server.pagination import DEFAULT_PAGE_SIZE, Page, decode_cursor
from server.scope import Scope
from server.syncs import queue
from server.syncs.models import EltSync, SyncRun
from server.syncs.schedule import create_run
from server.syncs.service import get_sync
from server.syncs.transitions import (
    ACTIVE,
    STATUSES,
    move_run,
    publish_run,
    run_channels,
    run_from_state,
    sync_channels,
)
from server.validation import assume_utc, refuse_over_long_lookups

log = logging.getLogger("weir.syncs")


async def get_run(*, scope: Scope, run_id: str) -> SyncRun:
    """One run, or ``NOT_FOUND``."""
    filters = {"organization_id": scope.organization_id}
    if scope.workspace_id is not None:
        filters["sync__workspace_id"] = scope.workspace_id
    run = await SyncRun.get_or_none(id=run_id, **filters)
    if run is None:
        raise NotFound("sync run", run_id)
    return run


# The id of a sync's newest run by queue time (ties go to the later id), looked up per sync of
# the outer ``elt_syncs`` query through the ``sync_id`` index: the work grows with the page's
# syncs and their own runs, never with the whole table.
_NEWEST_RUN_ID = RawSQL(
    "(SELECT newest.id FROM sync_runs AS newest WHERE newest.sync_id = elt_syncs.id"
    " ORDER BY newest.queued_at DESC, newest.id DESC LIMIT 1)"
)


async def latest_runs_of_syncs(*, scope: Scope, sync_ids: list[str]) -> dict[str, SyncRun]:
    """The newest run (by queue time, any status) of each of many syncs, in one query (for
    DataLoaders); a sync without runs, or not in ``scope``, is absent."""
    newest = (
        EltSync.filter(id__in=sync_ids, **scope.filters())
        .annotate(newest_run_id=_NEWEST_RUN_ID)
        .values("newest_run_id")
    )
    rows = await SyncRun.filter(id__in=Subquery(newest), organization_id=scope.organization_id)
    return {row.sync_id: row for row in rows}


async def active_runs_of_syncs(*, scope: Scope, sync_ids: list[str]) -> dict[str, SyncRun]:
    """The queued or running run of each of many syncs, in one query (for DataLoaders); a sync
    has at most one, but should it have more, the newest counts."""
    in_scope = EltSync.filter(id__in=sync_ids, **scope.filters()).values("id")
    rows = await SyncRun.filter(
        sync_id__in=Subquery(in_scope), status__in=ACTIVE, organization_id=scope.organization_id
    ).order_by("queued_at", "id")
    return {row.sync_id: row for row in rows}  # the newest of a sync's rows comes last and stays


@dataclass(frozen=True)
class RunFilter:
    """Which runs of the organization to list; every field given narrows the list. ``since``
    is inclusive and ``until`` exclusive, on the time a run was queued."""

    statuses: tuple[str, ...] = ()
    workspace_id: str | None = None
    connection_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_runs(
    *,
    scope: Scope,
    sync_id: str | None,
    first: int | None,
    after: str | None,
    max_page_size: int,
    filter: RunFilter | None = None,
) -> Page[SyncRun]:
    """Runs of one sync, or of every sync the caller may see, newest first (every attempt is
    its own run), narrowed by ``filter``."""
    given = filter or RunFilter()
    refuse_over_long_lookups(
        {"filter.workspaceId": (given.workspace_id, 32), "filter.connectionId": (given.connection_id, 32)}
    )
    problems = []
    if any(status not in STATUSES for status in given.statuses):
        problems.append(FieldError("filter.status", f"must be one of {', '.join(STATUSES)}"))
    since, until = assume_utc(given.since), assume_utc(given.until)
    if since is not None and until is not None and since > until:
        problems.append(FieldError("filter.since", "must not be after filter.until"))
    if problems:
        raise ValidationFailed(problems)
    size = DEFAULT_PAGE_SIZE if first is None else first
    if size < 0:
        raise ValidationFailed.field("first", "must not be negative")
    if size > max_page_size:
        raise ValidationFailed.field("first", f"must be at most {max_page_size}")
    queryset = SyncRun.filter(organization_id=scope.organization_id)
    if sync_id is not None:
        queryset = queryset.filter(sync_id=(await get_sync(scope=scope, sync_id=sync_id)).id)
    # The syncs the runs may belong to: the caller's (a restricted key's workspace only).
    syncs = EltSync.filter(**scope.filters())
    if given.workspace_id is not None:
        scope.check_workspace(given.workspace_id)  # another workspace is NOT_FOUND, as elsewhere
        syncs = syncs.filter(workspace_id=given.workspace_id)
    if given.connection_id is not None:
        syncs = syncs.filter(connection_id=given.connection_id)
    if scope.workspace_id is not None or given.workspace_id is not None or given.connection_id is not None:
        queryset = queryset.filter(sync_id__in=Subquery(syncs.values("id")))
    if given.statuses:
        queryset = queryset.filter(status__in=list(given.statuses))
    if since is not None:
        queryset = queryset.filter(queued_at__gte=since)
    if until is not None:
        queryset = queryset.filter(queued_at__lt=until)
    if after is not None:
        # Ids grow with time, so "after" in this newest-first list means a smaller id.
        queryset = queryset.filter(id__lt=decode_cursor(after))
    rows = await queryset.order_by("-id").limit(size + 1)
    return Page(items=list(rows[:size]), has_next_page=len(rows) > size, has_previous_page=after is not None)


async def trigger_run(
    *, scope: Scope, settings: Settings, bus: EventBus | None, sync_id: str, full_refresh: bool
) -> SyncRun:
    """Queue a run now; ``CONFLICT`` while another run of the sync is queued or running."""
    sync = await get_sync(scope=scope, sync_id=sync_id)
    async with in_transaction():
        if is_postgres(settings.effective_database_url):
            # Serialise triggers (and the scheduler) of one sync on its row.
            await EltSync.filter(id=sync.id).select_for_update().first()
        going = await SyncRun.filter(sync_id=sync.id, status__in=ACTIVE).first()
        if going is not None:
            raise Conflict(f"run {going.id} of this sync is {going.status}")
        run = await create_run(sync=sync, trigger="MANUAL", full_refresh=full_refresh)
    # Committed: from here on nothing turns the new run into an error. A status event that
    # cannot be published is only late news (subscribers start from the database), and a
    # message Redis did not take is sent again by the queue reconciler.
    if bus is not None:
        await publish_run(bus=bus, run=run, kind="status")
    queue.send_run(run.id)
    return run


async def cancel_run(*, scope: Scope, bus: EventBus | None, run_id: str) -> SyncRun:
    """Cancel a queued run now, or ask a running one to stop after its current batch."""
    run = await get_run(scope=scope, run_id=run_id)
    if run.status == "QUEUED":
        try:
            return await move_run(run=run, to="CANCELLED", bus=bus)
        except Conflict:
            run = await SyncRun.get(id=run.id)  # a worker started it meanwhile
    if run.status != "RUNNING":
        raise Conflict(f"sync run {run.id} is {run.status}; only a queued or running run can be cancelled")
    await SyncRun.filter(id=run.id).update(cancel_requested=True)
    run = await SyncRun.get(id=run.id)
    if bus is not None:
        await publish_run(bus=bus, run=run, kind="status")
    return run


async def run_updates(
    *, scope: Scope, bus: EventBus, sync_id: str | None, workspace_id: str | None
) -> AsyncIterator[SyncRun]:
    """The latest run now, then every run as it changes (of one sync, workspace, or all)."""
    if sync_id is not None:
        sync = await get_sync(scope=scope, sync_id=sync_id)
        name = run_channels(scope.organization_id, sync.id, None)[0]
        latest = SyncRun.filter(sync_id=sync.id)
    elif workspace_id is not None:
        await get_workspace(scope=scope, workspace_id=workspace_id)  # NOT_FOUND if not ours
        name = run_channels(scope.organization_id, "", workspace_id)[-1]
        latest = SyncRun.filter(organization_id=scope.organization_id, sync__workspace_id=workspace_id)
    else:
        scope.require_unrestricted("follow runs of every workspace")
        name = run_channels(scope.organization_id, "", None)[1]
        latest = SyncRun.filter(organization_id=scope.organization_id)
    sent = _SentRuns()
    async with bus.subscribe(name) as events:
        current = await latest.order_by("-id").first()
        if current is not None:
            sent.note(current)
            yield current
        async for event in events:
            if is_resync(event):
                # Events were lost in a Redis gap: send every run that changed meanwhile.
                for reread in await _runs_to_resync(latest, sent):
                    if sent.changed(reread):
                        sent.note(reread)
                        yield reread
                continue
            run = await _run_of(event)
            if run is not None and run.organization_id == scope.organization_id:
                sent.note(run)
                yield run


class _SentRuns:
    """What a subscription last sent of each run (the most recent few hundred runs)."""

    SIZE = 500

    def __init__(self) -> None:
        self.seen: OrderedDict[str, tuple[Any, ...]] = OrderedDict()

    def note(self, run: SyncRun) -> None:
        self.seen[run.id] = _fingerprint(run)
        self.seen.move_to_end(run.id)
        while len(self.seen) > self.SIZE:
            self.seen.popitem(last=False)

    def changed(self, run: SyncRun) -> bool:
        return self.seen.get(run.id) != _fingerprint(run)

    def active(self) -> list[str]:
        return [run_id for run_id, state in self.seen.items() if state[0] in ACTIVE]


def _fingerprint(run: SyncRun) -> tuple[Any, ...]:
    return (run.status, run.attempt, run.error, run.cancel_requested, run.finished_at, repr(run.stream_stats))


RESYNC_LIMIT = 200  # runs re-read after a Redis gap, at most


async def _runs_to_resync(latest: Any, sent: _SentRuns) -> list[SyncRun]:
    """After a gap: the runs this subscription last saw going, the runs going now, and the latest
    run (a run can start and finish inside the gap), oldest first."""
    found: dict[str, SyncRun] = {}
    watched = sent.active()[-RESYNC_LIMIT:]
    if watched:
        found.update((run.id, run) for run in await latest.filter(id__in=watched))
    going = await latest.filter(status__in=ACTIVE).order_by("-id").limit(RESYNC_LIMIT)
    found.update((run.id, run) for run in going)
    newest = await latest.order_by("-id").first()
    if newest is not None:
        found[newest.id] = newest
    return [found[run_id] for run_id in sorted(found)]


async def _run_of(event: dict[str, Any]) -> SyncRun | None:
    """The run as the event announces it; an event without its state (from a process of an
    older version) is looked up."""
    state = event.get("run")
    if isinstance(state, dict):
        # Every local subscriber gets the same event dict: one model for all of them.
        return await _lookups.get(event, lambda: _ready(run_from_state(state)))
    return await _lookups.get(event, lambda e=event: SyncRun.get_or_none(id=e.get("runId")))


async def _ready(run: SyncRun) -> SyncRun:
    return run


# Subscribers of this process share one read per event (see ``SharedLookups``).
_lookups = SharedLookups()


@dataclass(frozen=True)
class SyncEvent:
    kind: str  # CURRENT, CREATED, UPDATED, DELETED
    sync_id: str
    sync: EltSync | None


async def sync_updates(*, scope: Scope, bus: EventBus, workspace_id: str | None) -> AsyncIterator[SyncEvent]:
    """Every sync now (``CURRENT``), then each one as it is created, changed or deleted."""
    if workspace_id is not None:
        await get_workspace(scope=scope, workspace_id=workspace_id)  # NOT_FOUND if not ours
        name = sync_channels(scope.organization_id, workspace_id)[-1]
        current = EltSync.filter(organization_id=scope.organization_id, workspace_id=workspace_id)
    else:
        scope.require_unrestricted("follow syncs of every workspace")
        name = sync_channels(scope.organization_id, None)[0]
        current = EltSync.filter(organization_id=scope.organization_id)
    sent: dict[str, Any] = {}  # sync id -> its updated_at as last sent
    async with bus.subscribe(name) as events:
        for sync in await current.order_by("id"):
            sent[sync.id] = sync.updated_at
            yield SyncEvent(kind="CURRENT", sync_id=sync.id, sync=sync)
        async for event in events:
            if is_resync(event):
                # Events were lost in a Redis gap: send each sync that changed (as CURRENT)
                # and each one deleted meanwhile.
                now = {sync.id: sync for sync in await current.order_by("id")}
                for sync_id in [sync_id for sync_id in sent if sync_id not in now]:
                    del sent[sync_id]
                    yield SyncEvent(kind="DELETED", sync_id=sync_id, sync=None)
                for sync in now.values():
                    if sent.get(sync.id) != sync.updated_at:
                        sent[sync.id] = sync.updated_at
                        yield SyncEvent(kind="CURRENT", sync_id=sync.id, sync=sync)
                continue
            kind = event.get("type", "").rsplit(".", 1)[-1].upper()
            sync = await _lookups.get(event, lambda e=event: EltSync.get_or_none(id=e.get("syncId")))
            if sync is not None and sync.organization_id != scope.organization_id:
                continue
            if sync is None or kind == "DELETED":
                sent.pop(event.get("syncId", ""), None)
            else:
                sent[sync.id] = sync.updated_at
            yield SyncEvent(kind=kind, sync_id=event.get("syncId", ""), sync=sync)
