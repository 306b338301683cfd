"""Revocation across processes: two ``weir serve`` replicas sharing Postgres and a Redis bus.

A key revoked through API 1 (or with ``weir keys revoke``) closes its WebSocket on API 2 with
4403 within 2 seconds, and API 2, which had the key in its authentication cache, refuses it
within the same bound.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
import websockets

from server.config import Settings
from server.db import close_database, migrate, open_database
from server.orgs.api_keys import create_api_key
from server.orgs.bootstrap import initialise
from tests.conftest import POSTGRES_URL, TEST_ENCRYPTION_KEYS, require_service
from tests.graphql_ws import GraphQLWebSocket
from tests.scaleout.cluster import Cluster, OwnRedis
from tests.scaleout.test_scaleout import fresh_databases

pytestmark = pytest.mark.scaleout

BOUND = 2.0
VIEWER = {"query": "{ viewer { apiKey { id } } }"}
SYNCS = "subscription($w: ID) { eltSyncUpdated(workspaceId: $w) { kind } }"


async def _socket(port: int, secret: str, workspace_id: str) -> GraphQLWebSocket:
    ws = await GraphQLWebSocket.connect(f"127.0.0.1:{port}", f"Bearer {secret}")
    assert (await ws.acknowledged())["type"] == "connection_ack"
    await ws.subscribe(SYNCS, {"w": workspace_id})
    return ws


async def _closed_code(ws: GraphQLWebSocket, seconds: float) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await ws.receive(timeout=seconds)
    return closed.value.rcvd.code


async def _refused_within(http: httpx.AsyncClient, port: int, secret: str, since: float) -> None:
    while True:
        response = await http.post(
            f"http://127.0.0.1:{port}/graphql", json=VIEWER, headers={"Authorization": f"Bearer {secret}"}
        )
        if response.status_code == 401:
            return
        assert time.monotonic() - since < BOUND, "still accepted after the bound"
        await asyncio.sleep(0.05)


async def test_revocation_closes_sockets_and_clears_caches_in_every_api_process(
    tmp_path: Path,
) -> None:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    EXECUTOR_CACHE.clear()
    redis = OwnRedis(tmp_path)
    redis.start()
    async with fresh_databases() as (database_url, warehouse_url):
        settings = Settings(database_url=database_url, warehouse_url=warehouse_url)
        await migrate(settings)
        database = await open_database(settings)
        cluster = Cluster(
            logs=tmp_path,
            environ={
                "WEIR_DATABASE_URL": database_url,
                "WEIR_WAREHOUSE_URL": warehouse_url,
                "WEIR_REDIS_URL": redis.url,
                "WEIR_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
                "WEIR_DATA_DIR": str(tmp_path / "data"),
                "WEIR_LOG_LEVEL": "WARNING",
            },
        )
        try:
            created = await initialise()
            assert created is not None
            admin, workspace_id = created.key.secret, created.workspace.id
            organization_id = created.organization.id
            doomed = await create_api_key(organization_id=organization_id, name="doomed")
            by_cli = await create_api_key(organization_id=organization_id, name="by cli")
            api_1 = cluster.start_api("api-1")
            api_2 = cluster.start_api("api-2")
            async with httpx.AsyncClient(timeout=5) as http:
                # API 2 knows the key: a socket, and a cached authentication.
                ws = await _socket(api_2, doomed.secret, workspace_id)
                warm = await http.post(
                    f"http://127.0.0.1:{api_2}/graphql",
                    json=VIEWER,
                    headers={"Authorization": f"Bearer {doomed.secret}"},
                )
                assert warm.status_code == 200, warm.text

                revoked_at = time.monotonic()
                response = await http.post(
                    f"http://127.0.0.1:{api_1}/graphql",
                    json={
                        "query": "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
                        "variables": {"id": doomed.api_key.id},
                    },
                    headers={"Authorization": f"Bearer {admin}"},
                )
                assert "errors" not in response.json(), response.text
                assert await _closed_code(ws, BOUND + 1) == 4403
                assert time.monotonic() - revoked_at < BOUND
                await _refused_within(http, api_2, doomed.secret, revoked_at)

                # The CLI, a process of its own, reaches the replicas through Redis too.
                sockets = [await _socket(port, by_cli.secret, workspace_id) for port in (api_1, api_2)]
                cli = cluster.start("cli", "keys", "revoke", by_cli.api_key.id)
                for ws in sockets:
                    assert await _closed_code(ws, BOUND + 5) == 4403
                # A process start (imports, database) comes first; the bus part is the rest.
                assert cli.wait(10) == 0, cluster.log_of("cli")
        finally:
            cluster.stop()
            await close_database(database)
            redis.stop()
