"""One stream's copy into a destination table, batch by batch, and the run's progress counts.

``StreamLoad.run`` reads the connector's batches (the next one prefetched while the current one
is written), drops excluded columns and hashes hashed ones, writes each batch in one transaction
and saves a checkpoint's state once every batch before it committed. ``Progress`` keeps the
per-stream counts the run publishes, and between batches says whether the run was cancelled.
``server.syncs.runner`` drives it for every stream of a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from tortoise.transactions import in_transaction

from server import retrying
from server.connectors.base import CopyBatch, DeleteMarker, JsonText, StateCheckpoint, StreamSpec
from server.connectors.postgres import copy_text_value
from server.destinations.base import Destination
from server.destinations.columns import as_text, kinds_of_record_schema
from server.events import EventBus
from server.syncs.models import EltSync, SourceStream, SyncRun
from server.syncs.settings import connector_settings
from server.syncs.transitions import publish_run, utcnow, workspace_of

PROGRESS_INTERVAL_SECONDS = 2.0
CANCEL_CHECK_INTERVAL_SECONDS = 0.5
PREFETCH_DEPTH = 1

T = TypeVar("T")


class Cancelled(Exception):
    """The run was asked to stop; raised between batches."""


class RunLost(Exception):
    """This attempt no longer owns its run: the stale scan failed it (no heartbeat reached the
    database for ``run_stale_seconds``) and queued the next attempt. Raised at the next save or
    batch, before another batch or checkpoint is written."""


def hash_value(salt: bytes, value: Any) -> str:
    if isinstance(value, JsonText):
        # Hashed as the decoded value always was: the hash must not change with the JSON's spacing.
        value = json.loads(value)
    return hashlib.sha256(salt + as_text(value).encode()).hexdigest()


async def whole(operation: Callable[[], Awaitable[T]]) -> T:
    """Await one database write unit; if the caller is cancelled (a worker's shutdown, a time
    limit), the unit still runs to its end in its own task while the cancel reaches the caller
    at once. A cancel landing inside Tortoise's transaction ``__aenter__`` (between SQLite's
    ``BEGIN`` and the body) would skip ``__aexit__``: the connection would stay in that
    transaction with its lock held, and the run's next write, recording its end, would wait
    forever."""
    task = asyncio.ensure_future(operation())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_outcome_seen)
        raise


def _outcome_seen(task: asyncio.Future[Any]) -> None:
    """The abandoned unit's error, if any, is the next write's business, not a log line."""
    if not task.cancelled():
        task.exception()


class Progress:
    """Per-stream counts, saved and published at most every two seconds, and this attempt's
    hold on its run.

    Every write here is a conditional update on the run still being RUNNING, and refreshes its
    heartbeat: an update that matches no row means another attempt took over (``RunLost``). A
    transient database error is retried for ``outage_seconds`` (``server.retrying``).
    """

    def __init__(self, run: SyncRun, bus: EventBus | None, *, outage_seconds: float = 60.0) -> None:
        self.run = run
        self.bus = bus
        self.outage_seconds = outage_seconds
        self.stats: dict[str, dict[str, Any]] = {}
        self._saved_at = 0.0
        self._checked_at = 0.0
        self._workspace_id: str | None = None
        self._workspace_known = False

    def stream(self, name: str) -> dict[str, Any]:
        return self.stats.setdefault(
            name,
            {
                "status": "PENDING",
                "rowsLoaded": 0,
                "rowsInserted": 0,
                "rowsUpdated": 0,
                "rowsDeleted": 0,
                "batches": 0,
                "error": None,
                "widenedColumns": [],
                "blockedColumns": [],
            },
        )

    async def retry(self, operation: Callable[[], Awaitable[T]], what: str) -> T:
        """``operation`` retried across a database outage of up to ``outage_seconds``; each try
        runs to its end even when the run is interrupted meanwhile (``whole``)."""
        return await retrying.retry(
            lambda: whole(operation),
            deadline_seconds=self.outage_seconds,
            what=f"sync run {self.run.id}: {what}",
        )

    async def _hold(self, what: str, **values: Any) -> None:
        """Write ``values`` (and a fresh heartbeat) if the run is still RUNNING; else RunLost."""

        async def update() -> int:
            return await SyncRun.filter(id=self.run.id, status="RUNNING").update(
                heartbeat_at=utcnow(), **values
            )

        if not await self.retry(update, what):
            raise RunLost(f"sync run {self.run.id} is no longer RUNNING: another attempt took over")

    async def beat(self) -> None:
        """One heartbeat, tried once (the heartbeat task is the retry)."""
        moved = await SyncRun.filter(id=self.run.id, status="RUNNING").update(heartbeat_at=utcnow())
        if not moved:
            raise RunLost(f"sync run {self.run.id} is no longer RUNNING: another attempt took over")

    async def save(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._saved_at < PROGRESS_INTERVAL_SECONDS:
            return
        self._saved_at = now
        # A save follows a batch: the run moves, so it is no longer stuck.
        await self._hold("saving progress", stream_stats=self.stats, stuck_at=None)
        if self.bus is not None:
            if not self._workspace_known:
                self._workspace_id = await self.retry(
                    lambda: workspace_of(self.run.sync_id), "reading the workspace"
                )
                self._workspace_known = True
            self.run.stream_stats = self.stats
            await publish_run(bus=self.bus, run=self.run, kind="progress", workspace_id=self._workspace_id)

    async def save_state(self, stream_id: str, state: dict[str, Any] | None) -> None:
        """Save a stream's checkpoint, in one transaction with the check that the run is ours."""

        async def save() -> int:
            async with in_transaction():
                held = await SyncRun.filter(id=self.run.id, status="RUNNING").update(heartbeat_at=utcnow())
                if held:
                    await SourceStream.filter(id=stream_id).update(state=state)
                return held

        if not await self.retry(save, "saving a checkpoint"):
            raise RunLost(f"sync run {self.run.id} is no longer RUNNING: another attempt took over")

    async def check_cancelled(self, *, force: bool = False, cancel: bool = True) -> None:
        """Between batches: ``Cancelled`` if the run was asked to stop (and ``cancel``),
        ``RunLost`` if another attempt took it over. Also a heartbeat: for ``run_stale_seconds``
        after a check passed, the stale scan leaves the run alone, so the batch written next is
        this attempt's."""
        now = time.monotonic()
        if cancel:  # (a check that may not cancel, before a stream's first batch, always runs)
            if not force and now - self._checked_at < CANCEL_CHECK_INTERVAL_SECONDS:
                return
            self._checked_at = now

        async def check() -> tuple[str, bool] | None:
            held = await SyncRun.filter(id=self.run.id, status="RUNNING", cancel_requested=False).update(
                heartbeat_at=utcnow()
            )
            if held:
                return None
            found = await SyncRun.filter(id=self.run.id).values_list("status", "cancel_requested")
            return (str(found[0][0]), bool(found[0][1])) if found else ("", False)

        outcome = await self.retry(check, "checking for a cancel")
        if outcome is None:
            return
        status, cancel_requested = outcome
        if status != "RUNNING":
            raise RunLost(f"sync run {self.run.id} is {status or 'gone'}: another attempt took over")
        if cancel and cancel_requested:
            raise Cancelled()


@dataclass
class StreamLoad:
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
    progress: Progress

    async def run(self, *, as_copy_text: bool) -> None:
        """Load every batch the source yields; the loader is aborted if anything fails."""
        stream, sync = self.stream, self.sync
        stats = self.progress.stream(stream.name)
        # A load that fell back from COPY text to records goes on counting from where it was.
        base_inserted, base_updated = stats.get("rowsInserted", 0), stats.get("rowsUpdated", 0)
        excluded = set(stream.excluded_columns or [])
        hashed = set(stream.hashed_columns or [])
        declared = self._declared()
        detect = sync.delete_detection != "OFF" and bool(self.spec.primary_key)
        marker = self.spec.deleted if detect else None
        loader = await self.destination.loader(
            schema=self.schema,
            table=stream.name,
            primary_key=self.spec.primary_key,
            declared=declared,
            policy=sync.schema_change_policy,
            full_refresh=self.full,
            attempt=self.progress.run.id,
            track_deletes=detect,
        )
        counted = 0  # the loader's deletes already in the stats
        state = None
        if not self.full:  # the state saved so far (a load that fell back to records goes on)
            state = (await self.progress.retry(lambda: SourceStream.get(id=stream.id), "reading state")).state
        extra = {}
        columns = self._copy_text_columns(loader) if as_copy_text and not hashed else None
        if columns is not None:
            extra["copy_columns"] = columns
        pending_state: dict[str, Any] | None = None
        reader = self.connector.read(
            self.context, stream.name, connector_settings(sync.settings), state, **extra
        )
        try:
            async with contextlib.aclosing(prefetch(reader)) as items:
                async for item in items:
                    if isinstance(item, StateCheckpoint):
                        if self.full:
                            pending_state = item.state  # saved once the new table is swapped in
                        else:
                            await self.progress.save_state(stream.id, item.state)
                        continue
                    # Before every batch (a source may have kept us waiting), the run must still
                    # be this attempt's; between batches (the previous one and its checkpoint
                    # are saved) it may also stop on a cancel.
                    await self.progress.check_cancelled(cancel=bool(stats["batches"]))
                    if isinstance(item, CopyBatch):
                        stats["rowsLoaded"] += await loader.write_copy(item)
                    else:
                        records, gone = item.records, list[dict[str, Any]]()
                        if marker is not None:
                            records, gone = split_deleted(records, marker, self.spec.primary_key)
                        records = _shape(records, excluded, hashed, self.salt)
                        stats["rowsLoaded"] += await loader.write(records)
                        if gone:
                            await loader.mark_deleted(_shape(gone, set(), hashed, self.salt))
                    stats["rowsInserted"] = base_inserted + loader.rows_inserted
                    stats["rowsUpdated"] = base_updated + loader.rows_updated
                    stats["batches"] += 1
                    stats["rowsDeleted"] += loader.rows_deleted - counted
                    counted = loader.rows_deleted
                    stats["lastBatchAt"] = utcnow().isoformat()  # what the stuck scan reads
                    stats["widenedColumns"] = sorted(loader.widened)
                    stats["blockedColumns"] = sorted(loader.blocked)
                    await self.progress.save()
            if self.full:
                # A lost attempt never swaps its table in over the next attempt's.
                await self.progress.check_cancelled(force=True)
            await loader.finish()
            stats["rowsDeleted"] += loader.rows_deleted - counted
        except BaseException:
            with contextlib.suppress(Exception):
                await loader.abort()
            raise
        if self.full and pending_state is not None:
            await self.progress.save_state(stream.id, pending_state)

    def _declared(self) -> dict[str, str]:
        """The table's columns by the stream's schema: excluded ones left out, hashed ones text."""
        excluded = set(self.stream.excluded_columns or [])
        hashed = set(self.stream.hashed_columns or [])
        return {
            name: ("text" if name in hashed else kind)
            for name, kind in kinds_of_record_schema(self.spec.record_schema).items()
            if name not in excluded
        }

    async def reconcile(self) -> None:
        """Read the source's keys (every page, only the primary key kept) and mark the rows
        whose key it no longer has deleted (``TableLoader.begin_keys``). The stream's state is
        left alone; a failed read marks nothing."""
        stream, sync = self.stream, self.sync
        stats = self.progress.stream(stream.name)
        key = self.spec.primary_key
        hashed = set(stream.hashed_columns or []) & set(key)
        loader = await self.destination.loader(
            schema=self.schema,
            table=stream.name,
            primary_key=key,
            declared=self._declared(),  # the stream's table, as a load would create it
            policy=sync.schema_change_policy,
            full_refresh=False,
            attempt=self.progress.run.id,
            track_deletes=True,
        )
        await loader.begin_keys()
        extra = {}
        if getattr(self.connector.SPEC, "copy_text", False):
            # A source that pages by key (PostgreSQL) sends only the key and cursor columns.
            extra["copy_columns"] = tuple(dict.fromkeys([*key, *filter(None, [self.spec.cursor_field])]))
        reader = self.connector.read(
            self.context, stream.name, connector_settings(sync.settings), None, **extra
        )
        async with contextlib.aclosing(cast(AsyncGenerator[Any, None], prefetch(reader))) as items:
            async for item in items:
                if isinstance(item, StateCheckpoint):
                    continue
                await self.progress.check_cancelled(cancel=bool(stats["batches"]))
                if isinstance(item, CopyBatch):
                    keys = copy_text_keys(item, key)
                else:
                    keys = [{k: record.get(k) for k in key} for record in item.records]
                await loader.add_keys(_shape(keys, set(), hashed, self.salt))
                stats["batches"] += 1
                stats["keysRead"] = stats.get("keysRead", 0) + len(keys)
                stats["lastBatchAt"] = utcnow().isoformat()
                await self.progress.save()
        await self.progress.check_cancelled(force=True)
        stats["rowsDeleted"] += await loader.end_keys()

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


def copy_text_keys(batch: CopyBatch, primary_key: tuple[str, ...]) -> list[dict[str, Any]]:
    """The primary key of every line of a batch of COPY text (values as text)."""
    positions = [batch.columns.index(k) for k in primary_key]
    keys = []
    for line in bytes(batch.data).split(b"\n"):
        if not line:
            continue
        fields = line.split(b"\t")
        keys.append({k: copy_text_value(fields[i]) for k, i in zip(primary_key, positions, strict=True)})
    return keys


def split_deleted(
    records: list[dict[str, Any]], marker: DeleteMarker, primary_key: tuple[str, ...]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The records to load, and the keys of those the provider marks deleted. A key's last
    record in the batch decides (a record deleted, then recreated, is loaded)."""
    last: dict[tuple[Any, ...], bool] = {}
    for record in records:
        last[tuple(record.get(k) for k in primary_key)] = marker.marks(record)
    if not any(last.values()):
        return records, []
    live = [r for r in records if not last[tuple(r.get(k) for k in primary_key)]]
    gone = [dict(zip(primary_key, key, strict=True)) for key, deleted in last.items() if deleted]
    return live, gone


def _shape(
    records: list[dict[str, Any]], excluded: set[str], hashed: set[str], salt: bytes
) -> list[dict[str, Any]]:
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
