"""What the fault tests share: seeding a Weir database with demo syncs, and GraphQL over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from server import ids
from server.config import Settings
from server.connections.models import Connection
from server.crypto import load_key_ring
from server.db import close_database, migrate, open_database
from server.orgs.bootstrap import initialise
from server.scope import Scope
from server.syncs import service
from server.syncs.service import StreamChoice, SyncChanges
from tests.conftest import TEST_ENCRYPTION_KEYS

YEARLY = "0 0 1 1 *"  # never due while a test runs
TRIGGER = """
mutation Trigger($syncId: ID!) { triggerSyncRun(syncId: $syncId) { id status } }
"""
RUN = "query Run($id: ID!) { syncRun(id: $id) { id status error } }"


async def seed(settings: Settings, syncs: int, contacts: int = 50) -> tuple[str, list[str]]:
    """The first tenant's API key and ``syncs`` enabled demo syncs (run only when triggered)."""
    created = await initialise()
    assert created is not None
    scope = Scope(organization_id=created.organization.id)
    connection = await Connection.create(
        id=ids.new_id("connection"),
        organization_id=created.organization.id,
        workspace_id=created.workspace.id,
        integration_name="demo",
        auth_type="NONE",
        scope="WORKSPACE",
        display_name="Demo CRM",
    )
    sync_ids = []
    for index in range(syncs):
        sync = await service.create_sync(
            scope=scope,
            settings=settings,
            key_ring=load_key_ring(settings),
            bus=None,
            connection_id=connection.id,
            changes=SyncChanges(
                destination_schema=f"fault_{index:02d}",
                settings={"contacts": contacts, "companies": 5, "deals": 5, "batch_size": 10},
                sync_interval=YEARLY,
            ),
            streams=[StreamChoice(name=name, sync_mode="INCREMENTAL") for name in ("contacts", "deals")],
        )
        await service.set_enabled(scope=scope, bus=None, sync_id=sync.id, enabled=True)
        sync_ids.append(sync.id)
    return created.key.secret, sync_ids


async def seeded_database(
    tmp_path: Path, database_url: str, syncs: int, contacts: int = 50
) -> tuple[Settings, str, list[str]]:
    """Migrate ``database_url`` and seed it (``seed``), for Weir processes the test starts next;
    the settings it was seeded with (an SQLite warehouse under ``tmp_path``), the key, the syncs."""
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    EXECUTOR_CACHE.clear()  # another database of the same models may have been open before
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        warehouse_url=f"sqlite://{tmp_path / 'warehouse.db'}",
        encryption_keys=Settings.from_env({"WEIR_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS}).encryption_keys,
    )
    await migrate(settings)
    database = await open_database(settings)
    try:
        secret, sync_ids = await seed(settings, syncs, contacts=contacts)
    finally:
        await close_database(database)
    return settings, secret, sync_ids


async def graphql(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> tuple[httpx.Response, dict[str, Any]]:
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    return response, response.json()
