"""The app ``weir serve`` runs: the API (``server.web``) with what its process needs beside it.

This is the composition root of the API process, the one module that knows the web app, the
worker and the scheduler together, so that those three never import each other. It always
installs the task broker (the API sends runs to it). On the embedded default (no Redis) it also
runs, inside this one process, a worker, the scheduler and the webhook dispatcher; with Redis
they are ``weir worker`` and ``weir scheduler``, started elsewhere.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette

from server.api.context import Services
from server.config import Settings
from server.events import EventBus
from server.scheduler.main import scheduler_loop
from server.syncs.schedule import requeue_queued_runs
from server.web import app as web
from server.webhooks.delivery import run_dispatcher
from server.worker.broker import install_broker
from server.worker.main import EmbeddedWorker

EMBEDDED_SCHEDULER_INTERVAL_SECONDS = 5.0


class Background:
    """The task broker and, on the embedded default, the worker and scheduler of this process."""

    def __init__(self) -> None:
        self.broker: Any = None
        self.worker: EmbeddedWorker | None = None
        self.scheduler: asyncio.Task[None] | None = None
        self.webhooks: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()

    async def stop(self) -> None:
        self.stopping.set()
        if self.scheduler is not None:
            await self.scheduler
        if self.webhooks is not None:
            await self.webhooks
        if self.worker is not None:
            await asyncio.to_thread(self.worker.stop)
        if self.broker is not None:
            self.broker.close()


async def start_background(settings: Settings, services: Services) -> Background:
    """Install the task broker; on the embedded default also start a worker and the scheduler."""
    background = Background()
    broker = background.broker = install_broker(settings)
    if not settings.embedded:
        return background  # `weir worker` and `weir scheduler` run elsewhere
    background.worker = EmbeddedWorker(settings=settings, broker=broker, bus=services.bus)
    await asyncio.to_thread(background.worker.start)
    # The stub broker's queue lived in the previous process: send what is still queued again.
    await requeue_queued_runs()
    background.scheduler = asyncio.create_task(
        scheduler_loop(
            settings=settings,
            bus=services.bus,
            key_ring=services.key_ring,
            interval=EMBEDDED_SCHEDULER_INTERVAL_SECONDS,
            stop=background.stopping,
        ),
        name="weir-scheduler",
    )
    background.webhooks = asyncio.create_task(
        run_dispatcher(
            settings=settings,
            key_ring=services.key_ring,
            stop_event=background.stopping,
            interval=settings.webhooks_poll_seconds,
        ),
        name="weir-webhooks",
    )
    return background


def create_app(settings: Settings, *, bus: EventBus | None = None) -> Starlette:
    """The API app with its background: what ``weir serve`` and the tests serve."""
    return web.create_app(settings, bus=bus, start_background=start_background)
