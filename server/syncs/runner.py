"""The engine: execute one sync run, stream by stream, batch by batch.

For each selected stream the connector's ``read`` yields record batches and state checkpoints.
Each batch is written to the destination in one transaction before the next is read (so memory
holds one batch, never a stream); a checkpoint's state is saved only after every batch before
it committed. Loads are upserts on the primary key, so a batch replayed after a crash never
duplicates a row. A full refresh loads a new table and swaps it in at the end, and its state is
saved only after the swap.

Between batches the run checks whether it was cancelled; a heartbeat task marks it alive so a run
whose worker died can be told apart from a slow one (``schedule.recover_stale_runs``). A failed
run is retried as a new run (trigger ``RETRY``, attempt + 1) after an exponential backoff, up to
``settings.sync_max_retries`` times; every attempt stays in the run history.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from server import ids, outbound
from server.config import Settings
from server.connectors.base import CopyBatch, StateCheckpoint, StreamSpec
from server.crypto import KeyRing
from server.destinations.base import CopyRejected, Destination, build_destination
from server.destinations.columns import as_text, kinds_of_record_schema
from server.errors import Conflict
from server.events import EventBus
from server.integrations import refresh
from server.orgs.models import Workspace
from server.orgs.warehouse import WarehouseRefused, warehouse_for
from server.syncs import queue
from server.syncs.hashing import hash_salt
from server.syncs.models import EltSync, SourceStream, SyncRun
from server.syncs.namespaces import physical_schema
from server.syncs.settings import connector_settings
from server.syncs.sources import (
    connector_for,
    load_credentials,
    safe_message,
    stream_specs,
)
from server.syncs.transitions import move_run, publish_run, utcnow

log = logging.getLogger("weir.runner")

PROGRESS_INTERVAL_SECONDS = 2.0
CANCEL_CHECK_INTERVAL_SECONDS = 0.5
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 1800.0
ERROR_MAX_LENGTH = 2000
PREFETCH_DEPTH = 1


@dataclass
class RunEnvironment:
    """What a run needs from the process executing it."""

    settings: Settings
    key_ring: KeyRing
    bus: EventBus | None


class Cancelled(Exception):
    """The run was asked to stop; raised between batches."""


class RunFailed(Exception):
    """The run cannot go on; the message is safe to show (credentials cut out)."""


def retry_delay_seconds(attempt: int) -> float:
    """Backoff before attempt ``attempt + 1``: 30 s, 60 s, 120 s, ... at most 30 minutes."""
    return min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_MAX_SECONDS)


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_MAX_LENGTH]


def hash_value(salt: bytes, value: Any) -> str:
    return hashlib.sha256(salt + as_text(value).encode()).hexdigest()


class _Progress:
    """Per-stream counts, saved and published at most every two seconds."""

    def __init__(self, run: SyncRun, bus: EventBus | None) -> None:
        self.run = run
        self.bus = bus
        self.stats: dict[str, dict[str, Any]] = {}
        self._saved_at = 0.0
        self._checked_at = 0.0

    def stream(self, name: str) -> dict[str, Any]:
        return self.stats.setdefault(name, {"status": "PENDING", "rowsLoaded": 0, "batches": 0,
                                            "error": None, "widenedColumns": [],
                                            "blockedColumns": []})

    async def save(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._saved_at < PROGRESS_INTERVAL_SECONDS:
            return
        self._saved_at = now
        await SyncRun.filter(id=self.run.id).update(stream_stats=self.stats,
                                                    heartbeat_at=utcnow())
        if self.bus is not None:
            self.run.stream_stats = self.stats
            await publish_run(bus=self.bus, run=self.run, kind="progress")

    async def check_cancelled(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < CANCEL_CHECK_INTERVAL_SECONDS:
            return
        self._checked_at = now
        flags = await SyncRun.filter(id=self.run.id).values_list("cancel_requested", flat=True)
        if flags and flags[0]:
            raise Cancelled()


async def _heartbeat(run_id: str, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await SyncRun.filter(id=run_id, status="RUNNING").update(heartbeat_at=utcnow())


async def execute_run(*, env: RunEnvironment, run_id: str) -> str | None:
    """Execute a QUEUED run to its end; return its final status (None if it was not QUEUED).

    Safe to call twice with the same id: only the call that moves it to RUNNING executes it.
    """
    run = await SyncRun.get_or_none(id=run_id)
    if run is None or run.status != "QUEUED":
        return None
    sync = await EltSync.get_or_none(id=run.sync_id).prefetch_related("connection")
    if sync is None:
        return None
    try:
        run = await move_run(run=run, to="RUNNING", bus=env.bus)
    except Conflict:
        return None  # another worker took it, or it was cancelled while queued
    progress = _Progress(run, env.bus)
    heartbeat = asyncio.create_task(
        _heartbeat(run.id, env.settings.run_heartbeat_seconds))
    status, error = "SUCCEEDED", None
    try:
        failed = await _copy_streams(env=env, sync=sync, run=run, progress=progress)
        if failed:
            status, error = "FAILED", f"{len(failed)} stream(s) failed: {', '.join(failed)}"
    except Cancelled:
        status, error = "CANCELLED", None
    except RunFailed as exc:
        log.warning("sync run %s failed: %s", run.id, exc)
        status, error = "FAILED", str(exc)
    except asyncio.CancelledError:
        # The worker's time limit (or shutdown) interrupted the run: record it, then stop.
        await _finish(env=env, run=run, progress=progress, status="FAILED",
                      error="interrupted: the run exceeded its time limit or the worker stopped")
        raise
    except Exception as exc:
        log.warning("sync run %s failed: %s", run.id, describe(exc))
        status, error = "FAILED", describe(exc)
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await heartbeat
    return await _finish(env=env, run=run, progress=progress, status=status, error=error)


async def _finish(*, env: RunEnvironment, run: SyncRun, progress: _Progress, status: str,
                  error: str | None) -> str:
    for stats in progress.stats.values():
        if stats["status"] in ("PENDING", "RUNNING"):
            stats["status"] = "CANCELLED" if status == "CANCELLED" else stats["status"]
    await move_run(run=run, to=status, bus=env.bus, error=error, stream_stats=progress.stats)
    if status == "FAILED" and run.attempt <= env.settings.sync_max_retries:
        await schedule_retry(run=run, bus=env.bus)
    return status


async def schedule_retry(*, run: SyncRun, bus: EventBus | None, delay: bool = True) -> SyncRun:
    """A new QUEUED run for the next attempt, sent after an exponential backoff."""
    retry = await SyncRun.create(
        id=ids.new_id("sync_run"), organization_id=run.organization_id, sync_id=run.sync_id,
        trigger="RETRY", status="QUEUED", full_refresh=run.full_refresh,
        attempt=run.attempt + 1,
    )
    if bus is not None:
        await publish_run(bus=bus, run=retry, kind="status")
    queue.enqueue_run(retry.id,
                      delay_seconds=retry_delay_seconds(run.attempt) if delay else None)
    return retry


async def _copy_streams(*, env: RunEnvironment, sync: EltSync, run: SyncRun,
                        progress: _Progress) -> list[str]:
    """Copy every selected stream; return the names of the streams that failed."""
    connection = sync.connection
    connector = connector_for(connection)
    # For messages only, until the context below holds the (possibly refreshed) credentials.
    credentials = load_credentials(key_ring=env.key_ring, connection=connection)
    streams = await SourceStream.filter(sync_id=sync.id).order_by("created_at", "id")
    for stream in streams:
        progress.stream(stream.name)
    await progress.save(force=True)
    # Only a sync that hashes a column needs its salt (a missing salt then fails the run).
    salt = (hash_salt(key_ring=env.key_ring, sync=sync)
            if any(s.hashed_columns for s in streams) else b"")
    workspace = await Workspace.get_or_none(id=sync.workspace_id) if sync.workspace_id else None
    try:
        warehouse = warehouse_for(workspace=workspace, key_ring=env.key_ring,
                                  settings=env.settings)
    except WarehouseRefused as exc:
        raise RunFailed(str(exc)) from exc
    # A workspace's own warehouse is a tenant's choice and passes the outbound guard; the
    # deployment's (shared) warehouse is the operator's.
    destination = build_destination(
        warehouse.url,
        outbound=None if warehouse.shared else outbound.Policy.from_settings(env.settings))
    schema = physical_schema(sync, shared=warehouse.shared)
    failed: list[str] = []
    async with outbound.http_client(outbound.Policy.from_settings(env.settings),
                                    timeout=60.0) as http:
        try:
            # Fresh credentials (an OAuth token near expiry is refreshed first), and a
            # callback the connector's HTTP client uses to refresh once on a provider 401.
            context = await refresh.connector_context(
                settings=env.settings, key_ring=env.key_ring, connection=connection, http=http,
                bus=env.bus)
            credentials = context.credentials
            specs = await stream_specs(connector, context, credentials,
                                       connector_settings(sync.settings))
            await destination.open()
        except Exception as exc:
            raise RunFailed(safe_message(exc, credentials)) from exc
        try:
            for stream in streams:
                ok = await _copy_stream(
                    connector=connector, context=context, destination=destination, sync=sync,
                    schema=schema, stream=stream, spec=specs.get(stream.name), full_refresh=run.full_refresh,
                    salt=salt, progress=progress, credentials=credentials,
                )
                if not ok:
                    failed.append(stream.name)
        finally:
            await destination.close()
    await progress.save(force=True)
    return failed


async def _copy_stream(*, connector: Any, context: Any, destination: Destination, sync: EltSync,
                       schema: str, stream: SourceStream, spec: StreamSpec | None, full_refresh: bool,
                       salt: bytes, progress: _Progress, credentials: dict[str, Any]) -> bool:
    stats = progress.stream(stream.name)
    if spec is None:
        stats.update(status="FAILED", error=f"the source no longer offers {stream.name!r}")
        return False
    stats.update(status="RUNNING", rowsLoaded=0, batches=0, error=None)
    load = _StreamLoad(connector=connector, context=context, destination=destination, sync=sync,
                       schema=schema, stream=stream, spec=spec, full=full_refresh or
                       stream.sync_mode == "FULL_REFRESH", salt=salt, progress=progress)
    try:
        try:
            await load.run(as_copy_text=True)
        except CopyRejected as exc:
            # A value did not fit its column as text; records can widen the column. An
            # incremental load goes on from the last saved state, a full refresh restarts.
            log.info("stream %s of sync %s: %s; loading it as records", stream.name, sync.id, exc)
            await load.run(as_copy_text=False)
    except Cancelled:
        stats["status"] = "CANCELLED"
        raise
    except Exception as exc:
        message = safe_message(exc, credentials)
        log.warning("stream %s of sync %s failed: %s", stream.name, sync.id, message)
        stats.update(status="FAILED", error=message)
        await progress.save(force=True)
        return False
    stats["status"] = "SUCCEEDED"
    await progress.save(force=True)
    return True


@dataclass
class _StreamLoad:
    """One stream's copy from the source's ``read`` into a destination table."""

    connector: Any
    context: Any
    destination: Destination
    sync: EltSync
    schema: str  # the physical one (server.syncs.namespaces), never shown to the client
    stream: SourceStream
    spec: StreamSpec
    full: bool
    salt: bytes
    progress: _Progress

    async def run(self, *, as_copy_text: bool) -> None:
        """Load every batch the source yields; the loader is aborted if anything fails."""
        stream, sync = self.stream, self.sync
        stats = self.progress.stream(stream.name)
        excluded = set(stream.excluded_columns or [])
        hashed = set(stream.hashed_columns or [])
        declared = {name: ("text" if name in hashed else kind)
                    for name, kind in kinds_of_record_schema(self.spec.record_schema).items()
                    if name not in excluded}
        loader = await self.destination.loader(
            schema=self.schema, table=stream.name, primary_key=self.spec.primary_key,
            declared=declared, policy=sync.schema_change_policy, full_refresh=self.full,
        )
        state = None
        if not self.full:  # the state saved so far (a load that fell back to records goes on)
            state = (await SourceStream.get(id=stream.id)).state
        extra = {}
        columns = self._copy_text_columns(loader) if as_copy_text and not hashed else None
        if columns is not None:
            extra["copy_columns"] = columns
        pending_state: dict[str, Any] | None = None
        reader = self.connector.read(self.context, stream.name, connector_settings(sync.settings),
                                     state, **extra)
        try:
            async with contextlib.aclosing(prefetch(reader)) as items:
                async for item in items:
                    if isinstance(item, StateCheckpoint):
                        if self.full:
                            pending_state = item.state  # saved once the new table is swapped in
                        else:
                            await SourceStream.filter(id=stream.id).update(state=item.state)
                        continue
                    if stats["batches"]:
                        # Between batches: the previous one and its checkpoint are saved.
                        await self.progress.check_cancelled()
                    if isinstance(item, CopyBatch):
                        stats["rowsLoaded"] += await loader.write_copy(item)
                    else:
                        records = _shape(item.records, excluded, hashed, self.salt)
                        stats["rowsLoaded"] += await loader.write(records)
                    stats["batches"] += 1
                    stats["widenedColumns"] = sorted(loader.widened)
                    stats["blockedColumns"] = sorted(loader.blocked)
                    await self.progress.save()
            await loader.finish()
        except BaseException:
            with contextlib.suppress(Exception):
                await loader.abort()
            raise
        if self.full and pending_state is not None:
            await SourceStream.filter(id=stream.id).update(state=pending_state)

    def _copy_text_columns(self, loader: Any) -> tuple[str, ...] | None:
        """The columns to ask the source for as COPY text, or None for records.

        Both ends must speak it, the stream needs a key to page by, and the key and cursor must
        be among the columns loaded (the source reads its position from the last line).
        """
        if not getattr(self.connector.SPEC, "copy_text", False) or not self.spec.primary_key:
            return None
        columns = loader.copy_text_columns()
        needed = {*self.spec.primary_key, *filter(None, [self.spec.cursor_field])}
        return columns if columns is not None and needed <= set(columns) else None


class _End:
    """The reader is exhausted."""


@dataclass
class _Failed:
    error: BaseException


async def prefetch(reader: AsyncIterator[Any], depth: int = PREFETCH_DEPTH) -> AsyncIterator[Any]:
    """Read the next batch while the current one is being written, in order.

    The source and the destination are different connections, so their waits overlap. At most
    ``depth`` items wait in the queue, so memory stays a few batches whatever the stream's size.
    """
    waiting: asyncio.Queue[Any] = asyncio.Queue(maxsize=depth)

    async def produce() -> None:
        try:
            async with contextlib.aclosing(reader) as items:
                async for item in items:
                    await waiting.put(item)
            await waiting.put(_End())
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            await waiting.put(_Failed(exc))

    producer = asyncio.create_task(produce(), name="weir-prefetch")
    try:
        while True:
            item = await waiting.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await producer


def _shape(records: list[dict[str, Any]], excluded: set[str], hashed: set[str],
           salt: bytes) -> list[dict[str, Any]]:
    """Drop excluded columns and hash hashed ones, in place (the batch is ours now)."""
    if not excluded and not hashed:
        return records
    for record in records:
        for name in excluded:
            record.pop(name, None)
        for name in hashed:
            value = record.get(name)
            if value is not None:
                record[name] = hash_value(salt, value)
    return records
