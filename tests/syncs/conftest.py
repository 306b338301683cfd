"""Fixtures for sync tests: a demo connection, an in-process worker, waiting for a run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server import ids
from server.config import Settings

FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED")

RUN_QUERY = """
query Run($id: ID!) {
  syncRun(id: $id) {
    id status trigger attempt error fullRefresh rowsLoaded
    streams { name status rowsLoaded batches error widenedColumns blockedColumns }
  }
}
"""


async def create_demo_connection(organization_id: str, workspace_id: str | None) -> str:
    """A demo connection, made directly (it needs no credentials)."""
    from server.connections.models import Connection

    connection = await Connection.create(
        id=ids.new_id("connection"), organization_id=organization_id, workspace_id=workspace_id,
        integration_name="demo", auth_type="NONE", scope="WORKSPACE", display_name="Demo CRM",
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

    embedded = EmbeddedWorker(settings=settings, broker=current_broker(),
                              bus=app.state.runtime.services.bus, threads=1)
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
