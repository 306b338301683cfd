"""A run triggered while Redis is down is returned, and runs once Redis is back (issue 16,
item 5).

Real processes: ``weir serve`` and ``weir scheduler`` on PostgreSQL and a redis-server of the
test's own. With Redis stopped, ``triggerSyncRun`` commits the run and returns it QUEUED (the
Dramatiq message and the status event are lost, and logged). Redis comes back empty; the
scheduler's queue reconciler resends the run and a worker started then runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx

from tests.conftest import POSTGRES_URL, TEST_ENCRYPTION_KEYS, require_service
from tests.faults.shared import RUN, TRIGGER, graphql, seeded_database
from tests.scaleout.cluster import Cluster, OwnRedis

RECONCILE_SECONDS = 2
RUN_BOUND_SECONDS = 60  # generous: the reconciler resends within seconds, the run takes ~1 s


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    name = f"weir_fault_redis_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_trigger_with_redis_stopped_returns_the_run_and_it_runs_when_redis_returns(
    tmp_path: Path,
) -> None:
    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    redis = OwnRedis(tmp_path)
    redis.start()
    async with fresh_database() as database_url:
        settings, secret, [sync_id] = await seeded_database(tmp_path, database_url, 1)
        cluster = Cluster(
            logs=tmp_path,
            environ={
                "WEIR_DATABASE_URL": database_url,
                "WEIR_WAREHOUSE_URL": settings.effective_warehouse_url,
                "WEIR_REDIS_URL": redis.url,
                "WEIR_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
                "WEIR_DATA_DIR": str(tmp_path / "data"),
                "WEIR_LOG_LEVEL": "WARNING",
                "WEIR_SCHEDULER_INTERVAL_SECONDS": "0.5",
                "WEIR_QUEUE_RECONCILE_SECONDS": str(RECONCILE_SECONDS),
            },
        )
        try:
            port = cluster.start_api("serve")
            cluster.start("scheduler", "scheduler")
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {secret}"}, timeout=30
            ) as http:
                redis.stop()

                response, body = await graphql(http, TRIGGER, {"syncId": sync_id})
                assert response.status_code == 200 and "errors" not in body, body
                run = body["data"]["triggerSyncRun"]
                assert run["status"] == "QUEUED"
                # Committed: a second trigger finds it.
                _, again = await graphql(http, TRIGGER, {"syncId": sync_id})
                assert again["errors"][0]["extensions"]["code"] == "CONFLICT", again

                redis.start()  # the same port, empty: the message is gone for good
                cluster.start("worker", "worker", "--threads", "1")
                deadline = time.monotonic() + RUN_BOUND_SECONDS
                while True:
                    _, body = await graphql(http, RUN, {"id": run["id"]})
                    status = body["data"]["syncRun"]["status"]
                    if status not in ("QUEUED", "RUNNING"):
                        break
                    assert time.monotonic() < deadline, (
                        f"run still {status} after {RUN_BOUND_SECONDS} s:\n{cluster.log_of('scheduler')}"
                    )
                    await asyncio.sleep(0.2)
                assert status == "SUCCEEDED", body
            serve_log = cluster.log_of("serve")
            assert f"run {run['id']} is queued but its message was not sent" in serve_log
            assert "unexpected error" not in serve_log
            assert "resent 1 queued run(s)" in cluster.log_of("scheduler")
        finally:
            cluster.stop()
            redis.stop()
