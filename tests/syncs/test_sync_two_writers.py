"""The API and the embedded worker write Weir's database at the same time without errors
(on SQLite this needs WAL and a busy timeout: no "database is locked")."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.syncs.conftest import wait_for_run
from tests.syncs.test_sync_api import CREATE, TRIGGER, demo_input

RENAME = """
mutation($id: ID!, $n: String) { updateWorkspace(input: {id: $id, displayName: $n}) { id } }
"""


async def test_api_writes_during_a_run_all_succeed(tenant: Any, demo_connection: str, worker: Any) -> None:
    sync_id = (
        await tenant.data(
            CREATE,
            {
                "input": demo_input(
                    demo_connection,
                    settings={"contacts": 30_000, "batch_size": 250},
                    sourceStreams=[{"name": "contacts", "syncMode": "INCREMENTAL"}],
                )
            },
        )
    )["createEltSync"]["id"]
    run_id = (await tenant.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]["id"]

    async def rename(n: int) -> dict[str, Any]:
        return await tenant.graphql(RENAME, {"id": tenant.workspace_id, "n": f"name {n}"})

    results = []
    for wave in range(10):  # while the worker saves a state checkpoint every 250 rows
        results += await asyncio.gather(*(rename(wave * 5 + i) for i in range(5)))
        await asyncio.sleep(0.02)

    assert all("errors" not in body for body in results), [
        body["errors"] for body in results if "errors" in body
    ]
    finished = await wait_for_run(tenant, run_id)
    assert finished["status"] == "SUCCEEDED", finished
    assert finished["rowsLoaded"] == 30_000
