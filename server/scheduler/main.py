"""``weir scheduler``, and the same loop as a background task of the embedded ``weir serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from server.config import Settings
from server.db import close_database, open_database
from server.events import EventBus, build_event_bus
from server.syncs.queue import use_redis
from server.syncs.schedule import tick

log = logging.getLogger("weir.scheduler")


async def scheduler_loop(*, settings: Settings, bus: EventBus | None, interval: float,
                         stop: asyncio.Event) -> None:
    """Tick every ``interval`` seconds until ``stop`` is set; a failed tick is logged."""
    while not stop.is_set():
        try:
            await tick(settings=settings, bus=bus)
        except Exception:
            log.exception("scheduler tick failed; trying again in %.0f s", interval)
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
        await scheduler_loop(settings=settings, bus=bus, interval=interval, stop=stop)
    finally:
        await bus.close()
        await close_database(database)


def run_scheduler(settings: Settings, *, interval: float = 5.0) -> int:
    """Run the scheduler until stopped."""
    if not settings.redis_url:
        print("weir scheduler needs WEIR_REDIS_URL to reach the workers: without Redis, "
              "`weir serve` runs the scheduler itself (the embedded default)", file=sys.stderr)
        return 2
    asyncio.run(_main(settings, interval))
    return 0
