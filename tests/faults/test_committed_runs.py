"""A run committed before Redis failed is returned, and a scheduler tick goes on past a failed
publish or send (issue 16, item 5). The broker and the bus here raise as Redis's clients do when
the server is down; tests/faults/test_redis_stopped.py does the same against a real Redis."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from dramatiq import Message
from dramatiq.brokers.stub import StubBroker

from server.events import InMemoryEventBus
from server.scope import Scope
from server.syncs import queue, runs, schedule, service
from server.syncs.models import EltSync, SyncRun
from server.syncs.runner import RunEnvironment, execute_run
from server.syncs.service import StreamChoice
from server.syncs.transitions import move_run
from tests.scaleout.cluster import free_port
from tests.syncs.conftest import env, make_sync, scope  # noqa: F401 -- fixtures

CONTACTS = [StreamChoice(name="contacts", sync_mode="INCREMENTAL")]


class RefusingBroker(StubBroker):
    """A broker whose Redis is gone: its next ``refusals`` sends raise (all of them by default),
    as a Redis client does when the server is down; the runs it refused are kept."""

    def __init__(self, refusals: int | None = None) -> None:
        super().__init__()
        self.refusals = refusals
        self.refused: list[str] = []
        self.declare_queue(queue.QUEUE_NAME)

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        if self.refusals is None or self.refusals > 0:
            if self.refusals is not None:
                self.refusals -= 1
            self.refused.append(message.args[0])
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return super().enqueue(message, delay=delay)

    def sent(self) -> list[str]:
        return [Message.decode(body).args[0] for body in self.queues[queue.QUEUE_NAME].queue]


class DownBus(InMemoryEventBus):
    """An event bus whose every publish raises (a bus without Weir's best-effort wrapper)."""

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        raise redis.ConnectionError("Connection refused")

    async def publish_many(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        raise redis.ConnectionError("Connection refused")


@pytest.fixture
def refusing_broker(env: RunEnvironment) -> Iterator[RefusingBroker]:  # noqa: F811
    previous = queue.current_broker()
    broker = RefusingBroker()
    queue.use_broker(broker)
    try:
        yield broker
    finally:
        queue.use_broker(previous)


async def due_sync(env: RunEnvironment, scope: Scope, name: str) -> EltSync:  # noqa: F811
    sync = await make_sync(env, scope, settings={"contacts": 5}, streams=CONTACTS, schema=name)
    await service.set_enabled(scope=scope, bus=None, sync_id=sync.id, enabled=True)
    await EltSync.filter(id=sync.id).update(next_run_at=datetime.now(UTC) - timedelta(minutes=1))
    return await EltSync.get(id=sync.id)


async def test_a_trigger_whose_message_and_event_fail_returns_the_committed_run(
    env: RunEnvironment,  # noqa: F811
    scope: Scope,  # noqa: F811
    refusing_broker: RefusingBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sync = await make_sync(env, scope, settings={"contacts": 5}, streams=CONTACTS)

    with caplog.at_level(logging.WARNING):
        run = await runs.trigger_run(
            scope=scope, settings=env.settings, bus=DownBus(), sync_id=sync.id, full_refresh=False
        )

    assert run.status == "QUEUED"
    assert (await SyncRun.get(id=run.id)).status == "QUEUED"
    assert f"run {run.id} is queued but its message was not sent (ConnectionError" in caplog.text
    assert f"run {run.id}: status event not published (ConnectionError)" in caplog.text
    # The sync now has its run: a second trigger is a CONFLICT, not a second run.
    with pytest.raises(Exception, match="is QUEUED") as conflict:
        await runs.trigger_run(
            scope=scope, settings=env.settings, bus=None, sync_id=sync.id, full_refresh=False
        )
    assert getattr(conflict.value, "code", None) == "CONFLICT"
    # Once a message goes out (the reconciler's resend), the run executes as usual.
    assert await execute_run(env=env, run_id=run.id) == "SUCCEEDED"


async def test_a_cancel_whose_event_fails_still_records_the_request(
    env: RunEnvironment,  # noqa: F811
    scope: Scope,  # noqa: F811
) -> None:
    sync = await make_sync(env, scope, settings={"contacts": 5}, streams=CONTACTS)
    run = await move_run(run=await schedule.create_run(sync=sync, trigger="MANUAL"), to="RUNNING", bus=None)

    cancelled = await runs.cancel_run(scope=scope, bus=DownBus(), run_id=run.id)

    assert cancelled.cancel_requested is True
    assert (await SyncRun.get(id=run.id)).cancel_requested is True


async def test_a_tick_goes_on_past_a_failed_publish_and_a_failed_send(
    env: RunEnvironment,  # noqa: F811
    scope: Scope,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    syncs = [await due_sync(env, scope, f"due_{index}") for index in range(3)]
    # A run whose worker died, so the tick's first step publishes (and fails) before the rest.
    lost_sync = await make_sync(env, scope, settings={"contacts": 5}, streams=CONTACTS, schema="lost")
    lost = await move_run(
        run=await schedule.create_run(sync=lost_sync, trigger="MANUAL"), to="RUNNING", bus=None
    )
    await SyncRun.filter(id=lost.id).update(heartbeat_at=datetime.now(UTC) - timedelta(minutes=10))
    previous = queue.current_broker()
    broker = RefusingBroker(refusals=1)  # Redis drops the first message of the tick
    queue.use_broker(broker)
    try:
        with caplog.at_level(logging.WARNING):
            await schedule.tick(settings=env.settings, bus=DownBus())
    finally:
        queue.use_broker(previous)

    created = await SyncRun.filter(sync_id__in=[s.id for s in syncs]).values_list("id", "status")
    assert len(created) == 3 and {status for _, status in created} == {"QUEUED"}
    # The stale run was recorded as failed even though announcing it failed, and its next
    # attempt is queued: the tick's first message, the one Redis dropped.
    assert (await SyncRun.get(id=lost.id)).status == "FAILED"
    retry = await SyncRun.get(sync_id=lost_sync.id, attempt=2)
    assert retry.status == "QUEUED"
    assert broker.refused == [retry.id]
    # Every due run reached the broker; the refused one waits for the reconciler.
    assert sorted(broker.sent()) == sorted(run_id for run_id, _ in created)
    assert f"run {retry.id} is queued but its message was not sent" in caplog.text
    assert "new run(s) not announced (ConnectionError)" in caplog.text


async def test_a_tick_with_redis_unreachable_still_starts_due_syncs(
    env: RunEnvironment,  # noqa: F811
    scope: Scope,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    from dramatiq.brokers.redis import RedisBroker

    waiting_sync = await make_sync(env, scope, settings={"contacts": 5}, streams=CONTACTS, schema="waiting")
    waiting = await schedule.create_run(sync=waiting_sync, trigger="MANUAL")
    long_ago = datetime.now(UTC) - timedelta(seconds=env.settings.queue_reconcile_seconds + 5)
    await SyncRun.filter(id=waiting.id).update(queued_at=long_ago)
    due = await due_sync(env, scope, "due")
    previous = queue.current_broker()
    # A real Redis client aimed at a port nothing listens on: every command is refused.
    dead = RedisBroker(
        url=f"redis://127.0.0.1:{free_port()}/0", namespace=queue.REDIS_NAMESPACE, middleware=[]
    )
    queue.use_broker(dead)
    try:
        with caplog.at_level(logging.WARNING):
            await schedule.tick(settings=env.settings, bus=env.bus)
    finally:
        queue.use_broker(previous)
        dead.close()

    # The reconciler could not read Redis; the due sync still got its run, whose send failed.
    assert "scheduler tick: reconciling the queue failed (" in caplog.text
    [created] = await SyncRun.filter(sync_id=due.id)
    assert (created.trigger, created.status) == ("SCHEDULE", "QUEUED")
    assert f"run {created.id} is queued but its message was not sent" in caplog.text
    assert "Traceback" not in caplog.text  # an outage, not a bug
