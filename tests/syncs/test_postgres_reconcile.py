"""A reconciliation pass over a PostgreSQL source: only the key (and cursor) columns are read,
as COPY text, and rows deleted at the source are marked in the warehouse."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

from server.connectors.base import CopyBatch
from server.destinations.base import build_destination
from server.destinations.columns import DELETED_AT
from server.syncs import queue, schedule
from server.syncs.models import EltSync
from server.syncs.namespaces import qualified_schema
from server.syncs.stream_load import copy_text_keys
from tests.conftest import POSTGRES_URL
from tests.connectors.test_postgres_connector import url_credentials
from tests.syncs.conftest import wait_for_run
from tests.syncs.test_postgres_to_postgres import CREATE_CONNECTION, source  # noqa: F401 (a fixture)
from tests.syncs.test_sync_api import CREATE, TRIGGER

RUN = "query Run($id: ID!) { syncRun(id: $id) { status trigger streams { name status rowsDeleted } } }"


def test_keys_are_read_from_copy_text_with_its_escapes() -> None:
    batch = CopyBatch(
        stream="t",
        columns=("name", "id", "updated_at"),
        data=b"a\\tb\\\\c\t1\t2024\n\\N\t2\t2024\ncaf\\303\\251\t3\t2024\n",
        rows=3,
    )

    assert copy_text_keys(batch, ("id", "name")) == [
        {"id": "1", "name": "a\tb\\c"},
        {"id": "2", "name": None},
        {"id": "3", "name": "café"},
    ]


async def test_a_reconciliation_run_marks_rows_deleted_at_a_postgres_source(
    tenant: Any,
    settings: Any,
    app: Any,
    source: tuple[asyncpg.Connection, str],  # noqa: F811
) -> None:
    from server.worker.main import EmbeddedWorker

    db, source_schema = source
    destination_schema = f"dst_{uuid.uuid4().hex[:10]}"
    embedded = EmbeddedWorker(
        settings=settings.replace(warehouse_url=POSTGRES_URL),
        broker=queue.current_broker(),
        bus=app.state.runtime.services.bus,
        threads=1,
    )
    await asyncio.to_thread(embedded.start)
    destination = build_destination(POSTGRES_URL)
    await destination.open()
    physical = qualified_schema(
        organization_id=tenant.organization_id, workspace_id=tenant.workspace_id, name=destination_schema
    )
    try:
        connection_id = (
            await tenant.data(
                CREATE_CONNECTION, {"w": tenant.workspace_id, "props": url_credentials(POSTGRES_URL)}
            )
        )["createConnection"]["id"]
        sync_id = (
            await tenant.data(
                CREATE,
                {
                    "input": {
                        "connectionId": connection_id,
                        "destinationSchemaName": destination_schema,
                        "settings": {"schema": source_schema, "tables": ["accounts"], "batch_size": 400},
                        "syncInterval": "0 * * * *",
                        "sourceStreams": [{"name": "accounts", "syncMode": "INCREMENTAL"}],
                        "deleteDetection": "RECONCILE",
                    }
                },
            )
        )["createEltSync"]["id"]
        first = await wait_for_run(
            tenant, (await tenant.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]["id"]
        )
        assert first["status"] == "SUCCEEDED", first

        await db.execute(f"DELETE FROM {source_schema}.accounts WHERE id IN (3, 1200, 2500)")
        run = await schedule.create_run(sync=await EltSync.get(id=sync_id), trigger="RECONCILE")
        queue.send_run(run.id)
        await wait_for_run(tenant, run.id)

        finished = (await tenant.data(RUN, {"id": run.id}))["syncRun"]
        assert finished["status"] == "SUCCEEDED", finished
        assert finished["trigger"] == "RECONCILE"
        assert finished["streams"] == [{"name": "accounts", "status": "SUCCEEDED", "rowsDeleted": 3}]
        rows = {row["id"]: row for row in await destination.fetch(physical, "accounts")}
        assert len(rows) == 2500
        assert {key for key, row in rows.items() if row[DELETED_AT] is not None} == {3, 1200, 2500}
    finally:
        await asyncio.to_thread(embedded.stop)
        await destination.db.execute(f'DROP SCHEMA IF EXISTS "{physical}" CASCADE')
        await destination.close()
