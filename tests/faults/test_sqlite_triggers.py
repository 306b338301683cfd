"""The embedded default never fails a trigger with "database is locked" (issue 16, item 5).

A real ``weir serve`` on SQLite, its embedded worker running the runs (so a second SQLite
connection writes all the time), and rounds of 20 concurrent ``triggerSyncRun`` over HTTP: each
answer is a run or ``CONFLICT``, never ``INTERNAL``.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest

from server.db import close_database, open_database
from server.scope import Scope
from server.syncs import runs
from server.syncs.models import SyncRun
from server.syncs.runner import RunEnvironment
from server.syncs.service import StreamChoice
from tests.conftest import TEST_ENCRYPTION_KEYS
from tests.faults.shared import TRIGGER, graphql, seeded_database
from tests.scaleout.cluster import Cluster
from tests.syncs.conftest import env, make_sync, scope  # noqa: F401 -- fixtures

CONCURRENT = 20
ROUNDS = 10
CONTACTS = [StreamChoice(name="contacts", sync_mode="INCREMENTAL")]


def outcome(body: dict[str, object]) -> str:
    errors = body.get("errors")
    if errors:
        return str(errors[0]["extensions"]["code"])  # type: ignore[index]
    return str(body["data"]["triggerSyncRun"]["status"])  # type: ignore[index]


async def test_concurrent_triggers_on_sqlite_are_runs_or_conflicts(tmp_path: Path) -> None:

    database_url = f"sqlite://{tmp_path / 'weir.db'}"
    settings, secret, sync_ids = await seeded_database(tmp_path, database_url, CONCURRENT, contacts=3000)
    cluster = Cluster(
        logs=tmp_path,
        environ={
            "WEIR_DATABASE_URL": database_url,
            "WEIR_WAREHOUSE_URL": settings.effective_warehouse_url,
            "WEIR_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
            "WEIR_DATA_DIR": str(tmp_path / "data"),
            "WEIR_LOG_LEVEL": "WARNING",
        },
    )
    seen: Counter[str] = Counter()
    try:
        port = cluster.start_api("serve")
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {secret}"}, timeout=60
        ) as http:
            for round_ in range(ROUNDS):
                # Even rounds: one trigger per sync; odd rounds: all 20 on the same sync.
                targets = sync_ids if round_ % 2 == 0 else [sync_ids[round_ % CONCURRENT]] * CONCURRENT
                answers = await asyncio.gather(
                    *(graphql(http, TRIGGER, {"syncId": sync_id}) for sync_id in targets)
                )
                outcomes = [outcome(body) for _, body in answers]
                seen.update(outcomes)
                assert set(outcomes) <= {"QUEUED", "CONFLICT"}, (
                    [body for _, body in answers],
                    cluster.log_of("serve"),
                )
                if round_ % 2 == 1:
                    # Of 20 triggers of one idle sync, at most one makes a run.
                    assert outcomes.count("QUEUED") <= 1, outcomes
                await asyncio.sleep(0.05)
    finally:
        cluster.stop()
    assert seen["QUEUED"] >= CONCURRENT, seen
    assert "database is locked" not in cluster.log_of("serve")
    database = await open_database(settings)
    try:
        assert await SyncRun.filter(trigger="MANUAL").count() == seen["QUEUED"]
    finally:
        await close_database(database)


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: the lock is SQLite's (Postgres serialises triggers on the sync's row)."""
    path = tmp_path / "weir.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite://{path}"


async def test_a_trigger_waits_for_a_write_of_another_connection_instead_of_failing(
    env: RunEnvironment,  # noqa: F811
    scope: Scope,  # noqa: F811
) -> None:
    """Another connection (the embedded worker's) holds the write lock and commits while the
    trigger's transaction would be between its read and its write: the trigger waits and
    succeeds (with a deferred BEGIN, SQLite refused it at once: "database is locked")."""
    sync = await make_sync(env, scope, settings={"contacts": 5}, streams=CONTACTS)
    path = env.settings.effective_database_url.removeprefix("sqlite://")
    locked, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        other = sqlite3.connect(path, isolation_level=None, timeout=15)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE elt_syncs SET updated_at = updated_at WHERE id = ?", (sync.id,))
            locked.set()
            release.wait(10)
            other.execute("COMMIT")
        finally:
            other.close()

    writer = asyncio.create_task(asyncio.to_thread(other_writer))
    await asyncio.to_thread(locked.wait, 10)
    asyncio.get_running_loop().call_later(0.3, release.set)
    run = await runs.trigger_run(
        scope=scope, settings=env.settings, bus=None, sync_id=sync.id, full_refresh=False
    )
    await writer

    assert run.status == "QUEUED"
    assert await SyncRun.filter(sync_id=sync.id).count() == 1
