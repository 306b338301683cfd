"""Postgres source to Postgres destination through GraphQL: full load, then only changes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from server.destinations.base import build_destination
from server.syncs.namespaces import qualified_schema
from tests.conftest import POSTGRES_URL, require_service
from tests.connectors.test_postgres_connector import url_credentials
from tests.syncs.conftest import wait_for_run
from tests.syncs.test_sync_api import CREATE, ENABLE, SETTINGS_SCHEMA, TRIGGER

CREATE_CONNECTION = """
mutation($w: ID!, $props: JSON!) {
  createConnection(input: {integrationName: "postgres", authType: CUSTOM_AUTH, scope: WORKSPACE,
                           workspaceId: $w, props: $props}) { id }
}
"""
STREAMS = """
query($id: ID!, $settings: JSON) {
  connectionStreams(connectionId: $id, settings: $settings) { name primaryKey recordSchema }
}
"""
SCHEMA_WITH_OPTIONS = """
query($id: ID!, $partial: JSON) {
  connectionSettingsSchema(connectionId: $id, partialSettings: $partial)
}
"""


@pytest.fixture
async def source() -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """A source schema with an `accounts` table on the machine's Postgres, dropped after."""
    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    schema = f"src_{uuid.uuid4().hex[:10]}"
    db = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
    await db.execute(f"CREATE SCHEMA {schema}")
    await db.execute(f"""
        CREATE TABLE {schema}.accounts (
            id bigint PRIMARY KEY, name text NOT NULL, balance numeric(12, 2),
            tags jsonb, updated_at timestamptz NOT NULL)""")
    await db.execute(f"""
        INSERT INTO {schema}.accounts
        SELECT n, 'account ' || n, n * 1.5, jsonb_build_array('t' || n % 3),
               timestamptz '2024-01-01' + n * interval '1 minute'
        FROM generate_series(1, 2500) AS n""")
    try:
        yield db, schema
    finally:
        await db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await db.close()


async def test_a_postgres_table_is_copied_then_kept_up_to_date(
    tenant: Any, settings: Any, app: Any, source: tuple[asyncpg.Connection, str]
) -> None:
    from server.syncs.queue import current_broker
    from server.worker.main import EmbeddedWorker

    db, source_schema = source
    destination_schema = f"dst_{uuid.uuid4().hex[:10]}"
    embedded = EmbeddedWorker(
        settings=settings.replace(warehouse_url=POSTGRES_URL),
        broker=current_broker(),
        bus=app.state.runtime.services.bus,
        threads=1,
    )
    await asyncio.to_thread(embedded.start)
    destination = build_destination(POSTGRES_URL)
    await destination.open()
    try:
        connection_id = (
            await tenant.data(
                CREATE_CONNECTION,
                {
                    "w": tenant.workspace_id,
                    # The server and database the suite was given, whatever their names.
                    "props": url_credentials(POSTGRES_URL),
                },
            )
        )["createConnection"]["id"]
        options = (
            await tenant.data(
                SCHEMA_WITH_OPTIONS, {"id": connection_id, "partial": {"schema": source_schema}}
            )
        )["connectionSettingsSchema"]
        assert source_schema in options["properties"]["schema"]["enum"]
        assert options["properties"]["tables"]["items"]["enum"] == ["accounts"]
        assert await tenant.data(SETTINGS_SCHEMA, {"id": connection_id})
        # The streams those settings would offer: the schema's tables, each with its columns.
        streams = (
            await tenant.data(
                STREAMS, {"id": connection_id, "settings": {"schema": source_schema, "tables": ["accounts"]}}
            )
        )["connectionStreams"]
        assert [stream["name"] for stream in streams] == ["accounts"]
        assert {"id", "name"} <= set(streams[0]["recordSchema"]["properties"])

        sync_id = (
            await tenant.data(
                CREATE,
                {
                    "input": {
                        "connectionId": connection_id,
                        "destinationSchemaName": destination_schema,
                        "settings": {"schema": source_schema, "tables": ["accounts"], "batch_size": 500},
                        "syncInterval": "0 * * * *",
                        "sourceStreams": [{"name": "accounts", "syncMode": "INCREMENTAL"}],
                    }
                },
            )
        )["createEltSync"]["id"]
        await tenant.data(ENABLE, {"id": sync_id})
        first = await wait_for_run(
            tenant, (await tenant.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]["id"]
        )
        assert first["status"] == "SUCCEEDED", first
        assert first["rowsLoaded"] == 2500

        await db.execute(
            f"UPDATE {source_schema}.accounts SET name = 'renamed', updated_at = now() WHERE id <= 10"
        )
        await db.execute(f"INSERT INTO {source_schema}.accounts VALUES (9001, 'new', 1, null, now())")
        second = await wait_for_run(
            tenant, (await tenant.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]["id"]
        )

        assert second["status"] == "SUCCEEDED", second
        assert second["rowsLoaded"] == 11  # ten changed rows and one new one
        physical = qualified_schema(
            organization_id=tenant.organization_id, workspace_id=tenant.workspace_id, name=destination_schema
        )
        copied = {row["id"]: row for row in await destination.fetch(physical, "accounts")}
        original = {row["id"]: dict(row) for row in await db.fetch(f"SELECT * FROM {source_schema}.accounts")}
        assert copied.keys() == original.keys()
        assert all(copied[i]["name"] == original[i]["name"] for i in original)
        assert float(copied[7]["balance"]) == 10.5
        assert copied[5]["updated_at"] == original[5]["updated_at"]
    finally:
        await asyncio.to_thread(embedded.stop)
        physical = qualified_schema(
            organization_id=tenant.organization_id, workspace_id=tenant.workspace_id, name=destination_schema
        )
        await destination.db.execute(f'DROP SCHEMA IF EXISTS "{physical}" CASCADE')
        await destination.close()


async def test_an_unreachable_account_is_check_failed_without_its_password(tenant: Any, client: Any) -> None:
    from tests.serving import free_port

    password = "hunter2-very-secret"
    body = await tenant.graphql(
        CREATE_CONNECTION,
        {
            "w": tenant.workspace_id,
            "props": {
                "host": "127.0.0.1",
                "port": free_port(),
                "database": "nowhere",
                "user": "postgres",
                "password": password,
                "sslmode": "disable",
            },
        },
    )
    connection_id = body["data"]["createConnection"]["id"]

    schema = await tenant.graphql(SCHEMA_WITH_OPTIONS, {"id": connection_id, "partial": None})
    create = await tenant.graphql(
        CREATE,
        {
            "input": {
                "connectionId": connection_id,
                "destinationSchemaName": "nowhere",
                "settings": {"schema": "public"},
                "syncInterval": "0 * * * *",
                "sourceStreams": [{"name": "accounts", "syncMode": "INCREMENTAL"}],
            }
        },
    )

    for answer in (schema, create):
        assert answer["errors"][0]["extensions"]["code"] == "CHECK_FAILED", answer
        assert password not in str(answer)
