"""The engine across an outage of Weir's own database, in-process.

``Outage`` makes every query of Weir's database fail as a restarting PostgreSQL does (asyncpg's
``ConnectionDoesNotExistError``) for a while; a scripted source starts it between two batches,
so it hits saves, checkpoints and cancel checks mid-run. The stale scan is called directly to
take a run over from a live attempt. Real processes and a real restart: ``tests/faults``.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator, Callable, Iterator
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.sqlite.client import SqliteClient

from server import retrying
from server.connectors import registry
from server.connectors.base import ConnectorSpec, RecordBatch, StateCheckpoint, StreamSpec
from server.scope import Scope
from server.syncs import runs, schedule
from server.syncs.models import SourceStream, SyncRun
from server.syncs.runner import RunEnvironment, _heartbeat, execute_run
from server.syncs.service import StreamChoice
from server.syncs.stream_load import RunLost
from tests.syncs.conftest import make_sync, table

ITEMS = [StreamChoice(name="items", sync_mode="INCREMENTAL")]
BATCH = 10


# Set in the tasks an outage is limited to (``Outage.only_in_marked_tasks``).
MARKED = contextvars.ContextVar("outage_marked", default=False)


class Outage:
    """Queries of Weir's own database fail for ``seconds`` once ``begin`` is called."""

    def __init__(self) -> None:
        self.until = 0.0
        self.failed = 0
        self.only_in_marked_tasks = False

    def begin(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds

    def end(self) -> None:
        self.until = 0.0

    def hit(self) -> None:
        if self.only_in_marked_tasks and not MARKED.get():
            return
        if time.monotonic() < self.until:
            self.failed += 1
            raise asyncpg.exceptions.ConnectionDoesNotExistError(
                "connection was closed in the middle of operation"
            )


@pytest.fixture
def outage(monkeypatch: pytest.MonkeyPatch) -> Outage:
    fake = Outage()
    for client in (SqliteClient, AsyncpgDBClient):
        for name in ("execute_query", "execute_query_dict", "execute_insert"):
            original = getattr(client, name)

            async def failing(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                fake.hit()
                return await _original(self, *args, **kwargs)

            monkeypatch.setattr(client, name, failing)
    return fake


def scripted_connector(batches: int, between: Callable[[int], Any]) -> SimpleNamespace:
    """``batches`` batches of ``BATCH`` items, each with its checkpoint; ``await between(n)``
    runs before batch ``n`` (from 0) is handed over."""
    spec = ConnectorSpec(
        name="scripted",
        display_name="Scripted",
        category="DEMO",
        auth_types=("NONE",),
        description="Batches with a hook between them.",
        streams=(
            StreamSpec(
                name="items",
                primary_key=("id",),
                cursor_field="id",
                record_schema={"type": "object", "properties": {"id": {"type": "integer"}}},
            ),
        ),
    )

    async def read(
        context: Any, stream: str, settings: dict[str, Any], state: dict[str, Any] | None
    ) -> AsyncIterator[Any]:
        start = int((state or {}).get("cursor", 0))
        for n in range(start // BATCH, batches):
            await between(n)
            yield RecordBatch(stream=stream, records=[{"id": n * BATCH + i + 1} for i in range(BATCH)])
            yield StateCheckpoint(stream=stream, state={"cursor": (n + 1) * BATCH})

    return SimpleNamespace(SPEC=spec, read=read)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int, Callable[[int], Any]], None]]:
    def install(batches: int, between: Callable[[int], Any]) -> None:
        monkeypatch.setitem(registry.CONNECTORS, "scripted", scripted_connector(batches, between))

    yield install


async def _trigger(env: RunEnvironment, scope: Scope, *, full_refresh: bool = False) -> tuple[Any, SyncRun]:
    sync = await make_sync(env, scope, settings={}, integration="scripted", streams=ITEMS)
    run = await runs.trigger_run(
        scope=scope, settings=env.settings, bus=None, sync_id=sync.id, full_refresh=full_refresh
    )
    return sync, run


# -- what counts as transient ----------------------------------------------------------------


def test_connection_losses_and_a_locked_sqlite_are_transient_other_errors_are_not() -> None:
    import sqlite3

    from tortoise.exceptions import IntegrityError, OperationalError

    assert retrying.is_transient(asyncpg.exceptions.ConnectionDoesNotExistError("closed mid-operation"))
    assert retrying.is_transient(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert retrying.is_transient(
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
    )
    assert retrying.is_transient(asyncpg.InterfaceError("cannot perform operation: connection is closed"))
    assert retrying.is_transient(ConnectionRefusedError(111, "Connection refused"))
    locked = OperationalError("database is locked")
    locked.__cause__ = sqlite3.OperationalError("database is locked")
    assert retrying.is_transient(locked)
    assert not retrying.is_transient(IntegrityError("duplicate key"))
    assert not retrying.is_transient(asyncpg.InterfaceError("another operation is in progress"))
    assert not retrying.is_transient(ValueError("bad value"))


async def test_retry_rides_out_transient_errors_and_gives_up_past_its_deadline_with_the_cause() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise ConnectionRefusedError(111, "Connection refused")
        return "saved"

    assert await retrying.retry(flaky, deadline_seconds=5, what="a save") == "saved"
    assert calls == 4

    async def down() -> None:
        raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")

    started = time.monotonic()
    with pytest.raises(retrying.DatabaseUnreachable) as gave_up:
        await retrying.retry(down, deadline_seconds=0.5, what="a save")
    assert 0.5 <= time.monotonic() - started < 2
    assert str(gave_up.value).startswith("the metadata database was unreachable for ")
    assert "CannotConnectNowError: the database system is starting up" in str(gave_up.value)

    async def broken() -> None:
        raise ValueError("not a database outage")

    with pytest.raises(ValueError):
        await retrying.retry(broken, deadline_seconds=5, what="a save")


# -- a run across an outage -------------------------------------------------------------------


async def test_a_run_rides_out_a_short_outage_and_loads_everything(
    env: RunEnvironment, scope: Scope, outage: Outage, scripted: Any
) -> None:
    async def between(n: int) -> None:
        if n == 5:
            outage.begin(1.5)

    scripted(12, between)
    env.settings = env.settings.replace(run_database_outage_seconds=10)
    sync, run = await _trigger(env, scope)

    assert await execute_run(env=env, run_id=run.id) == "SUCCEEDED"

    assert outage.failed > 0
    done = await SyncRun.get(id=run.id)
    assert (done.status, done.error) == ("SUCCEEDED", None)
    assert done.stream_stats["items"]["rowsLoaded"] == 12 * BATCH
    assert sorted(r["id"] for r in await table(env, "items", sync)) == list(range(1, 12 * BATCH + 1))
    assert (await SourceStream.get(sync_id=sync.id)).state == {"cursor": 12 * BATCH}
    assert await SyncRun.filter(sync_id=sync.id).count() == 1  # no retry needed


async def test_an_outage_past_the_bound_fails_the_run_with_its_cause_and_where_it_stopped(
    env: RunEnvironment, scope: Scope, outage: Outage, scripted: Any
) -> None:
    async def between(n: int) -> None:
        if n == 3:
            outage.begin(1.6)  # past the 1 s bound, back before the end is recorded

    scripted(6, between)
    env.settings = env.settings.replace(run_database_outage_seconds=1)
    sync, run = await _trigger(env, scope)

    assert await execute_run(env=env, run_id=run.id) == "FAILED"

    failed = await SyncRun.get(id=run.id)
    assert failed.error is not None
    assert failed.error.startswith(
        "the metadata database was unreachable for 1 s: ConnectionDoesNotExistError"
    )
    stream = failed.stream_stats["items"]
    assert stream["status"] == "FAILED"
    assert stream["rowsLoaded"] == 3 * BATCH
    assert stream["error"].startswith(
        f"stopped after {3 * BATCH} row(s): the metadata database was unreachable"
    )
    retry = await SyncRun.get(sync_id=sync.id, attempt=2)
    assert (retry.trigger, retry.status) == ("RETRY", "QUEUED")


async def test_a_worker_that_records_its_end_after_the_scan_keeps_the_real_cause(
    env: RunEnvironment, scope: Scope, outage: Outage, scripted: Any
) -> None:
    # The outage reaches the worker only: the scan (this test) still reaches the database.
    outage.only_in_marked_tasks = True
    started = asyncio.Event()

    async def between(n: int) -> None:
        if n == 3:
            outage.begin(600)
            started.set()

    scripted(6, between)
    env.settings = env.settings.replace(
        run_database_outage_seconds=1, run_stale_seconds=1, run_heartbeat_seconds=600
    )
    sync, run = await _trigger(env, scope)
    marked = contextvars.copy_context()
    marked.run(MARKED.set, True)
    attempt = asyncio.create_task(execute_run(env=env, run_id=run.id), context=marked)
    await asyncio.wait_for(started.wait(), timeout=30)
    # The worker gives up loading after 1 s and keeps trying to record its end; meanwhile the
    # scan finds the heartbeat stale and records its guess, then the database comes back.
    await asyncio.sleep(1.3)
    assert [r.id for r in await schedule.recover_stale_runs(settings=env.settings, bus=None)] == [run.id]
    outage.end()

    assert await asyncio.wait_for(attempt, timeout=30) == "FAILED"

    failed = await SyncRun.get(id=run.id)
    assert failed.status == "FAILED"
    assert failed.error is not None
    assert failed.error.startswith("the metadata database was unreachable for 1 s"), failed.error
    # One next attempt: the scan's (the worker does not queue a second).
    assert await SyncRun.filter(sync_id=sync.id, attempt=2).count() == 1
    assert await SyncRun.filter(sync_id=sync.id).count() == 2


class SlowSource:
    """A source hook that keeps the attempt waiting before batch ``at`` until ``resume``."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.waiting = asyncio.Event()
        self.resume = asyncio.Event()

    async def __call__(self, n: int) -> None:
        if n == self.at:
            self.waiting.set()
            await self.resume.wait()


async def _take_over_while_waiting(env: RunEnvironment, run_id: str, source: SlowSource) -> str | None:
    """Execute the run; while its source keeps it waiting past the stale threshold (1 s, no
    heartbeat meanwhile), the stale scan declares it lost."""
    env.settings = env.settings.replace(run_stale_seconds=1, run_heartbeat_seconds=600)
    attempt = asyncio.create_task(execute_run(env=env, run_id=run_id))
    await asyncio.wait_for(source.waiting.wait(), timeout=30)
    await asyncio.sleep(1.5)
    lost = await schedule.recover_stale_runs(settings=env.settings, bus=None)
    assert [r.id for r in lost] == [run_id]
    source.resume.set()
    return await asyncio.wait_for(attempt, timeout=30)


async def test_a_lost_attempt_stops_before_its_next_batch_and_keeps_the_scans_record(
    env: RunEnvironment, scope: Scope, scripted: Any
) -> None:
    source = SlowSource(at=4)
    scripted(10, source)
    sync, run = await _trigger(env, scope)

    assert await _take_over_while_waiting(env, run.id, source) is None

    lost = await SyncRun.get(id=run.id)
    assert lost.status == "FAILED"
    assert lost.error == "worker lost: the run sent no heartbeat for 1 s"
    assert lost.stream_stats["items"]["status"] == "FAILED"
    assert lost.stream_stats["items"]["error"].startswith("stopped after ")
    # Not one batch, nor checkpoint, after the takeover.
    assert sorted(r["id"] for r in await table(env, "items", sync)) == list(range(1, 4 * BATCH + 1))
    assert (await SourceStream.get(sync_id=sync.id)).state == {"cursor": 4 * BATCH}
    nxt = await SyncRun.get(sync_id=sync.id, attempt=2)
    assert (nxt.trigger, nxt.status) == ("RETRY", "QUEUED")


async def test_a_lost_full_refresh_never_swaps_its_table_in(
    env: RunEnvironment, scope: Scope, scripted: Any
) -> None:
    scripted(3, lambda n: asyncio.sleep(0))
    sync, first = await _trigger(env, scope)
    assert await execute_run(env=env, run_id=first.id) == "SUCCEEDED"
    source = SlowSource(at=5)
    scripted(8, source)
    refresh = await runs.trigger_run(
        scope=scope, settings=env.settings, bus=None, sync_id=sync.id, full_refresh=True
    )

    assert await _take_over_while_waiting(env, refresh.id, source) is None

    # The old table stays whole; the lost attempt's new table is gone.
    assert sorted(r["id"] for r in await table(env, "items", sync)) == list(range(1, 3 * BATCH + 1))
    import sqlite3

    from server.destinations.sqlite import warehouse_path

    with sqlite3.connect(warehouse_path(env.settings.effective_warehouse_url)) as db:
        names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert not [name for name in names if "__weir_new" in name], names


# -- the heartbeat ----------------------------------------------------------------------------


class FlakyBeats:
    """A run's progress whose heartbeats fail twice, succeed once, then find the run lost."""

    def __init__(self) -> None:
        self.run = SimpleNamespace(id="sync_run_test")
        self.beats: list[str] = []

    async def beat(self) -> None:
        outcomes = ["refused", "reset", "ok", "lost"]
        outcome = outcomes[len(self.beats)]
        self.beats.append(outcome)
        if outcome == "refused":
            raise ConnectionRefusedError(111, "Connection refused")
        if outcome == "reset":
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
        if outcome == "lost":
            raise RunLost("taken over")


async def test_the_heartbeat_survives_failed_beats_and_stops_once_the_run_is_lost() -> None:
    progress = FlakyBeats()

    await asyncio.wait_for(_heartbeat(progress, 0.01), timeout=5)  # type: ignore[arg-type]

    assert progress.beats == ["refused", "reset", "ok", "lost"]
