"""The Dramatiq broker of this process: a stub in memory (embedded default) or Redis.

Dramatiq binds an actor to a broker when the actor is declared, so the broker is built and set
first and the actors are declared on it explicitly (``actors.declare``), never by importing a
module. Its defaults do not suit syncs and are replaced deliberately:

- time limit: ``settings.sync_time_limit_seconds`` (Dramatiq's 10 minutes would kill a long
  sync);
- retries: ``settings.sync_max_retries`` with exponential backoff from 15 s to 30 min, for
  failures *around* a run (the database was unreachable when the message arrived). A run that
  fails is retried by the engine itself as a new run, so every attempt shows in the history;
- AsyncIO: async actors run on Dramatiq's event-loop thread (see ``runtime.py``).
"""

from __future__ import annotations

import dramatiq
from dramatiq import Broker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from server.config import Settings
from server.events import sync_redis_client
from server.syncs import queue

MIN_BACKOFF_MS = 15_000
MAX_BACKOFF_MS = 30 * 60_000
# A killed worker's messages (the run it held, and any it had prefetched) go back to the queue
# once its Redis heartbeat is older than ``heartbeat_timeout_ms`` and a Redis command of some
# process runs the broker's maintenance. Dramatiq's defaults (60 s, maintenance on 0.1% of
# commands) left them waiting about five minutes, past the stale window in which the run itself
# is recovered. Idle workers poll about once a second per queue, so maintenance on half of the
# commands follows the timeout within a second or two; without a dead worker it costs two
# sorted-set range reads in the same script.
MAINTENANCE_CHANCE = 500_000  # of a million commands


def heartbeat_timeout_ms(settings: Settings) -> int:
    """A quarter of the stale window (5 to 60 s): a dead worker's messages are resent well
    within it. A live but busy worker keeps beating through its delay-queue consumer, and a
    message delivered twice is harmless (a run executes only while QUEUED)."""
    return int(min(60.0, max(5.0, settings.run_stale_seconds / 4)) * 1000)


def build_broker(settings: Settings) -> Broker:
    middleware = [
        AgeLimit(),
        TimeLimit(time_limit=settings.sync_time_limit_seconds * 1000),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(
            max_retries=settings.sync_max_retries, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS
        ),
        AsyncIO(),
    ]
    if settings.redis_url:
        # Its own client: Dramatiq's ``url=`` builds one without timeouts (see ``REDIS_TIMEOUTS``).
        return RedisBroker(
            client=sync_redis_client(settings.redis_url),
            middleware=middleware,
            namespace=queue.REDIS_NAMESPACE,
            heartbeat_timeout=heartbeat_timeout_ms(settings),
            maintenance_chance=MAINTENANCE_CHANCE,
        )
    return StubBroker(middleware=middleware)


def install_broker(settings: Settings) -> Broker:
    """Build the broker, make it this process's broker, then declare the actors on it."""
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    queue.use_broker(broker)
    from server.worker import actors  # only now: the broker exists

    actors.declare(broker, settings)
    return broker
