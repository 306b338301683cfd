"""A `weir worker` process killed with SIGKILL mid-run; the re-run ends with exactly the source."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from server.destinations.base import build_destination
from server.scope import Scope
from server.syncs import queue, schedule
from server.syncs.models import SyncRun
from server.syncs.runner import RunEnvironment, execute_run
from server.syncs.service import StreamChoice
from tests.conftest import REDIS_URL, TEST_ENCRYPTION_KEYS, require_service
from tests.syncs.conftest import make_sync

ROOT = Path(__file__).resolve().parents[2]
CONTACTS = 200_000
# A Redis database of its own, so no other worker consumes (or leaves) these messages.
TEST_REDIS_DB = 11


def redis_url_for_test() -> str:
    return REDIS_URL.rsplit("/", 1)[0] + f"/{TEST_REDIS_DB}"


async def rows_in_destination(env: RunEnvironment, sync: Any) -> int:
    destination = build_destination(env.settings.effective_warehouse_url)
    await destination.open()
    try:
        return await destination.count(sync.warehouse_schema, "contacts")
    except Exception:
        return 0  # the table does not exist yet
    finally:
        await destination.close()


def start_worker(env: RunEnvironment, redis_url: str) -> subprocess.Popen[bytes]:
    settings = env.settings
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WEIR_DATABASE_URL": settings.database_url or "",
        "WEIR_WAREHOUSE_URL": settings.effective_warehouse_url,
        "WEIR_REDIS_URL": redis_url,
        "WEIR_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
        "WEIR_DATA_DIR": str(settings.data_dir),
        "WEIR_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "worker", "--threads", "1"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_a_run_killed_with_its_worker_then_rerun_loads_exactly_the_source(
    env: RunEnvironment, scope: Scope
) -> None:
    require_service("Redis", REDIS_URL, 6379, "WEIR_TEST_REDIS_URL")
    redis_url = redis_url_for_test()
    sender = RedisBroker(url=redis_url, namespace=queue.REDIS_NAMESPACE, middleware=[])
    sender.client.flushdb()
    sync = await make_sync(
        env,
        scope,
        settings={"contacts": CONTACTS, "batch_size": 2000},
        streams=[StreamChoice(name="contacts", sync_mode="INCREMENTAL")],
    )
    run = await schedule.create_run(sync=sync, trigger="MANUAL")
    worker = start_worker(env, redis_url)
    try:
        sender.enqueue(
            dramatiq.Message(
                queue_name=queue.QUEUE_NAME,
                actor_name=queue.ACTOR_NAME,
                args=(run.id,),
                kwargs={},
                options={},
            )
        )
        deadline = time.monotonic() + 60
        while await rows_in_destination(env, sync) < 10_000:
            assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
            assert time.monotonic() < deadline, "the worker never started loading"
            await asyncio.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        sender.client.flushdb()
        sender.close()

    killed = await SyncRun.get(id=run.id)
    assert killed.status == "RUNNING"  # nobody was left to record its end
    partial = await rows_in_destination(env, sync)
    assert 0 < partial < CONTACTS

    recovered = await schedule.recover_stale_runs(settings=env.settings, bus=env.bus, stale_after_seconds=0)
    assert [r.id for r in recovered] == [run.id]
    retry = await SyncRun.get(sync_id=sync.id, attempt=2)
    assert await execute_run(env=env, run_id=retry.id) == "SUCCEEDED"

    destination = build_destination(env.settings.effective_warehouse_url)
    await destination.open()
    try:
        rows: Any = await destination.fetch(sync.warehouse_schema, "contacts")
    finally:
        await destination.close()
    assert len(rows) == CONTACTS
    assert {row["id"] for row in rows} == set(range(1, CONTACTS + 1))
