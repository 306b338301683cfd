"""The worker's actors. They take ids, and running one twice is harmless."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq import Broker
from dramatiq.middleware import TimeLimitExceeded

from server.config import Settings
from server.syncs import queue
from server.syncs.runner import execute_run
from server.worker.runtime import WeirRuntime


async def run_sync(run_id: str) -> None:
    """Execute sync run ``run_id`` (a run that is no longer QUEUED is left alone)."""
    runtime = WeirRuntime.current()
    runtime.enter_database()
    with runtime.tracking():
        await execute_run(env=runtime.env, run_id=run_id)


def declare(broker: Broker, settings: Settings) -> None:
    """Declare every actor on ``broker`` (this also declares their queues)."""
    options: dict[str, Any] = {
        "time_limit": settings.sync_time_limit_seconds * 1000,
        "max_retries": settings.sync_max_retries,
        # The runner recorded the interrupted run and queued its next attempt: a Dramatiq retry
        # of the message would only find the run no longer QUEUED.
        "throws": (TimeLimitExceeded,),
    }
    declared = dramatiq.actor(
        broker=broker, actor_name=queue.ACTOR_NAME, queue_name=queue.QUEUE_NAME, **options
    )
    declared(run_sync)
