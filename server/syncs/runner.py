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
``settings.sync_max_retries`` times; every attempt stays in the run history. How one stream is
loaded, batch by batch, is in ``server.syncs.stream_load``.

A restart of Weir's own database is ridden out: saves, checkpoints, cancel checks and the final
status write retry for ``settings.run_database_outage_seconds`` (``server.retrying``); past it
the run fails with that cause. A heartbeat that fails is logged and tried again at the next
beat. When the outage outlasted ``run_stale_seconds`` the stale scan may have failed the run and
queued the next attempt: this attempt then learns it at its next write (``RunLost``) and stops
before writing another batch or checkpoint.

At shutdown the worker cancels the runs still going with ``SHUTDOWN``: the run is recorded
FAILED and its next attempt is queued at once, and ``execute_run`` returns normally, so the
message is acknowledged instead of being retried by Dramatiq for nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from server import http as http_clients
from server import ids, outbound, retrying
from server.config import Settings
from server.connections import health as healths
from server.connections.models import Connection
from server.connections.status import mark_reauthorization_required
from server.connectors.base import StreamSpec
from server.connectors.http import ProviderAuthError
from server.crypto import KeyRing
from server.destinations.base import CopyRejected, Destination, build_destination
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
from server.syncs.stream_load import Cancelled, Progress, RunLost, StreamLoad
from server.syncs.transitions import move_run, publish_run

log = logging.getLogger("weir.runner")

RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 1800.0
ERROR_MAX_LENGTH = 2000
# The message a worker cancels its runs with at shutdown (``asyncio.Task.cancel(msg)``).
SHUTDOWN = "the worker stopped"


@dataclass
class RunEnvironment:
    """What a run needs from the process executing it."""

    settings: Settings
    key_ring: KeyRing
    bus: EventBus | None


class RunFailed(Exception):
    """The run cannot go on; the message is safe to show (credentials cut out)."""


def retry_delay_seconds(attempt: int) -> float:
    """Backoff before attempt ``attempt + 1``: 30 s, 60 s, 120 s, ... at most 30 minutes."""
    return min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_MAX_SECONDS)


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_MAX_LENGTH]


async def _heartbeat(progress: Progress, interval: float) -> None:
    """Mark the run alive every ``interval`` seconds; a failed beat is logged, never fatal."""
    while True:
        await asyncio.sleep(interval)
        try:
            await progress.beat()
        except RunLost:
            log.warning("sync run %s was taken over by another attempt; its heartbeat stops", progress.run.id)
            return
        except Exception as exc:
            log.warning(
                "sync run %s: heartbeat failed (%s); trying again in %s s",
                progress.run.id,
                describe(exc),
                interval,
            )


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
    progress = Progress(run, env.bus, outage_seconds=env.settings.run_database_outage_seconds)
    heartbeat = asyncio.create_task(_heartbeat(progress, env.settings.run_heartbeat_seconds))
    status, error = "SUCCEEDED", None
    try:
        failed = await _copy_streams(env=env, sync=sync, run=run, progress=progress)
        if failed:
            status, error = "FAILED", f"{len(failed)} stream(s) failed: {', '.join(failed)}"
    except Cancelled:
        status, error = "CANCELLED", None
    except RunLost as exc:
        # The stale scan failed this attempt and queued the next: nothing is ours to write.
        log.warning("sync run %s stops: %s", run.id, exc)
        return None
    except (RunFailed, retrying.DatabaseUnreachable) as exc:
        log.warning("sync run %s failed: %s", run.id, exc)
        status, error = "FAILED", str(exc)
    except asyncio.CancelledError as exc:
        # Shutdown (SHUTDOWN) or the worker's time limit interrupted the run: record it.
        reason = str(exc) or "the run exceeded its time limit"
        shutdown = reason == SHUTDOWN
        await _finish(
            env=env,
            run=run,
            progress=progress,
            status="FAILED",
            error=f"interrupted: {reason}",
            retry_now=shutdown,
        )
        if shutdown:
            return "FAILED"  # recorded and requeued: the message is done with
        raise
    except Exception as exc:
        log.warning("sync run %s failed: %s", run.id, describe(exc))
        status, error = "FAILED", describe(exc)
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await heartbeat
    return await _finish(env=env, run=run, progress=progress, status=status, error=error)


def _where_streams_stopped(progress: Progress, status: str, error: str | None) -> None:
    """A stream still going when the run ended says so, with the rows it had loaded."""
    for stats in progress.stats.values():
        if stats["status"] != "RUNNING":
            continue
        if status == "CANCELLED":
            stats["status"] = "CANCELLED"
        elif status == "FAILED":
            stats["status"] = "FAILED"
            stats["error"] = f"stopped after {stats['rowsLoaded']} row(s): {error}"


async def _finish(
    *,
    env: RunEnvironment,
    run: SyncRun,
    progress: Progress,
    status: str,
    error: str | None,
    retry_now: bool = False,
) -> str:
    """Record the run's end (retried across a database outage), then queue its next attempt."""
    _where_streams_stopped(progress, status, error)
    try:
        finished = await progress.retry(
            lambda: move_run(run=run, to=status, bus=env.bus, error=error, stream_stats=progress.stats),
            "recording its end",
        )
    except Conflict:
        current = await progress.retry(lambda: SyncRun.get_or_none(id=run.id), "reading its end")
        if current is None or (current.status, current.error) != (status, error):
            # The stale scan ended it first (and queued the next attempt): its "worker lost" is
            # a guess, this worker knows the cause.
            if current is not None and status == current.status == "FAILED" and error:
                guess = current.error
                await progress.retry(
                    lambda: SyncRun.filter(id=run.id, status="FAILED", error=guess).update(error=error),
                    "recording its cause",
                )
            log.warning("sync run %s ended elsewhere as %s", run.id, current and current.status)
            return current.status if current else status
        finished = current  # our own write, whose answer the outage lost
    except retrying.DatabaseUnreachable as exc:
        log.error("sync run %s: could not record its end (%s): %s", run.id, status, exc)
        return status
    if status == "FAILED" and (retry_now or finished.attempt <= env.settings.sync_max_retries):
        await progress.retry(
            lambda: schedule_retry(run=finished, bus=env.bus, delay=not retry_now), "queueing its retry"
        )
    return status


async def schedule_retry(*, run: SyncRun, bus: EventBus | None, delay: bool = True) -> SyncRun:
    """A new QUEUED run for the next attempt, sent after an exponential backoff."""
    retry = await SyncRun.create(
        id=ids.new_id("sync_run"),
        organization_id=run.organization_id,
        sync_id=run.sync_id,
        trigger="RECONCILE" if run.trigger == "RECONCILE" else "RETRY",  # a pass retries as one
        status="QUEUED",
        full_refresh=run.full_refresh,
        attempt=run.attempt + 1,
    )
    if bus is not None:
        await publish_run(bus=bus, run=retry, kind="status")
    queue.send_run(retry.id, delay_seconds=retry_delay_seconds(run.attempt) if delay else None)
    return retry


async def _copy_streams(*, env: RunEnvironment, sync: EltSync, run: SyncRun, progress: Progress) -> list[str]:
    """Copy every selected stream; return the names of the streams that failed."""
    connection = sync.connection
    connector = await connector_for(connection, settings=env.settings)
    # For messages only, until the context below holds the (possibly refreshed) credentials.
    credentials = load_credentials(key_ring=env.key_ring, connection=connection)
    streams = await progress.retry(
        lambda: SourceStream.filter(sync_id=sync.id).order_by("created_at", "id"), "reading its streams"
    )
    for stream in streams:
        progress.stream(stream.name)
    await progress.save(force=True)
    # Only a sync that hashes a column needs its salt (a missing salt then fails the run).
    salt = hash_salt(key_ring=env.key_ring, sync=sync) if any(s.hashed_columns for s in streams) else b""
    workspace_id = sync.workspace_id
    workspace = (
        await progress.retry(lambda: Workspace.get_or_none(id=workspace_id), "reading its workspace")
        if workspace_id
        else None
    )
    try:
        warehouse = warehouse_for(workspace=workspace, key_ring=env.key_ring, settings=env.settings)
    except WarehouseRefused as exc:
        raise RunFailed(str(exc)) from exc
    # A workspace's own warehouse is a tenant's choice and passes the outbound guard; the
    # deployment's (shared) warehouse is the operator's.
    destination = build_destination(
        warehouse.url, outbound=None if warehouse.shared else outbound.Policy.from_settings(env.settings)
    )
    schema = physical_schema(sync, shared=warehouse.shared)
    failed: list[str] = []
    async with http_clients.tenant_client(env.settings, http_clients.SYNC_RUN) as http:
        try:
            # Fresh credentials (an OAuth token near expiry is refreshed first), and a
            # callback the connector's HTTP client uses to refresh once on a provider 401.
            context = await refresh.connector_context(
                settings=env.settings, key_ring=env.key_ring, connection=connection, http=http, bus=env.bus
            )
            credentials = context.credentials
            specs = await stream_specs(connector, context, credentials, connector_settings(sync.settings))
            await destination.open()
        except Exception as exc:
            await _note_refused_credentials(exc, connection, env.bus)
            raise RunFailed(safe_message(exc, credentials)) from exc
        # Streams whose scopes the grant lacks: MISSING_SCOPES (the run still asks the
        # provider, which knows whether a broader scope covers them).
        needed = [name for stream in streams if stream.name in specs for name in specs[stream.name].scopes]
        await healths.check_scopes(connection=connection, needed=needed, bus=env.bus)
        try:
            for stream in streams:
                ok = await _copy_stream(
                    bus=env.bus,
                    connector=connector,
                    context=context,
                    destination=destination,
                    sync=sync,
                    schema=schema,
                    stream=stream,
                    spec=specs.get(stream.name),
                    full_refresh=run.full_refresh,
                    reconcile=run.trigger == "RECONCILE",
                    salt=salt,
                    progress=progress,
                    credentials=credentials,
                )
                if not ok:
                    failed.append(stream.name)
        finally:
            await destination.close()
    await progress.save(force=True)
    return failed


async def _note_refused_credentials(exc: BaseException, connection: Connection, bus: EventBus | None) -> None:
    """A 401 that survived the refresh: the connection needs re-authorization, marked the same
    way actions and the proxy mark it (``mark_reauthorization_required``)."""
    if isinstance(exc, ProviderAuthError):
        await mark_reauthorization_required(connection=connection, reason=exc.message, bus=bus)


def needs_reconciliation(stream: SourceStream, spec: StreamSpec) -> bool:
    """A reconciliation pass reads the keys of incremental streams that have a key and no
    delete markers (a full refresh and markers see deletes on their own)."""
    return stream.sync_mode == "INCREMENTAL" and bool(spec.primary_key) and spec.deleted is None


async def _copy_stream(
    *,
    bus: EventBus | None,
    connector: Any,
    context: Any,
    destination: Destination,
    sync: EltSync,
    schema: str,
    stream: SourceStream,
    spec: StreamSpec | None,
    full_refresh: bool,
    salt: bytes,
    progress: Progress,
    credentials: dict[str, Any],
    reconcile: bool = False,
) -> bool:
    stats = progress.stream(stream.name)
    if spec is None:
        stats.update(status="FAILED", error=f"the source no longer offers {stream.name!r}")
        return False
    if reconcile and not needs_reconciliation(stream, spec):
        # Markers or full refreshes see its deletes; without a key nothing can be matched.
        stats.update(status="SKIPPED")
        return True
    stats.update(
        status="RUNNING", rowsLoaded=0, rowsInserted=0, rowsUpdated=0, rowsDeleted=0, batches=0, error=None
    )
    await progress.save(force=True)  # a run found lost later shows which stream was going
    load = StreamLoad(
        connector=connector,
        context=context,
        destination=destination,
        sync=sync,
        schema=schema,
        stream=stream,
        spec=spec,
        full=full_refresh or stream.sync_mode == "FULL_REFRESH",
        salt=salt,
        progress=progress,
    )
    try:
        try:
            if reconcile:
                await load.reconcile()
            else:
                await load.run(as_copy_text=True)
        except CopyRejected as exc:
            # A value did not fit its column as text; records can widen the column. An
            # incremental load goes on from the last saved state, a full refresh restarts.
            log.info("stream %s of sync %s: %s; loading it as records", stream.name, sync.id, exc)
            await load.run(as_copy_text=False)
    except Cancelled:
        stats["status"] = "CANCELLED"
        raise
    except (RunLost, retrying.DatabaseUnreachable):
        raise  # the run's, not the stream's: the run ends (or this attempt stops) here
    except Exception as exc:
        message = safe_message(exc, credentials)
        log.warning("stream %s of sync %s failed: %s", stream.name, sync.id, message)
        await _note_refused_credentials(exc, sync.connection, bus)
        stats.update(status="FAILED", error=message)
        await progress.save(force=True)
        return False
    stats["status"] = "SUCCEEDED"
    await progress.save(force=True)
    return True
