"""``weir demo``: a first sync in one command, on the embedded default.

Migrates and initialises the data directory if needed, creates (or reuses) a demo connection and
a sync of its three streams into the schema ``demo`` (on the shared warehouse, the workspace's
``<workspace id>__demo``: ``server.syncs.namespaces``), runs it once to completion with a progress
bar, prints the rows per table and where the warehouse is, and leaves the sync enabled so
``weir serve`` keeps running it hourly. Run twice, it reuses what exists (the second run is
incremental and loads only what is new).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from server import ids
from server.config import Settings
from server.connections.models import Connection
from server.crypto import load_key_ring
from server.db import close_database, migrate, open_database
from server.destinations.base import build_destination
from server.errors import Conflict
from server.events import InMemoryEventBus
from server.orgs.bootstrap import initialise
from server.orgs.models import Organization, Workspace
from server.orgs.warehouse import warehouse_for
from server.scope import Scope
from server.syncs import runs, service
from server.syncs.models import EltSync, SyncRun
from server.syncs.namespaces import physical_schema
from server.syncs.service import StreamChoice, SyncChanges
from server.syncs.transitions import ACTIVE, FINISHED

SCHEMA = "demo"
INTERVAL = "0 * * * *"
STREAMS = ("contacts", "companies", "deals")
BAR_WIDTH = 30


def run_demo(settings: Settings, *, contacts: int = 10_000) -> int:
    """Set up and run the demo sync once; return the process exit status."""
    logging.getLogger("dramatiq").setLevel(logging.WARNING)  # its start/stop chatter
    return asyncio.run(_demo(settings, max(contacts, 1)))


def _sizes(contacts: int) -> dict[str, int]:
    return {"contacts": contacts, "companies": max(contacts // 10, 1), "deals": max(contacts * 3 // 10, 1)}


def _warehouse_label(url: str, schema: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        from server.destinations.sqlite import warehouse_path

        return f"{warehouse_path(url).resolve()} (SQLite; tables are named {schema}__<stream>)"
    # Never print credentials: host, port and database only.
    return f"Postgres {parts.hostname}:{parts.port or 5432}{parts.path} (schema {schema})"


async def _physical(settings: Settings, key_ring: Any, sync: EltSync) -> tuple[str, str]:
    """The warehouse URL the sync loads into and its schema there (tenant-qualified when shared)."""
    workspace = await Workspace.get_or_none(id=sync.workspace_id) if sync.workspace_id else None
    warehouse = warehouse_for(workspace=workspace, key_ring=key_ring, settings=settings)
    return warehouse.url, physical_schema(sync, shared=warehouse.shared)


async def _demo(settings: Settings, contacts: int) -> int:
    from server.worker.broker import install_broker
    from server.worker.main import EmbeddedWorker

    key_ring = load_key_ring(settings)
    await migrate(settings)
    database = await open_database(settings, global_fallback=True)
    bus = InMemoryEventBus()
    worker = None
    try:
        created = await initialise()
        if created is not None:
            print(f"Initialised Weir in {settings.data_dir.resolve()}")
            print(f"  API key (shown once): {created.key.secret}")
        organization = await Organization.all().order_by("id").first()
        assert organization is not None
        workspace = await Workspace.filter(organization_id=organization.id).order_by("id").first()
        scope = Scope(organization_id=organization.id)
        sync, note = await _demo_sync(
            scope=scope, settings=settings, key_ring=key_ring, workspace=workspace, contacts=contacts
        )
        print(f"Demo sync {sync.id} ({note}): demo source -> schema {SCHEMA!r}")
        url, schema = await _physical(settings, key_ring, sync)
        broker = install_broker(settings)
        worker = EmbeddedWorker(settings=settings, broker=broker, bus=bus, threads=1)
        await asyncio.to_thread(worker.start)
        run = await _start_run(scope=scope, settings=settings, bus=bus, sync=sync)
        run = await _follow(run, _sizes(contacts), before=await _counts(url, schema))
        sync = await service.set_enabled(scope=scope, bus=bus, sync_id=sync.id, enabled=True)
        await _summary(settings, run, sync, url, schema)
        return 0 if run.status == "SUCCEEDED" else 1
    finally:
        if worker is not None:
            await asyncio.to_thread(worker.stop)
        await close_database(database)


async def _demo_sync(
    *, scope: Scope, settings: Settings, key_ring: Any, workspace: Any, contacts: int
) -> tuple[EltSync, str]:
    connection = (
        await Connection.filter(organization_id=scope.organization_id, integration_name="demo")
        .order_by("id")
        .first()
    )
    if connection is None:
        connection = await Connection.create(
            id=ids.new_id("connection"),
            organization_id=scope.organization_id,
            workspace_id=workspace.id if workspace else None,
            integration_name="demo",
            auth_type="NONE",
            scope="WORKSPACE" if workspace else "ORGANIZATION",
            display_name="Demo CRM",
        )
    wanted = {**_sizes(contacts), "batch_size": 5000}
    sync = await EltSync.filter(organization_id=scope.organization_id, destination_schema=SCHEMA).first()
    if sync is None:
        sync = await service.create_sync(
            scope=scope,
            settings=settings,
            key_ring=key_ring,
            bus=None,
            connection_id=connection.id,
            changes=SyncChanges(destination_schema=SCHEMA, settings=wanted, sync_interval=INTERVAL),
            streams=[StreamChoice(name=name, sync_mode="INCREMENTAL") for name in STREAMS],
        )
        return sync, "created"
    if service.public_settings(sync) != wanted:
        sync = await service.update_sync(
            scope=scope, settings=settings, bus=None, sync_id=sync.id, changes=SyncChanges(settings=wanted)
        )
    return sync, "reused"


async def _start_run(*, scope: Scope, settings: Settings, bus: Any, sync: EltSync) -> SyncRun:
    try:
        return await runs.trigger_run(
            scope=scope, settings=settings, bus=bus, sync_id=sync.id, full_refresh=False
        )
    except Conflict:
        # A run left queued by an earlier process: send it again and follow it.
        going = await SyncRun.filter(sync_id=sync.id, status__in=ACTIVE).order_by("-id").first()
        assert going is not None
        from server.syncs.queue import enqueue_run

        enqueue_run(going.id)
        return going


async def _counts(url: str, schema: str) -> dict[str, int]:
    destination = build_destination(url)
    await destination.open()
    found: dict[str, int] = {}
    try:
        for name in STREAMS:
            try:
                found[name] = await destination.count(schema, name)
            except Exception:
                found[name] = 0  # no table yet
    finally:
        await destination.close()
    return found


async def _follow(run: SyncRun, sizes: dict[str, int], before: dict[str, int]) -> SyncRun:
    """Poll the run and draw a progress bar until it ends."""
    expected = max(sum(max(sizes[n] - before.get(n, 0), 0) for n in STREAMS), 1)
    started = time.monotonic()
    tty = sys.stdout.isatty()
    last_line = ""
    while True:
        run = await SyncRun.get(id=run.id)
        loaded = sum(int(s.get("rowsLoaded", 0)) for s in (run.stream_stats or {}).values())
        done = run.status in FINISHED
        fraction = 1.0 if done and run.status == "SUCCEEDED" else min(loaded / expected, 1.0)
        filled = int(fraction * BAR_WIDTH)
        line = (
            f"  [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%}  "
            f"{loaded:,} rows  {run.status.lower()}"
        )
        if tty:
            print("\r" + line, end="", flush=True)
        elif line != last_line and (done or int(fraction * 10) != int(_fraction(last_line) * 10)):
            print(line, flush=True)
        last_line = line
        if done:
            if tty:
                print()
            print(
                f"Run {run.id} {run.status} in {time.monotonic() - started:.1f} s"
                + (f": {run.error}" if run.error else "")
            )
            return run
        await asyncio.sleep(0.2)


def _fraction(line: str) -> float:
    try:
        return float(line.split("]")[1].split("%")[0]) / 100
    except (IndexError, ValueError):
        return -1.0


async def _summary(settings: Settings, run: SyncRun, sync: EltSync, url: str, schema: str) -> None:
    counts = await _counts(url, schema)
    loaded = {name: int(stats.get("rowsLoaded", 0)) for name, stats in (run.stream_stats or {}).items()}
    sqlite = urlsplit(url).scheme == "sqlite"
    print("Rows per table:")
    tables = {name: f"{schema}__{name}" if sqlite else f"{schema}.{name}" for name in STREAMS}
    width = max(len(table) for table in tables.values())
    for name, table in tables.items():
        print(
            f"  {table:<{width}} {counts.get(name, 0):>10,} rows ({loaded.get(name, 0):,} loaded by this run)"
        )
    print(f"Warehouse: {_warehouse_label(url, schema)}")
    when = sync.next_run_at.isoformat(timespec="minutes") if sync.next_run_at else "-"
    runner = "`weir serve`" if settings.embedded else "`weir scheduler` with `weir worker`"
    print(f"The sync stays enabled ({INTERVAL!r}, next run {when}); {runner} keeps it running.")
    if settings.console:
        print(
            f"See its runs and start one in the console: {settings.effective_public_url}/console "
            "(after `weir serve`; sign in with the API key printed when Weir was initialised, "
            "or make one with `weir keys create`)."
        )
