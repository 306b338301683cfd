"""The API process's call log writer: counts every call, and writes succeeded ones in batches.

A proxied request or an action that succeeded would otherwise pay for a transaction of its own
(a third of the proxy's cost on the embedded SQLite). Its row waits here, stamped with the time
the call ended, and goes into the database with the others of the last ``DELAY`` seconds in one
insert (at most ``BATCH`` rows each). A failed call is written at once, in the transaction of
its ``call.failed`` event, as before.

What that trades: a process that dies without its shutdown (``kill -9``, a power cut) loses
the succeeded calls of its last ``DELAY`` seconds from the log; a clean stop (``aclose``)
writes them. A listing in this process writes what waits first (``flush``), so a caller reads
its own calls; another process's wait at most ``DELAY`` seconds. When the database refuses a
batch, its rows wait for the next one, up to ``MAX_WAITING`` rows, the oldest dropped (and
logged) past that: a log that cannot be written must not grow without bound. Retries back off
to one a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from server.calls import service
from server.calls.metrics import CallMetrics
from server.calls.models import CallLog
from server.calls.records import SUCCEEDED, Call

log = logging.getLogger("weir.calls")

DELAY = 0.25  # seconds a succeeded call's row may wait
BATCH = 500  # rows per insert
MAX_WAITING = 20_000


async def record(call: Call, recorder: CallRecorder | None) -> None:
    """Log ``call`` through the process's recorder, or at once without one (scripts, tests)."""
    if recorder is not None:
        await recorder.record(call)
    else:
        await service.record(call)


class CallRecorder:
    """One per API process (``Services.calls``); ``metrics`` counts calls for ``/metrics``."""

    def __init__(self, metrics: CallMetrics | None = None, *, delay: float = DELAY) -> None:
        self.metrics = metrics
        self.delay = delay
        self._waiting: list[CallLog] = []
        self._timer: asyncio.Task[None] | None = None
        self._writing = asyncio.Lock()

    async def record(self, call: Call) -> None:
        """Log one finished call; never raises (see ``server.calls.service.record``)."""
        if call.status != SUCCEEDED:
            await service.record(call, metrics=self.metrics)
            return
        if self.metrics is not None:
            try:
                self.metrics.observe(call)
            except Exception:
                log.exception("could not count a %s call of %s", call.kind, call.integration_name)
        self._waiting.append(service.row(call, at=datetime.now(UTC)))
        if len(self._waiting) >= BATCH:
            await self.flush()
        elif self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        # After a refused batch, try again later and later (up to a minute) while rows wait.
        pause = self.delay
        while True:
            await asyncio.sleep(pause)
            await self.flush()
            if not self._waiting:
                return
            pause = min(pause * 2, 60.0)

    async def flush(self) -> None:
        """Write every row that waits (in batches of ``BATCH``); never raises."""
        async with self._writing:
            while self._waiting:
                batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
                try:
                    await service.write_succeeded(batch)
                except Exception:
                    log.exception(
                        "could not write %d call log rows; they wait for the next batch", len(batch)
                    )
                    self._waiting[:0] = batch
                    self._drop_overflow()
                    return

    def _drop_overflow(self) -> None:
        over = len(self._waiting) - MAX_WAITING
        if over > 0:
            del self._waiting[:over]
            log.error(
                "dropped the %d oldest unwritten call log rows (more than %d waited)", over, MAX_WAITING
            )

    async def aclose(self) -> None:
        """Write what waits (the app's shutdown, before the database closes)."""
        timer, self._timer = self._timer, None
        if timer is not None and not timer.done():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        await self.flush()
