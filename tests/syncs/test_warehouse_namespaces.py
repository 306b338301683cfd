"""Warehouse namespaces: tenants choosing the same schema name never touch each other's tables.

On the deployment's shared warehouse a sync loads into ``<workspace or organization id>__<name>``
(``server.syncs.namespaces``); syncs created before (migration 0004) keep their literal schema.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as tortoise_migrate

from server import ids
from server.config import Secret, Settings
from server.crypto import load_key_ring
from server.db import close_database, migrate, open_database, tortoise_config
from server.destinations.base import MAX_NAME_BYTES, build_destination
from server.errors import Conflict
from server.events import InMemoryEventBus
from server.orgs.models import Organization, Workspace
from server.scope import Scope
from server.syncs import service
from server.syncs.models import EltSync
from server.syncs.namespaces import physical_schema, qualified_schema
from server.syncs.runner import RunEnvironment
from server.syncs.service import StreamChoice, SyncChanges
from tests.conftest import POSTGRES_URL, TEST_ENCRYPTION_KEYS, require_service
from tests.syncs.conftest import create_demo_connection, make_sync, run_once

CONTACTS = [StreamChoice(name="contacts", sync_mode="INCREMENTAL")]


@pytest.fixture(params=["sqlite warehouse", "postgres warehouse"])
async def warehouse_env(request: pytest.FixtureRequest, env: RunEnvironment) -> AsyncIterator[RunEnvironment]:
    """The engine loading into a shared SQLite or Postgres warehouse; Postgres schemas the
    test made are dropped after it."""
    if request.param == "sqlite warehouse":
        yield env
        return
    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    pg_env = dataclasses.replace(env, settings=env.settings.replace(warehouse_url=POSTGRES_URL))
    try:
        yield pg_env
    finally:
        made = await EltSync.all().values_list("warehouse_schema", flat=True)
        destination = build_destination(POSTGRES_URL)
        await destination.open()
        try:
            for schema in made:
                await destination.db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await destination.close()


async def another_workspace(scope: Scope) -> Scope:
    workspace = await Workspace.create(
        id=ids.new_id("workspace"), organization_id=scope.organization_id, name="staging"
    )
    return Scope(organization_id=scope.organization_id, workspace_id=workspace.id)


async def another_organization() -> Scope:
    organization = await Organization.create(id=ids.new_id("organization"), name="Globex")
    workspace = await Workspace.create(id=ids.new_id("workspace"), organization=organization, name="default")
    return Scope(organization_id=organization.id, workspace_id=workspace.id)


async def rows(env: RunEnvironment, sync: EltSync) -> list[int]:
    destination = build_destination(env.settings.effective_warehouse_url)
    await destination.open()
    try:
        found = await destination.fetch(physical_schema(sync, shared=True), "contacts")
    finally:
        await destination.close()
    return sorted(row["id"] for row in found)


@pytest.mark.parametrize("other", ["organization", "workspace"])
async def test_a_full_refresh_by_one_tenant_never_touches_anothers_same_named_schema(
    warehouse_env: RunEnvironment, scope: Scope, other: str
) -> None:
    env = warehouse_env
    theirs = await (another_organization() if other == "organization" else another_workspace(scope))
    ours = await make_sync(env, scope, settings={"contacts": 30}, streams=CONTACTS)
    # Same name (a second workspace of one organization may use it too: no CONFLICT).
    their_sync = await make_sync(env, theirs, settings={"contacts": 5}, streams=CONTACTS)
    assert ours.destination_schema == their_sync.destination_schema == "crm"

    assert (await run_once(env, scope, ours)).status == "SUCCEEDED"
    assert (await run_once(env, theirs, their_sync, full_refresh=True)).status == "SUCCEEDED"

    assert await rows(env, ours) == list(range(1, 31))
    assert await rows(env, their_sync) == list(range(1, 6))
    assert ours.warehouse_schema != their_sync.warehouse_schema
    assert ours.warehouse_schema == f"{scope.workspace_id}__crm"


async def test_a_conflict_only_compares_syncs_that_share_tables(env: RunEnvironment, scope: Scope) -> None:
    await make_sync(env, scope, settings={}, streams=CONTACTS, schema="sales")
    elsewhere = await another_workspace(scope)
    await make_sync(env, elsewhere, settings={}, streams=CONTACTS, schema="finance")

    with pytest.raises(Conflict) as same_workspace:
        await make_sync(env, scope, settings={}, streams=CONTACTS, schema="sales")
    assert "this workspace" in str(same_workspace.value)
    # A name another workspace uses is free here, and so is renaming a sync to it.
    mine = await make_sync(env, scope, settings={}, streams=CONTACTS, schema="finance")
    other = await make_sync(env, scope, settings={}, streams=CONTACTS, schema="other")
    with pytest.raises(Conflict):
        await service.update_sync(
            scope=scope,
            settings=env.settings,
            bus=None,
            sync_id=other.id,
            changes=SyncChanges(destination_schema="finance"),
        )
    renamed = await service.update_sync(
        scope=scope,
        settings=env.settings,
        bus=None,
        sync_id=other.id,
        changes=SyncChanges(destination_schema="marketing"),
    )
    assert renamed.destination_schema == "marketing"
    assert renamed.warehouse_schema == f"{scope.workspace_id}__marketing"
    assert mine.warehouse_schema == f"{scope.workspace_id}__finance"


async def test_an_organization_wide_sync_has_the_organizations_namespace(
    env: RunEnvironment, scope: Scope
) -> None:
    connection_id = await create_demo_connection(scope.organization_id, None)
    unrestricted = Scope(organization_id=scope.organization_id)
    sync = await service.create_sync(
        scope=unrestricted,
        settings=env.settings,
        key_ring=env.key_ring,
        bus=None,
        connection_id=connection_id,
        changes=SyncChanges(destination_schema="crm", settings={"contacts": 3}, sync_interval="0 * * * *"),
        streams=CONTACTS,
    )
    assert sync.warehouse_schema == f"{scope.organization_id}__crm"
    assert (await run_once(env, unrestricted, sync)).status == "SUCCEEDED"
    assert await rows(env, sync) == [1, 2, 3]


def test_a_long_name_is_fitted_to_postgres_and_kept_apart() -> None:
    workspace = ids.new_id("workspace")
    first = qualified_schema(organization_id="org", workspace_id=workspace, name="a" * 60 + "x")
    second = qualified_schema(organization_id="org", workspace_id=workspace, name="a" * 60 + "y")
    assert first != second
    assert all(len(name.encode()) <= MAX_NAME_BYTES for name in (first, second))
    assert first.startswith(workspace + "__") and "__" not in first[len(workspace) + 2 :]


# -- syncs made before namespaces keep their tables ----------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A database with no table yet (to migrate step by step), dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path}/weir.db"
        return
    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    name = f"weir_test_{uuid.uuid4().hex[:10]}"
    admin = POSTGRES_URL.replace("postgres://", "postgresql://", 1)

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


OLD_ROWS = [
    "INSERT INTO organizations (id, name, created_at) VALUES "
    "('org_first', 'First', '2026-01-01 00:00:00+00'), "
    "('org_second', 'Second', '2026-01-01 00:00:00+00')",
    "INSERT INTO connections (id, organization_id, integration_name, auth_type, scope, status, "
    "created_at, updated_at) VALUES "
    "('conn_first', 'org_first', 'demo', 'NONE', 'ORGANIZATION', 'ACTIVE', "
    "'2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00'), "
    "('conn_second', 'org_second', 'demo', 'NONE', 'ORGANIZATION', 'ACTIVE', "
    "'2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')",
    # Two organizations that both chose "crm" before namespaces: the bug shared one schema.
    "INSERT INTO elt_syncs (id, organization_id, connection_id, destination_schema, settings, "
    "sync_interval, timezone, schema_change_policy, enabled, created_at, updated_at) VALUES "
    "('sync_first', 'org_first', 'conn_first', 'crm', '{\"contacts\": 4}', '0 * * * *', 'UTC', "
    "'ALLOW_ALL', false, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00'), "
    "('sync_second', 'org_second', 'conn_second', 'crm', '{\"contacts\": 2}', '0 * * * *', "
    "'UTC', 'ALLOW_ALL', false, '2026-01-02 00:00:00+00', '2026-01-02 00:00:00+00')",
    "INSERT INTO source_streams (id, sync_id, name, sync_mode, state, excluded_columns, "
    "hashed_columns, created_at) VALUES "
    "('ss_first', 'sync_first', 'contacts', 'INCREMENTAL', NULL, '[]', '[]', "
    "'2026-01-01 00:00:00+00'), "
    "('ss_second', 'sync_second', 'contacts', 'INCREMENTAL', "
    "'{\"cursor\": \"2024-01-01T00:00:02+00:00\"}', '[]', '[]', '2026-01-02 00:00:00+00')",
]


async def test_the_migration_keeps_existing_syncs_on_their_tables_and_parts_shared_ones(
    empty_database_url: str, tmp_path: Any
) -> None:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    EXECUTOR_CACHE.clear()  # compiled INSERTs of the other database (see tests/conftest.py)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=empty_database_url,
        warehouse_url=f"sqlite://{tmp_path / 'warehouse.db'}",
        encryption_keys=Secret(TEST_ENCRYPTION_KEYS),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        async with TortoiseContext():
            await tortoise_migrate(
                config=tortoise_config(settings.effective_database_url),
                target="weir.0003_workspace_warehouse",
            )
            for statement in OLD_ROWS:
                await connections.get("default").execute_script(statement)
            await Tortoise.close_connections()
    with sqlite3.connect(tmp_path / "warehouse.db") as warehouse:
        warehouse.execute('CREATE TABLE "crm__contacts" ("id" INTEGER, "_weir_synced_at" TIMESTAMP)')
        warehouse.execute('CREATE UNIQUE INDEX "crm__contacts__pk" ON "crm__contacts" ("id")')
        warehouse.execute('INSERT INTO "crm__contacts" VALUES (1001, NULL)')

    assert "0004_warehouse_schema" in await migrate(settings)

    from server.worker.broker import install_broker

    install_broker(settings)
    ctx = await open_database(settings)
    try:
        first, second = await EltSync.get(id="sync_first"), await EltSync.get(id="sync_second")
        assert first.warehouse_schema == "crm"  # kept: the tables it has
        assert second.warehouse_schema == "org_second__crm"  # parted from the other tenant
        env = RunEnvironment(settings=settings, key_ring=load_key_ring(settings), bus=InMemoryEventBus())
        assert (await run_once(env, Scope(organization_id="org_first"), first)).status == "SUCCEEDED"
        assert await rows(env, first) == [1, 2, 3, 4, 1001]  # the old row is still there
        # Its state was cleared: its first run reloads everything into its own table.
        assert (await run_once(env, Scope(organization_id="org_second"), second)).status == "SUCCEEDED"
        assert await rows(env, second) == [1, 2]
        assert await rows(env, first) == [1, 2, 3, 4, 1001]
    finally:
        await close_database(ctx)
