"""``weir worker`` (Dramatiq workers on Redis) and the embedded worker of ``weir serve``."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
import threading

from dramatiq import Broker, Worker

from server import outbound
from server.config import Settings
from server.crypto import load_key_ring
from server.events import EventBus
from server.worker.broker import install_broker
from server.worker.runtime import WeirRuntime

log = logging.getLogger("weir.worker")

# Long enough for a batch to commit and the run to record its end, when stopping.
WORKER_TIMEOUT_MS = 1000


class EmbeddedWorker:
    """A Dramatiq worker inside this process, on the broker this process installed."""

    def __init__(
        self,
        *,
        settings: Settings,
        broker: Broker,
        bus: EventBus | None,
        threads: int = 2,
        webhooks: bool = False,
    ) -> None:
        self.runtime = WeirRuntime(settings, load_key_ring(settings), bus, webhooks=webhooks)
        broker.add_middleware(self.runtime)
        self.worker = Worker(broker, worker_threads=threads, worker_timeout=WORKER_TIMEOUT_MS)
        # A run can last hours: a message prefetched behind one waits that long while another
        # worker idles (Dramatiq prefetches twice its threads). Take a message only when a
        # thread is free; set before ``start``, which builds the consumers from it.
        self.worker.queue_prefetch = threads

    def start(self) -> None:
        self.worker.start()

    def stop(self, timeout_seconds: float | None = None) -> None:
        """Stop taking messages; wait up to ``timeout_seconds`` for the runs in progress."""
        if timeout_seconds is None:
            self.worker.stop()
        else:
            self.worker.stop(timeout=int(timeout_seconds * 1000))

    def join(self) -> None:
        """Wait until every queued message has been processed."""
        self.worker.join()


def _serve(settings: Settings, threads: int) -> int:
    broker = install_broker(settings)
    # A `weir worker` process also delivers webhooks (any number may: claims never overlap).
    worker = EmbeddedWorker(settings=settings, broker=broker, bus=None, threads=threads, webhooks=True)
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.start()
    log.info("worker started with %d thread(s)", threads)
    log.info("%s", outbound.describe(settings))
    print(f"Weir worker running ({threads} thread(s)); Ctrl-C to stop", flush=True)
    stopping.wait()
    log.info("stopping: waiting up to %d s for the runs in progress", settings.worker_shutdown_seconds)
    worker.stop(settings.worker_shutdown_seconds)
    return 0


def run_worker(settings: Settings, *, processes: int = 1, threads: int = 4) -> int:
    """Run ``processes`` worker processes of ``threads`` threads each, until stopped."""
    if not settings.redis_url:
        print(
            "weir worker needs WEIR_REDIS_URL: without Redis, `weir serve` runs the worker "
            "in its own process (the embedded default)",
            file=sys.stderr,
        )
        return 2
    load_key_ring(settings)  # fail now, in one line, when the keys are wrong
    if processes <= 1:
        return _serve(settings, threads)
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_serve, args=(settings, threads), daemon=False) for _ in range(processes)
    ]
    for child in children:
        child.start()

    def forward(signum: int, frame: object) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        child.join()
    return max((child.exitcode or 0) for child in children)
