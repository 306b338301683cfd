"""``weir scheduler``, and the same loop as a background task of the embedded ``weir serve``.

Each pass queues due syncs, recovers runs whose worker died, and refreshes OAuth tokens that
expire within five minutes (so a sync never starts with a dead token). Once an hour it also
does the housekeeping of ``server.scheduler.housekeeping`` (old calls, expired action results
and key-value entries).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from server import http as http_clients
from server.config import Settings
from server.crypto import KeyRing, load_key_ring
from server.db import close_database, open_database
from server.events import EventBus, build_event_bus
from server.integrations.liveness import check_due_connections
from server.integrations.refresh import refresh_due_connections
from server.scheduler.housekeeping import Housekeeper
from server.syncs.queue import use_redis
from server.syncs.schedule import tick

log = logging.getLogger("weir.scheduler")


async def scheduler_loop(
    *,
    settings: Settings,
    bus: EventBus | None,
    key_ring: KeyRing,
    interval: float,
    stop: asyncio.Event,
    housekeeper: Housekeeper | None = None,
) -> None:
    """Every ``interval`` seconds until ``stop`` is set: queue due syncs, recover lost runs,
    refresh OAuth tokens that expire soon, check the connections due a liveness check, and
    (when due) prune what is kept only for a while.
    A failed pass is logged, not fatal."""
    housekeeper = housekeeper or Housekeeper()
    async with http_clients.tenant_client(settings, http_clients.TOKEN_REFRESH) as http:
        while not stop.is_set():
            try:
                await tick(settings=settings, bus=bus)
            except Exception:
                log.exception("scheduler tick failed; trying again in %.0f s", interval)
            try:
                await refresh_due_connections(settings=settings, key_ring=key_ring, http=http, bus=bus)
            except Exception:
                log.exception("token refresh sweep failed; trying again in %.0f s", interval)
            try:
                await check_due_connections(settings=settings, key_ring=key_ring, http=http, bus=bus)
            except Exception:
                log.exception("liveness checks failed; trying again in %.0f s", interval)
            try:
                await housekeeper.run_if_due(settings)
            except Exception:
                log.exception("housekeeping failed; trying again in %s", housekeeper.every)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)


async def _main(settings: Settings, interval: float) -> None:
    use_redis(settings.redis_url or "")
    database = await open_database(settings)
    bus = build_event_bus(settings.redis_url)
    await bus.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"Weir scheduler running (every {interval:g} s); Ctrl-C to stop", flush=True)
    try:
        await scheduler_loop(
            settings=settings, bus=bus, key_ring=load_key_ring(settings), interval=interval, stop=stop
        )
    finally:
        await bus.close()
        await close_database(database)


def run_scheduler(settings: Settings, *, interval: float = 5.0) -> int:
    """Run the scheduler until stopped."""
    if not settings.redis_url:
        print(
            "weir scheduler needs WEIR_REDIS_URL to reach the workers: without Redis, "
            "`weir serve` runs the scheduler itself (the embedded default)",
            file=sys.stderr,
        )
        return 2
    asyncio.run(_main(settings, interval))
    return 0
