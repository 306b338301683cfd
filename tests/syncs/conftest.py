"""Fixtures for sync tests: a demo connection, an in-process worker, waiting for a run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server import ids
from server.config import Settings
from server.crypto import load_key_ring
from server.destinations.base import build_destination
from server.events import InMemoryEventBus
from server.orgs.models import Organization, Workspace
from server.scope import Scope
from server.syncs import runs, service
from server.syncs.models import EltSync, SyncRun
from server.syncs.namespaces import physical_schema
from server.syncs.runner import RunEnvironment, execute_run
from server.syncs.service import StreamChoice, SyncChanges

FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED")

RUN_QUERY = """
query Run($id: ID!) {
  syncRun(id: $id) {
    id status trigger attempt error fullRefresh rowsLoaded rowsInserted rowsUpdated
    streams { name status rowsLoaded rowsInserted rowsUpdated batches error widenedColumns blockedColumns }
  }
}
"""


async def create_demo_connection(organization_id: str, workspace_id: str | None) -> str:
    """A demo connection, made directly (it needs no credentials)."""
    from server.connections.models import Connection

    connection = await Connection.create(
        id=ids.new_id("connection"),
        organization_id=organization_id,
        workspace_id=workspace_id,
        integration_name="demo",
        auth_type="NONE",
        scope="WORKSPACE",
        display_name="Demo CRM",
    )
    return connection.id


@pytest.fixture
async def demo_connection(tenant: Any) -> str:
    return await create_demo_connection(tenant.organization_id, tenant.workspace_id)


@pytest.fixture
async def worker(app: Any, settings: Settings) -> AsyncIterator[Any]:
    """A Dramatiq worker in this process, on the app's stub broker, publishing on its bus."""
    from server.syncs.queue import current_broker
    from server.worker.main import EmbeddedWorker

    embedded = EmbeddedWorker(
        settings=settings, broker=current_broker(), bus=app.state.runtime.services.bus, threads=1
    )
    await asyncio.to_thread(embedded.start)
    try:
        yield embedded
    finally:
        await asyncio.to_thread(embedded.stop)


async def wait_for_run(tenant: Any, run_id: str, seconds: float = 60.0) -> dict[str, Any]:
    """Poll ``syncRun`` until the run has ended; return it."""
    deadline = time.monotonic() + seconds
    while True:
        run = (await tenant.data(RUN_QUERY, {"id": run_id}))["syncRun"]
        if run["status"] in FINISHED:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {run['status']} after {seconds} s")
        await asyncio.sleep(0.05)


@pytest.fixture
async def env(database: Any) -> RunEnvironment:
    from server.worker.broker import install_broker

    install_broker(database)
    return RunEnvironment(settings=database, key_ring=load_key_ring(database), bus=InMemoryEventBus())


@pytest.fixture
async def scope(database: Any) -> Scope:
    organization = await Organization.create(id=ids.new_id("organization"), name="Acme")
    workspace = await Workspace.create(id=ids.new_id("workspace"), organization=organization, name="default")
    return Scope(organization_id=organization.id, workspace_id=workspace.id)


async def make_sync(
    env: RunEnvironment,
    scope: Scope,
    *,
    settings: dict[str, Any],
    streams: list[StreamChoice],
    integration: str = "demo",
    schema: str = "crm",
) -> EltSync:
    connection_id = await create_demo_connection(scope.organization_id, scope.workspace_id)
    if integration != "demo":
        from server.connections.models import Connection

        await Connection.filter(id=connection_id).update(integration_name=integration)
    return await service.create_sync(
        scope=scope,
        settings=env.settings,
        key_ring=env.key_ring,
        bus=None,
        connection_id=connection_id,
        changes=SyncChanges(destination_schema=schema, settings=settings, sync_interval="0 * * * *"),
        streams=streams,
    )


async def run_once(env: RunEnvironment, scope: Scope, sync: EltSync, full_refresh: bool = False) -> SyncRun:
    run = await runs.trigger_run(
        scope=scope, settings=env.settings, bus=None, sync_id=sync.id, full_refresh=full_refresh
    )
    await execute_run(env=env, run_id=run.id)
    return await SyncRun.get(id=run.id)


async def table(env: RunEnvironment, name: str, sync: EltSync) -> list[dict[str, Any]]:
    """Every row of ``sync``'s table ``name`` in the deployment's (shared) warehouse."""
    return await shared_table(env.settings, sync, name)


async def shared_table(settings: Settings, sync: EltSync, name: str) -> list[dict[str, Any]]:
    destination = build_destination(settings.effective_warehouse_url)
    await destination.open()
    try:
        return await destination.fetch(physical_schema(sync, shared=True), name)
    finally:
        await destination.close()
