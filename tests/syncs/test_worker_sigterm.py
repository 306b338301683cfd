"""A `weir worker` stopped with SIGTERM: it waits WEIR_WORKER_SHUTDOWN_SECONDS for its run, then
interrupts it; the run is recorded FAILED and its retry is queued at once, the process exits 0,
quietly: no ERROR traceback, and no Dramatiq retry of the message (it would find nothing to do)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from server.scope import Scope
from server.syncs import queue, schedule
from server.syncs.models import SyncRun
from server.syncs.runner import RunEnvironment
from server.syncs.service import StreamChoice
from tests.conftest import REDIS_URL, TEST_ENCRYPTION_KEYS, require_service
from tests.syncs.conftest import make_sync
from tests.syncs.test_worker_killed import ROOT, rows_in_destination

TEST_REDIS_DB = 13
GRACE_SECONDS = 1


def start_worker(env: RunEnvironment, redis_url: str) -> subprocess.Popen[bytes]:
    settings = env.settings
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "worker", "--threads", "1"],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "WEIR_DATABASE_URL": settings.database_url or "",
            "WEIR_WAREHOUSE_URL": settings.effective_warehouse_url,
            "WEIR_REDIS_URL": redis_url,
            "WEIR_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
            "WEIR_DATA_DIR": str(settings.data_dir),
            "WEIR_LOG_LEVEL": "WARNING",
            "PYTHONFAULTHANDLER": "1",
            "WEIR_WORKER_SHUTDOWN_SECONDS": str(GRACE_SECONDS),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_sigterm_interrupts_a_long_run_after_the_grace_and_queues_its_retry(
    env: RunEnvironment, scope: Scope
) -> None:
    require_service("Redis", REDIS_URL, 6379, "WEIR_TEST_REDIS_URL")
    redis_url = REDIS_URL.rsplit("/", 1)[0] + f"/{TEST_REDIS_DB}"
    sender = RedisBroker(url=redis_url, namespace=queue.REDIS_NAMESPACE, middleware=[])
    sender.client.flushdb()
    sync = await make_sync(
        env,
        scope,
        settings={"contacts": 300_000, "batch_size": 1000},
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
        while await rows_in_destination(env, sync) < 5_000:
            assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
            assert time.monotonic() < deadline, "the worker never started loading"
            await asyncio.sleep(0.05)
        stopped_at = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(30)
        output = worker.stderr.read().decode() if worker.stderr else ""
        assert code == 0, output[-9000:]
        assert time.monotonic() - stopped_at < GRACE_SECONDS + 15
        assert "Traceback" not in output and "ERROR" not in output, output[-9000:]
        assert "interrupting 1 run(s) still going at shutdown" in output
        # The message was acknowledged, not retried; the next attempt's was sent right away.
        waiting = {
            str(dramatiq.Message.decode(body).args[0])
            for name in (queue.QUEUE_NAME, f"{queue.QUEUE_NAME}.DQ")
            for body in sender.client.hvals(f"{queue.REDIS_NAMESPACE}:{name}.msgs")
        }
        retry = await SyncRun.get_or_none(sync_id=sync.id, attempt=2)
        assert retry is not None, output[-9000:]
        assert waiting == {retry.id}
        assert sender.client.hlen(f"{queue.REDIS_NAMESPACE}:{queue.QUEUE_NAME}.msgs") == 1
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        sender.client.flushdb()
        sender.close()

    interrupted = await SyncRun.get(id=run.id)
    assert interrupted.status == "FAILED"
    assert "worker stopped" in (interrupted.error or "")
    retry = await SyncRun.get(sync_id=sync.id, attempt=2)
    assert (retry.trigger, retry.status) == ("RETRY", "QUEUED")
