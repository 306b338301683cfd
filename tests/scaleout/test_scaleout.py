"""Weir as several real processes on Postgres and Redis: 2 API replicas, 2 workers, 2 schedulers.

Phase 1: 50 demo syncs are all due at once; each is run exactly once by the schedulers, the
destination holds exactly the source, and a subscriber on API 1 sees the runs triggered through
API 2. Phase 2: ten full-refresh runs; one worker is SIGKILLed mid-run and Redis (the test's own
redis-server, without persistence) is stopped for a few seconds, losing every queued message.
Every run still ends exactly once and nothing is duplicated or lost: the scheduler recovers the
dead worker's runs by their missing heartbeat and resends the queued runs that lost their message.

The syncs' cron is yearly and the test moves ``next_run_at`` to now, so "due" is exact and no
second slot comes up while the test runs (a test clock cannot cross process boundaries).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from server import ids
from server.config import Settings
from server.connections.models import Connection
from server.crypto import load_key_ring
from server.db import close_database, migrate, open_database
from server.orgs.bootstrap import initialise
from server.scope import Scope
from server.syncs import service
from server.syncs.models import EltSync, SyncRun
from server.syncs.service import StreamChoice, SyncChanges
from tests.conftest import POSTGRES_URL, TEST_ENCRYPTION_KEYS, require_service
from tests.graphql_ws import GraphQLWebSocket
from tests.scaleout.cluster import Cluster, OwnRedis

pytestmark = pytest.mark.scaleout

SYNCS = 50
BIG = 10  # the first BIG syncs are large enough to be killed mid-run
SMALL_CONTACTS = 200
BIG_CONTACTS = 40_000
YEARLY = "0 0 1 1 *"

TRIGGER = """
mutation Trigger($syncId: ID!, $full: Boolean!) {
  triggerSyncRun(syncId: $syncId, fullRefresh: $full) { id status }
}
"""
RUNS_OF_WORKSPACE = """
subscription Runs($workspaceId: ID!) {
  syncRunUpdated(workspaceId: $workspaceId) { id syncId status trigger }
}
"""


def sizes(contacts: int) -> dict[str, int]:
    return {
        "contacts": contacts,
        "companies": max(contacts // 10, 1),
        "deals": max(contacts * 3 // 10, 1),
        "batch_size": 500,
    }


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@contextlib.asynccontextmanager
async def fresh_databases() -> AsyncIterator[tuple[str, str]]:
    """A migrated Weir database and an empty warehouse database, dropped at the end."""
    suffix = uuid.uuid4().hex[:8]
    names = (f"weir_scaleout_{suffix}", f"weir_scaleout_wh_{suffix}")
    admin_url = POSTGRES_URL.replace("postgres://", "postgresql://", 1)
    admin = await asyncpg.connect(admin_url)
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(POSTGRES_URL, names[0]), with_database(POSTGRES_URL, names[1])
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def seed(settings: Settings) -> tuple[str, str, list[str]]:
    """The first tenant, a demo connection and SYNCS enabled syncs, all due now."""
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
    for index in range(SYNCS):
        contacts = BIG_CONTACTS if index < BIG else SMALL_CONTACTS
        sync = await service.create_sync(
            scope=scope,
            settings=settings,
            key_ring=load_key_ring(settings),
            bus=None,
            connection_id=connection.id,
            changes=SyncChanges(
                destination_schema=f"wh_{index:02d}", settings=sizes(contacts), sync_interval=YEARLY
            ),
            streams=[
                StreamChoice(name=name, sync_mode="INCREMENTAL")
                for name in ("contacts", "companies", "deals")
            ],
        )
        await service.set_enabled(scope=scope, bus=None, sync_id=sync.id, enabled=True)
        sync_ids.append(sync.id)
    await EltSync.filter(id__in=sync_ids).update(next_run_at=datetime.now(UTC))
    return created.key.secret, created.workspace.id, sync_ids


async def wait_until(check: Any, seconds: float, what: str, cluster: Cluster) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        for name, process in cluster.processes.items():
            if process.poll() is not None and not name.startswith("worker-killed"):
                raise AssertionError(f"{name} exited:\n{cluster.log_of(name)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(0.2)


async def nothing_active() -> bool:
    return not await SyncRun.filter(status__in=("QUEUED", "RUNNING")).exists()


async def warehouse_counts(url: str, name: str) -> dict[str, tuple[int, int]]:
    # The shared warehouse holds the sync's tables in its workspace's namespace.
    schema = (await EltSync.get(destination_schema=name)).warehouse_schema
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        found = {}
        for table in ("contacts", "companies", "deals"):
            row = await connection.fetchrow(
                f'SELECT count(*) AS n, count(DISTINCT id) AS d FROM "{schema}"."{table}"'
            )
            found[table] = (row["n"], row["d"])
        return found
    finally:
        await connection.close()


def expected_counts(contacts: int) -> dict[str, tuple[int, int]]:
    wanted = sizes(contacts)
    return {table: (wanted[table], wanted[table]) for table in ("contacts", "companies", "deals")}


class Listener:
    """A syncRunUpdated subscription on one API process, recording every (run, status) seen."""

    def __init__(self, socket: GraphQLWebSocket) -> None:
        self.socket = socket
        self.seen: list[tuple[str, str, float]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            message = json.loads(await self.socket.socket.recv())
            if message.get("type") == "next":
                run = message["payload"]["data"]["syncRunUpdated"]
                self.seen.append((run["id"], run["status"], time.time()))

    def statuses(self, run_id: str) -> set[str]:
        return {status for seen_id, status, _ in self.seen if seen_id == run_id}

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task
        await self.socket.close()


async def test_six_processes_run_every_due_sync_once_and_survive_a_dead_worker_and_redis(
    tmp_path: Path,
) -> None:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    # Compiled INSERTs are cached per connection name across contexts (see tests/conftest.py).
    EXECUTOR_CACHE.clear()
    redis = OwnRedis(tmp_path)
    redis.start()
    async with fresh_databases() as (database_url, warehouse_url):
        settings = Settings(
            database_url=database_url,
            warehouse_url=warehouse_url,
            encryption_keys=Settings.from_env({"WEIR_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS}).encryption_keys,
            min_sync_interval_seconds=0,
        )
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
                "WEIR_MIN_SYNC_INTERVAL_SECONDS": "0",
                "WEIR_SCHEDULER_INTERVAL_SECONDS": "0.5",
                "WEIR_RUN_HEARTBEAT_SECONDS": "1",
                "WEIR_RUN_STALE_SECONDS": "6",
                "WEIR_QUEUE_RECONCILE_SECONDS": "3",
                "WEIR_WORKER_SHUTDOWN_SECONDS": "5",
            },
        )
        listener: Listener | None = None
        try:
            secret, workspace_id, sync_ids = await seed(settings)
            api_1 = cluster.start_api("api-1")
            api_2 = cluster.start_api("api-2")
            socket = await GraphQLWebSocket.connect(f"127.0.0.1:{api_1}", f"Bearer {secret}")
            assert (await socket.acknowledged())["type"] == "connection_ack"
            await socket.subscribe(RUNS_OF_WORKSPACE, {"workspaceId": workspace_id})
            listener = Listener(socket)
            await asyncio.sleep(0.5)  # the subscription is registered before anything runs
            for name in ("worker-1", "worker-2"):
                cluster.start(name, "worker", "--threads", "2")
            for name in ("scheduler-1", "scheduler-2"):
                cluster.start(name, "scheduler")

            # -- phase 1: every due sync runs exactly once ----------------------------------
            async def all_scheduled_done() -> bool:
                done = await SyncRun.filter(trigger="SCHEDULE", status="SUCCEEDED").count()
                return done >= SYNCS and await nothing_active()

            await wait_until(all_scheduled_done, 90, "the 50 scheduled runs", cluster)
            runs = await SyncRun.all()
            assert len(runs) == SYNCS, [(r.sync_id, r.trigger, r.status, r.error) for r in runs]
            assert sorted(r.sync_id for r in runs) == sorted(sync_ids)
            assert {(r.trigger, r.status, r.attempt) for r in runs} == {("SCHEDULE", "SUCCEEDED", 1)}
            for index in (0, BIG, SYNCS - 1):
                contacts = BIG_CONTACTS if index < BIG else SMALL_CONTACTS
                assert await warehouse_counts(warehouse_url, f"wh_{index:02d}") == expected_counts(contacts)

            # Runs triggered through API 2 reach the subscriber on API 1.
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{api_2}", headers={"Authorization": f"Bearer {secret}"}
            ) as http:
                manual = []
                for sync_id in sync_ids[BIG : BIG + 5]:
                    answer = (
                        await http.post(
                            "/graphql",
                            json={"query": TRIGGER, "variables": {"syncId": sync_id, "full": False}},
                        )
                    ).json()
                    manual.append(answer["data"]["triggerSyncRun"]["id"])

                async def manual_seen() -> bool:
                    return all("SUCCEEDED" in listener.statuses(run_id) for run_id in manual)

                await wait_until(manual_seen, 30, "API 1's subscriber to see API 2's runs", cluster)
                for run_id in manual:
                    assert {"QUEUED", "RUNNING", "SUCCEEDED"} <= listener.statuses(run_id)

                # -- phase 2: a worker dies mid-run and Redis restarts empty ----------------
                started = datetime.now(UTC)
                for sync_id in sync_ids[:BIG]:
                    answer = (
                        await http.post(
                            "/graphql",
                            json={"query": TRIGGER, "variables": {"syncId": sync_id, "full": True}},
                        )
                    ).json()
                    assert "errors" not in answer, answer

            async def loading() -> bool:
                # Each worker runs two at a time: with three going, worker-1 holds one or two.
                return await SyncRun.filter(status="RUNNING", queued_at__gte=started).count() >= 3

            await wait_until(loading, 30, "three full refreshes to be running", cluster)
            cluster.kill("worker-1")
            cluster.processes["worker-killed-1"] = cluster.processes.pop("worker-1")
            redis.stop()
            await asyncio.sleep(3)
            redis.start()
            restarted = time.time()
            cluster.start("worker-3", "worker", "--threads", "2")
            await wait_until(nothing_active, 120, "every run to end after the failures", cluster)

            after = await SyncRun.filter(queued_at__gte=started).order_by("queued_at")
            lost = [run for run in after if run.status == "FAILED"]
            assert lost, "the killed worker had no run in progress"
            assert all("worker lost" in (run.error or "") for run in lost), [run.error for run in lost]
            for sync_id in sync_ids[:BIG]:
                of_sync = [run for run in after if run.sync_id == sync_id]
                assert [run.status for run in of_sync].count("SUCCEEDED") == 1, [
                    (run.trigger, run.status, run.error) for run in of_sync
                ]
                assert {run.status for run in of_sync} <= {"SUCCEEDED", "FAILED"}
            for index in range(BIG):
                assert await warehouse_counts(warehouse_url, f"wh_{index:02d}") == expected_counts(
                    BIG_CONTACTS
                )
            # Nothing else ran: the other syncs still have their one scheduled run (+ manual).
            assert await SyncRun.filter(sync_id__in=sync_ids[BIG:]).count() == SYNCS - BIG + 5

            # Once Redis is back the subscriber on API 1 follows runs again.
            late = [
                run
                for run in after
                if run.status == "SUCCEEDED"
                and run.finished_at is not None
                and run.finished_at.timestamp() > restarted + 2
            ]
            for run in late:
                assert "SUCCEEDED" in listener.statuses(run.id), run.id

            # Every process stops by itself on SIGTERM, within the grace (uvicorn re-raises the
            # signal once it has shut down, hence -SIGTERM for the API processes).
            for name in ("scheduler-1", "scheduler-2", "worker-2", "worker-3"):
                assert cluster.terminate(name) == 0, cluster.log_of(name)
            await listener.close()
            listener = None
            for name in ("api-1", "api-2"):
                assert cluster.terminate(name) in (0, -signal.SIGTERM), cluster.log_of(name)
        finally:
            if listener is not None:
                await listener.close()
            cluster.stop()
            redis.stop()
            await close_database(database)
