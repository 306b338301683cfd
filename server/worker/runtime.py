"""What actors need on Dramatiq's event-loop thread: a database context, the bus, the keys.

Dramatiq runs ``async def`` actors on its own event-loop thread, not on the loop of whoever
started the worker (uvicorn's, in ``weir serve``). Database connections belong to one loop, so
this middleware opens a Tortoise context *on that loop* when the worker boots and closes it
when the worker shuts down; each actor enters it (its task's contextvars are its own).

Shutting down (SIGTERM): Dramatiq stops taking messages and waits up to
``settings.worker_shutdown_seconds`` for the runs in progress to finish. A run still going then
is cancelled with ``runner.SHUTDOWN``: the runner records it FAILED ("interrupted: the worker
stopped") and queues its next attempt at once, which resumes from the last saved checkpoint
(every committed batch is an upsert, so nothing doubles). The actor then returns normally, so
its message is acknowledged: no ERROR traceback, no Dramatiq retry that would find nothing to
do. Only then are the database connections closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any, ClassVar

from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware
from tortoise.context import TortoiseContext

from server.config import Settings
from server.connectors import budget as rate_budgets
from server.crypto import KeyRing
from server.db import open_database
from server.events import EventBus, build_event_bus
from server.syncs.runner import SHUTDOWN, RunEnvironment
from server.webhooks.delivery import run_dispatcher

log = logging.getLogger("weir.worker")


class WeirRuntime(Middleware):
    """Opens the worker loop's database context at boot; gives actors their environment."""

    _current: ClassVar[WeirRuntime | None] = None

    def __init__(
        self, settings: Settings, key_ring: KeyRing, bus: EventBus | None = None, *, webhooks: bool = False
    ):
        self.settings = settings
        self.key_ring = key_ring
        self._given_bus = bus
        self.bus: EventBus | None = bus
        self.database: TortoiseContext | None = None
        self.active: set[asyncio.Task[Any]] = set()
        # `weir worker` also delivers webhooks (``weir serve`` does it in its own lifespan).
        self.webhooks = webhooks
        self._webhooks_stop: asyncio.Event | None = None
        self._webhooks_task: asyncio.Task[None] | None = None

    @classmethod
    def current(cls) -> WeirRuntime:
        if cls._current is None:
            raise RuntimeError("the worker runtime is not booted")
        return cls._current

    @property
    def env(self) -> RunEnvironment:
        return RunEnvironment(settings=self.settings, key_ring=self.key_ring, bus=self.bus)

    def enter_database(self) -> None:
        """Make the worker loop's context current for the calling actor's task only."""
        assert self.database is not None
        self.database.__enter__()

    @contextlib.contextmanager
    def tracking(self) -> Iterator[None]:
        """Remember the calling actor's task while it runs, so shutdown can interrupt it."""
        task = asyncio.current_task()
        assert task is not None
        self.active.add(task)
        try:
            yield
        finally:
            self.active.discard(task)

    def _run(self, coroutine: Any) -> Any:
        thread = get_event_loop_thread()
        if thread is None:
            raise RuntimeError("the AsyncIO middleware must come before WeirRuntime")
        return thread.run_coroutine(coroutine)

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        async def boot() -> None:
            self.database = await open_database(self.settings)
            if self.bus is None:
                self.bus = build_event_bus(self.settings.redis_url)
                await self.bus.start()
            if self.webhooks:
                self._webhooks_stop = asyncio.Event()
                self._webhooks_task = asyncio.get_running_loop().create_task(
                    self._deliver_webhooks(self._webhooks_stop), name="weir-webhooks"
                )

        self._run(boot())
        WeirRuntime._current = self
        log.info("worker runtime ready")

    async def _deliver_webhooks(self, stop: asyncio.Event) -> None:
        self.enter_database()
        await run_dispatcher(
            settings=self.settings,
            key_ring=self.key_ring,
            stop_event=stop,
            interval=self.settings.webhooks_poll_seconds,
        )

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        # "after" hooks run in reverse order, so this comes before AsyncIO stops the loop.
        # Dramatiq waited ``worker_shutdown_seconds`` for the runs in progress: interrupt the rest.
        async def interrupt() -> None:
            going = list(self.active)
            for task in going:
                task.cancel(SHUTDOWN)
            if going:
                log.warning("interrupting %d run(s) still going at shutdown", len(going))
                _, unfinished = await asyncio.wait(going, timeout=10)
                if unfinished:
                    # Their runs stay RUNNING until the stale scan fails them and queues a retry.
                    log.error("%d interrupted run(s) did not record their end within 10 s", len(unfinished))

        async def shutdown() -> None:
            if self._webhooks_task is not None and self._webhooks_stop is not None:
                self._webhooks_stop.set()
                await self._webhooks_task
                self._webhooks_task = None
            if self.bus is not None and self._given_bus is None:
                await self.bus.close()
                self.bus = None
            # The rate budgets' Redis clients of this loop (the budget itself is per process).
            await rate_budgets.shared.close()
            if self.database is not None:
                # Only the connections: the context was entered per actor task, not here.
                await self.database.close_connections()
                self.database = None
            # A cancelled run may leave a blocking write in a thread (SQLite): let it end before
            # the interpreter does, or the extension crashes at exit.
            await asyncio.get_running_loop().shutdown_default_executor()

        self._run(interrupt())
        # Let the interrupted actors' threads acknowledge their messages before the loop goes.
        for thread in getattr(worker, "workers", ()):
            thread.join(timeout=5)
        self._run(shutdown())
        if WeirRuntime._current is self:
            WeirRuntime._current = None
