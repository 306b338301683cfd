"""A run interrupted in the middle of a database write leaves the database usable.

Tortoise begins a transaction in ``__aenter__``; on SQLite a cancel landing between its
``BEGIN`` and the ``async with`` body would skip ``__aexit__``, leaving the connection inside that
transaction and its lock held, so the run's next write (recording its end) would wait forever.
``Progress.retry`` runs each write to its end, and the run still stops at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tortoise.transactions import in_transaction

from server.syncs import schedule
from server.syncs.models import SyncRun
from server.syncs.service import StreamChoice
from server.syncs.stream_load import Progress
from tests.syncs.conftest import make_sync


async def test_a_cancel_at_any_point_of_a_write_leaves_the_next_write_working(env: Any, scope: Any) -> None:
    sync = await make_sync(
        env,
        scope,
        settings={"contacts": 10},
        streams=[StreamChoice(name="contacts", sync_mode="INCREMENTAL")],
    )
    run = await schedule.create_run(sync=sync, trigger="MANUAL")
    await SyncRun.filter(id=run.id).update(status="RUNNING")
    progress = Progress(run, None)

    async def write() -> int:
        async with in_transaction():
            return await SyncRun.filter(id=run.id).update(error="written")

    # Land the cancel after 0, 1, 2, ... turns of the loop: somewhere inside BEGIN, the body and
    # COMMIT, whatever the driver's number of round trips.
    for turns in range(30):
        task = asyncio.ensure_future(progress.retry(write, "a test write"))
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel("the worker stopped")
        try:
            await task
        except asyncio.CancelledError:
            pass

        # The next write (as the run recording its end would) neither waits nor is lost.
        async def next_write(turns: int = turns) -> None:
            async with in_transaction():
                await SyncRun.filter(id=run.id).update(error=f"after {turns}")

        await asyncio.wait_for(progress.retry(next_write, "the next write"), timeout=5)
        assert (await SyncRun.get(id=run.id)).error == f"after {turns}"
