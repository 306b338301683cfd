"""Weir's own PostgreSQL restarts under real processes (API, worker, scheduler, Redis).

The metadata database is a PostgreSQL server of the test's own (``OwnPostgres``), stopped with a
fast shutdown (every connection is cut) and started again on the same port. The warehouse, and
the source of the second test, live on the machine's PostgreSQL, which stays up.

1. A 2-second restart in the middle of a run delays it by a few seconds: the run succeeds as
   attempt 1, with no error. The delay (against the same run without a restart) is printed and
   bounded generously (the issue's goal is ~10 s; the figure is in docs/faults-dbretry.md).
2. An outage longer than the stale threshold while a run waits on its source (a table locked
   by the test) never leaves two attempts loading: the attempt declared lost stops before its
   first batch, exactly one attempt succeeds, and the destination holds exactly the source.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

from server import retrying
from server.config import Settings
from server.db import close_database, migrate, open_database
from server.orgs.bootstrap import initialise
from server.syncs.models import EltSync, SyncRun
from server.syncs.namespaces import physical_schema
from tests.conftest import POSTGRES_URL, TEST_ENCRYPTION_KEYS, require_service
from tests.connectors.test_postgres_connector import url_credentials
from tests.scaleout.cluster import Cluster, OwnPostgres, OwnRedis
from tests.scaleout.test_scaleout import with_database

pytestmark = [pytest.mark.scaleout, pytest.mark.timeout(280)]

T = TypeVar("T")

CREATE_CONNECTION = """
mutation($w: ID!, $integration: String!, $auth: AuthType!, $props: JSON) {
  createConnection(input: {integrationName: $integration, authType: $auth, scope: WORKSPACE,
                           workspaceId: $w, props: $props}) { id }
}
"""
CREATE_SYNC = """
mutation($input: CreateEltSyncInput!) { createEltSync(input: $input) { id } }
"""
TRIGGER = """
mutation($id: ID!, $full: Boolean) { triggerSyncRun(syncId: $id, fullRefresh: $full) { id } }
"""
YEARLY = "0 0 1 1 *"
CONTACTS = 500_000  # a run of several seconds, so the restart lands in its middle
RESTART_SECONDS = 2.0
DELAY_BOUND_SECONDS = 20.0  # the goal is ~10 s; a generous margin for a loaded machine


@dataclass
class Weir:
    cluster: Cluster
    postgres: OwnPostgres
    http: httpx.AsyncClient
    workspace_id: str
    warehouse_url: str

    async def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        answer = (await self.http.post("/graphql", json={"query": query, "variables": variables})).json()
        assert "errors" not in answer, answer
        return dict(answer["data"])

    async def connection(self, integration: str, auth: str, props: dict[str, Any] | None = None) -> str:
        found = await self.graphql(
            CREATE_CONNECTION,
            {"w": self.workspace_id, "integration": integration, "auth": auth, "props": props},
        )
        return str(found["createConnection"]["id"])

    async def sync(self, connection_id: str, settings: dict[str, Any], stream: str) -> str:
        found = await self.graphql(
            CREATE_SYNC,
            {
                "input": {
                    "connectionId": connection_id,
                    "destinationSchemaName": f"dst_{uuid.uuid4().hex[:8]}",
                    "settings": settings,
                    "syncInterval": YEARLY,
                    "sourceStreams": [{"name": stream, "syncMode": "INCREMENTAL"}],
                }
            },
        )
        return str(found["createEltSync"]["id"])

    async def trigger(self, sync_id: str, *, full: bool = False) -> str:
        return str((await self.graphql(TRIGGER, {"id": sync_id, "full": full}))["triggerSyncRun"]["id"])

    def restart(self, seconds: float) -> None:
        self.postgres.stop()
        time.sleep(seconds)
        self.postgres.start()


async def riding(operation: Callable[[], Awaitable[T]]) -> T:
    """The test's own reads of the metadata database, across its restarts."""
    return await retrying.retry(operation, deadline_seconds=60, what="the test")


async def wait_for(check: Callable[[], Awaitable[bool]], seconds: float, what: str, weir: Weir) -> None:
    deadline = time.monotonic() + seconds
    while not await riding(check):
        for name, process in weir.cluster.processes.items():
            assert process.poll() is None, f"{name} exited:\n{weir.cluster.log_of(name)}"
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        await asyncio.sleep(0.1)


async def finished(run_id: str) -> bool:
    return (await SyncRun.get(id=run_id)).status in ("SUCCEEDED", "FAILED", "CANCELLED")


@pytest.fixture
async def weir(tmp_path: Path) -> AsyncIterator[Weir]:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    EXECUTOR_CACHE.clear()
    # Its own directory under /tmp: pytest's is private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="weir-faults-"))
    postgres = OwnPostgres(base)
    redis = OwnRedis(tmp_path)
    warehouse_name = f"weir_faults_wh_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
    await admin.execute(f'CREATE DATABASE "{warehouse_name}"')
    warehouse_url = with_database(POSTGRES_URL, warehouse_name)
    cluster: Cluster | None = None
    database = None
    try:
        postgres.create()
        redis.start()
        settings = Settings(database_url=postgres.url, warehouse_url=warehouse_url)
        await migrate(settings)
        database = await open_database(settings)
        created = await initialise()
        assert created is not None
        cluster = Cluster(
            logs=tmp_path,
            environ={
                "WEIR_DATABASE_URL": postgres.url,
                "WEIR_WAREHOUSE_URL": warehouse_url,
                "WEIR_REDIS_URL": redis.url,
                "WEIR_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
                "WEIR_DATA_DIR": str(tmp_path / "data"),
                "WEIR_LOG_LEVEL": "WARNING",
                "WEIR_SCHEDULER_INTERVAL_SECONDS": "0.5",
                "WEIR_RUN_HEARTBEAT_SECONDS": "1",
                "WEIR_RUN_STALE_SECONDS": "3",
                "WEIR_QUEUE_RECONCILE_SECONDS": "3",
                "WEIR_WORKER_SHUTDOWN_SECONDS": "2",
            },
        )
        port = cluster.start_api("api")
        cluster.start("worker", "worker", "--threads", "2")
        cluster.start("scheduler", "scheduler")
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {created.key.secret}"},
            timeout=30,
        ) as http:
            yield Weir(cluster, postgres, http, created.workspace.id, warehouse_url)
    finally:
        if cluster is not None:
            cluster.stop()
        redis.stop()
        if database is not None:
            try:
                await close_database(database)
            except Exception:  # noqa: BLE001 -- its server may be the one the test stopped
                pass
        postgres.destroy()
        shutil.rmtree(base, ignore_errors=True)
        await admin.execute(f'DROP DATABASE IF EXISTS "{warehouse_name}" WITH (FORCE)')
        await admin.close()


async def run_seconds(run_id: str) -> float:
    run = await SyncRun.get(id=run_id)
    assert run.started_at is not None and run.finished_at is not None
    return (run.finished_at - run.started_at).total_seconds()


async def test_a_two_second_restart_of_the_database_delays_a_run_by_a_few_seconds(weir: Weir) -> None:
    connection_id = await weir.connection("demo", "NONE")
    sync_id = await weir.sync(connection_id, {"contacts": CONTACTS, "batch_size": 1000}, "contacts")
    first = await weir.trigger(sync_id)
    await wait_for(lambda: finished(first), 120, "the first load", weir)
    baseline_id = await weir.trigger(sync_id, full=True)
    await wait_for(lambda: finished(baseline_id), 120, "the baseline full refresh", weir)
    baseline = await run_seconds(baseline_id)
    assert (await SyncRun.get(id=baseline_id)).status == "SUCCEEDED"

    faulted_id = await weir.trigger(sync_id, full=True)

    async def loading() -> bool:
        stats = (await SyncRun.get(id=faulted_id)).stream_stats or {}
        return int(stats.get("contacts", {}).get("rowsLoaded", 0)) > 0

    await wait_for(loading, 60, "the run to load its first rows", weir)
    stopped = time.time()
    await asyncio.to_thread(weir.restart, RESTART_SECONDS)
    await wait_for(lambda: finished(faulted_id), 120, "the run after the restart", weir)

    run = await riding(lambda: SyncRun.get(id=faulted_id))
    assert (run.status, run.error, run.attempt) == ("SUCCEEDED", None, 1), weir.cluster.log_of("worker")
    assert run.stream_stats["contacts"]["rowsLoaded"] == CONTACTS
    assert await SyncRun.filter(sync_id=sync_id).count() == 3  # no retry was needed
    assert run.finished_at is not None and run.finished_at.timestamp() > stopped + RESTART_SECONDS
    delay = await run_seconds(faulted_id) - baseline
    print(f"\nbaseline {baseline:.1f} s; with a {RESTART_SECONDS:.0f} s restart: delayed by {delay:.1f} s")
    assert delay < DELAY_BOUND_SECONDS


@pytest.fixture
async def locked_source() -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """A source table of 3000 rows on the machine's PostgreSQL, and a connection to lock it."""
    schema = f"src_{uuid.uuid4().hex[:10]}"
    db = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
    await db.execute(f"CREATE SCHEMA {schema}")
    await db.execute(f"CREATE TABLE {schema}.items (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL)")
    await db.execute(
        f"INSERT INTO {schema}.items SELECT n, timestamptz '2024-01-01' + n * interval '1 minute' "
        "FROM generate_series(1, 3000) AS n"
    )
    try:
        yield db, schema
    finally:
        await db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await db.close()


async def test_an_outage_past_the_stale_threshold_while_a_run_waits_never_leaves_two_attempts(
    weir: Weir, locked_source: tuple[asyncpg.Connection, str]
) -> None:
    db, schema = locked_source
    connection_id = await weir.connection("postgres", "CUSTOM_AUTH", url_credentials(POSTGRES_URL))
    sync_id = await weir.sync(
        connection_id, {"schema": schema, "tables": ["items"], "batch_size": 500}, "items"
    )
    schema_name = physical_schema(await EltSync.get(id=sync_id), shared=True)
    # The destination table made ahead, with a trigger noting which connection (one per
    # attempt) writes to it: exactly one attempt may ever write.
    warehouse = await asyncpg.connect(weir.warehouse_url.replace("postgres://", "postgresql://", 1))
    await warehouse.execute(f'CREATE SCHEMA "{schema_name}"')
    await warehouse.execute(
        f'CREATE TABLE "{schema_name}".items (id bigint PRIMARY KEY, updated_at timestamptz, '
        "_weir_synced_at timestamptz NOT NULL DEFAULT now())"
    )
    await warehouse.execute("CREATE TABLE public.writers (pid int NOT NULL)")
    await warehouse.execute(
        "CREATE FUNCTION public.note_writer() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN INSERT INTO public.writers VALUES (pg_backend_pid()); RETURN NULL; END $$"
    )
    await warehouse.execute(
        f'CREATE TRIGGER note_writer AFTER INSERT OR UPDATE ON "{schema_name}".items '
        "FOR EACH STATEMENT EXECUTE FUNCTION public.note_writer()"
    )

    locking = db.transaction()
    await locking.start()
    await db.execute(f"LOCK TABLE {schema}.items IN ACCESS EXCLUSIVE MODE")
    first = await weir.trigger(sync_id)

    async def running() -> bool:
        return (await SyncRun.get(id=first)).status == "RUNNING"

    await wait_for(running, 60, "the run to start", weir)
    await asyncio.sleep(1)  # it waits on the locked table
    # Longer than the stale threshold (3 s): no heartbeat reaches the database meanwhile.
    await asyncio.to_thread(weir.restart, 6)
    back = time.time()

    async def settled() -> bool:
        # Either the first attempt's heartbeat came back first, or the scan declared it lost.
        run = await SyncRun.get(id=first)
        if run.status == "RUNNING":
            return bool(run.heartbeat_at and (time.time() - run.heartbeat_at.timestamp()) < 2)
        return await SyncRun.filter(sync_id=sync_id, attempt=2, status="RUNNING").exists()

    await wait_for(settled, 60, "the run to be resumed or taken over", weir)
    await asyncio.sleep(1)
    await locking.commit()  # the source answers both attempts now

    async def nothing_active() -> bool:
        return not await SyncRun.filter(sync_id=sync_id, status__in=("QUEUED", "RUNNING")).exists()

    await wait_for(nothing_active, 120, "every attempt to end", weir)
    runs = await riding(lambda: SyncRun.filter(sync_id=sync_id).order_by("attempt"))
    summary = [(r.attempt, r.status, r.error) for r in runs]
    assert [r.status for r in runs].count("SUCCEEDED") == 1, summary
    worker_log = weir.cluster.log_of("worker")
    if len(runs) > 1:
        lost = runs[0]
        assert (lost.status, lost.error) == ("FAILED", "worker lost: the run sent no heartbeat for 3 s"), (
            summary
        )
        assert f"sync run {lost.id} stops: " in worker_log, worker_log
        # It stopped before its first batch: no stream of it failed on a write.
        assert f"stream items of sync {sync_id} failed" not in worker_log, worker_log
    resumed = runs[-1].started_at if len(runs) > 1 else runs[0].heartbeat_at
    assert resumed is not None
    print(
        f"\nattempts: {summary}; going again {resumed.timestamp() - back:.1f} s after the database was back"
    )

    try:
        row = await warehouse.fetchrow(
            f'SELECT count(*) AS n, count(DISTINCT id) AS d FROM "{schema_name}"."items"'
        )
        writers = await warehouse.fetchval("SELECT count(DISTINCT pid) FROM public.writers")
        leftovers = await warehouse.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'items__weir_new%'"
        )
    finally:
        await warehouse.close()
    assert (row["n"], row["d"]) == (3000, 3000)
    assert writers == 1  # one attempt loaded; the other never wrote a batch
    assert not leftovers
