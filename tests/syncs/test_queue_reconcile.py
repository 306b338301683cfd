"""The reconciler resends QUEUED runs whose Redis message is gone, and only those."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest

from server.scope import Scope
from server.syncs import queue, schedule
from server.syncs.models import SyncRun
from server.syncs.runner import RunEnvironment, execute_run
from server.syncs.service import StreamChoice
from server.syncs.transitions import utcnow
from tests.conftest import REDIS_URL, require_service
from tests.syncs.conftest import make_sync

# A Redis database of its own, so no worker of another test consumes these messages.
TEST_REDIS_DB = 12


@pytest.fixture
def redis_queue(env: RunEnvironment) -> Iterator[None]:
    require_service("Redis", REDIS_URL, 6379, "WEIR_TEST_REDIS_URL")
    previous = queue.current_broker()
    broker = queue.use_redis(REDIS_URL.rsplit("/", 1)[0] + f"/{TEST_REDIS_DB}")
    broker.client.flushdb()
    try:
        yield
    finally:
        broker.client.flushdb()
        broker.close()
        queue.use_broker(previous)


async def test_queued_runs_without_a_message_are_resent_once(
    env: RunEnvironment, scope: Scope, redis_queue: None
) -> None:
    streams = [StreamChoice(name="contacts", sync_mode="INCREMENTAL")]
    lost_sync = await make_sync(env, scope, settings={"contacts": 5}, streams=streams, schema="lost")
    sent_sync = await make_sync(env, scope, settings={"contacts": 5}, streams=streams, schema="sent")
    lost = await schedule.create_run(sync=lost_sync, trigger="SCHEDULE")
    sent = await schedule.create_run(sync=sent_sync, trigger="SCHEDULE")
    queue.enqueue_run(sent.id)
    long_ago = utcnow() - timedelta(seconds=env.settings.queue_reconcile_seconds + 1)
    await SyncRun.filter(id__in=[lost.id, sent.id]).update(queued_at=long_ago)
    fresh = await schedule.create_run(sync=lost_sync, trigger="MANUAL")  # may still be sending

    assert await schedule.reconcile_queue(settings=env.settings) == [lost.id]
    assert queue.runs_with_messages() == {lost.id, sent.id}
    assert await schedule.reconcile_queue(settings=env.settings) == []
    assert fresh.id not in queue.runs_with_messages()

    # Two messages for one run still execute it once: the second finds it no longer QUEUED.
    queue.enqueue_run(lost.id)
    assert await execute_run(env=env, run_id=lost.id) == "SUCCEEDED"
    assert await execute_run(env=env, run_id=lost.id) is None


async def test_two_schedulers_never_resend_the_same_runs_twice(
    env: RunEnvironment, scope: Scope, redis_queue: None
) -> None:
    streams = [StreamChoice(name="contacts", sync_mode="INCREMENTAL")]
    syncs = [
        await make_sync(env, scope, settings={"contacts": 5}, streams=streams, schema=f"lost_{n}")
        for n in range(3)
    ]
    lost = [await schedule.create_run(sync=sync, trigger="SCHEDULE") for sync in syncs]
    long_ago = utcnow() - timedelta(seconds=env.settings.queue_reconcile_seconds + 1)
    await SyncRun.filter(id__in=[run.id for run in lost]).update(queued_at=long_ago)

    # Two schedulers' passes at the same moment: one resends, the other finds the pass taken.
    first, second = await asyncio.gather(
        schedule.reconcile_queue(settings=env.settings), schedule.reconcile_queue(settings=env.settings)
    )
    assert sorted(first + second) == sorted(run.id for run in lost)
    assert [] in (first, second)
    broker = queue.current_broker()
    assert broker.client.hlen(f"{queue.REDIS_NAMESPACE}:{queue.QUEUE_NAME}.msgs") == len(lost)
