"""The engine, called directly: incremental reads, replays, cancellation, retries, hashing."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from server.connectors import registry
from server.connectors.base import ConnectorSpec, RecordBatch, StateCheckpoint, StreamSpec
from server.scope import Scope
from server.syncs import runs, service
from server.syncs.models import EltSync, SourceStream, SyncRun
from server.syncs.runner import RunEnvironment, execute_run, retry_delay_seconds
from server.syncs.service import StreamChoice, SyncChanges
from tests.syncs.conftest import make_sync, run_once, table

CONTACTS = [StreamChoice(name="contacts", sync_mode="INCREMENTAL")]


async def test_an_incremental_run_loads_only_the_rows_that_changed(env: RunEnvironment, scope: Scope) -> None:
    sync = await make_sync(env, scope, settings={"contacts": 100, "batch_size": 30}, streams=CONTACTS)
    first = await run_once(env, scope, sync)
    assert first.status == "SUCCEEDED"
    assert first.stream_stats["contacts"]["rowsLoaded"] == 100
    assert (
        first.stream_stats["contacts"]["rowsInserted"],
        first.stream_stats["contacts"]["rowsUpdated"],
    ) == (100, 0)

    await service.update_sync(
        scope=scope,
        settings=env.settings,
        bus=None,
        sync_id=sync.id,
        changes=SyncChanges(settings={"contacts": 140, "batch_size": 30}),
    )
    second = await run_once(env, scope, sync)

    assert second.status == "SUCCEEDED"
    assert second.stream_stats["contacts"]["rowsLoaded"] == 40
    rows = await table(env, "contacts", sync)
    assert sorted(r["id"] for r in rows) == list(range(1, 141))


async def test_a_replayed_batch_leaves_no_duplicate(env: RunEnvironment, scope: Scope) -> None:
    sync = await make_sync(env, scope, settings={"contacts": 90, "batch_size": 25}, streams=CONTACTS)
    await run_once(env, scope, sync)
    # As if the worker died after the destination committed but before the state was saved:
    # the next run reads the same batches again.
    await SourceStream.filter(sync_id=sync.id).update(state=None)

    replay = await run_once(env, scope, sync)

    assert replay.stream_stats["contacts"]["rowsLoaded"] == 90
    # Every row of the replay replaced the one the first run wrote.
    assert (
        replay.stream_stats["contacts"]["rowsInserted"],
        replay.stream_stats["contacts"]["rowsUpdated"],
    ) == (0, 90)
    rows = await table(env, "contacts", sync)
    assert len(rows) == 90 and len({r["id"] for r in rows}) == 90


async def test_a_full_refresh_run_replaces_the_table(env: RunEnvironment, scope: Scope) -> None:
    sync = await make_sync(env, scope, settings={"contacts": 50, "batch_size": 20}, streams=CONTACTS)
    await run_once(env, scope, sync)
    await service.update_sync(
        scope=scope,
        settings=env.settings,
        bus=None,
        sync_id=sync.id,
        changes=SyncChanges(settings={"contacts": 20}),
    )

    refreshed = await run_once(env, scope, sync, full_refresh=True)

    assert refreshed.status == "SUCCEEDED" and refreshed.full_refresh
    assert sorted(r["id"] for r in await table(env, "contacts", sync)) == list(range(1, 21))
    stream = await SourceStream.get(sync_id=sync.id)
    assert stream.state == {"cursor": "2024-01-01T00:00:20+00:00"}


async def test_a_cancelled_run_stops_between_batches(env: RunEnvironment, scope: Scope) -> None:
    sync = await make_sync(env, scope, settings={"contacts": 100, "batch_size": 10}, streams=CONTACTS)
    run = await runs.trigger_run(
        scope=scope, settings=env.settings, bus=None, sync_id=sync.id, full_refresh=False
    )
    # Asked to stop before it starts running: it stops after its first batch.
    await SyncRun.filter(id=run.id).update(cancel_requested=True)

    await execute_run(env=env, run_id=run.id)

    run = await SyncRun.get(id=run.id)
    assert run.status == "CANCELLED"
    assert run.stream_stats["contacts"]["rowsLoaded"] == 10
    assert len(await table(env, "contacts", sync)) == 10
    # The state of the committed batch was saved: the next run resumes after it.
    stream = await SourceStream.get(sync_id=sync.id)
    assert stream.state == {"cursor": "2024-01-01T00:00:10+00:00"}


async def test_executing_the_same_run_twice_runs_it_once(env: RunEnvironment, scope: Scope) -> None:
    sync = await make_sync(env, scope, settings={"contacts": 10}, streams=CONTACTS)
    run = await runs.trigger_run(
        scope=scope, settings=env.settings, bus=None, sync_id=sync.id, full_refresh=False
    )

    assert await execute_run(env=env, run_id=run.id) == "SUCCEEDED"
    assert await execute_run(env=env, run_id=run.id) is None


def flaky_connector() -> SimpleNamespace:
    spec = ConnectorSpec(
        name="flaky",
        display_name="Flaky",
        category="DEMO",
        auth_types=("NONE",),
        description="Fails after its first batch.",
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
        yield RecordBatch(stream=stream, records=[{"id": 1}, {"id": 2}])
        yield StateCheckpoint(stream=stream, state={"cursor": 2})
        raise RuntimeError("the provider answered 503")

    return SimpleNamespace(SPEC=spec, read=read)


async def test_a_failed_run_is_retried_as_a_new_attempt_with_backoff(
    env: RunEnvironment, scope: Scope, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.CONNECTORS, "flaky", flaky_connector())
    env.settings = env.settings.replace(sync_max_retries=1)
    sync = await make_sync(
        env,
        scope,
        settings={},
        integration="flaky",
        streams=[StreamChoice(name="items", sync_mode="INCREMENTAL")],
    )

    first = await run_once(env, scope, sync)

    assert first.status == "FAILED"
    assert "503" in first.stream_stats["items"]["error"]
    assert first.stream_stats["items"]["rowsLoaded"] == 2
    retry = await SyncRun.get(sync_id=sync.id, attempt=2)
    assert (retry.status, retry.trigger) == ("QUEUED", "RETRY")
    from server.syncs.queue import QUEUE_NAME, current_broker

    delayed = current_broker().queues.get(f"{QUEUE_NAME}.DQ")
    assert delayed is not None and delayed.qsize() == 1
    assert retry_delay_seconds(1) == 30 and retry_delay_seconds(2) == 60

    await execute_run(env=env, run_id=retry.id)

    assert (await SyncRun.get(id=retry.id)).status == "FAILED"
    assert await SyncRun.filter(sync_id=sync.id).count() == 2  # max_retries=1: no third


async def test_hashed_columns_are_salted_and_excluded_columns_never_loaded(
    env: RunEnvironment, scope: Scope
) -> None:
    sync = await make_sync(
        env,
        scope,
        settings={"contacts": 5},
        streams=[
            StreamChoice(
                name="contacts",
                sync_mode="INCREMENTAL",
                excluded_columns=["lifetime_value"],
                hashed_columns=["email"],
            )
        ],
    )

    await run_once(env, scope, sync)

    rows = await table(env, "contacts", sync)
    assert "lifetime_value" not in rows[0]
    plain = "ada.lovelace.1@example.com"
    assert all(len(r["email"]) == 64 and "@" not in r["email"] for r in rows)
    assert hashlib.sha256(plain.encode()).hexdigest() not in {r["email"] for r in rows}
    stored = (await EltSync.get(id=sync.id)).settings
    assert service.public_settings(await EltSync.get(id=sync.id)) == {"contacts": 5}
    assert any(k.startswith("__weir_") for k in stored)


async def test_runs_are_listed_newest_first_page_by_page(env: RunEnvironment, scope: Scope) -> None:
    from server.pagination import encode_cursor
    from server.syncs.schedule import create_run

    sync = await make_sync(env, scope, settings={"contacts": 1}, streams=CONTACTS)
    made = []
    for _ in range(3):
        made.append(await create_run(sync=sync, trigger="MANUAL", status="SKIPPED"))
        await asyncio.sleep(0.002)  # ids order by millisecond

    first = await runs.list_runs(scope=scope, sync_id=sync.id, first=2, after=None, max_page_size=100)
    rest = await runs.list_runs(
        scope=scope, sync_id=sync.id, first=2, after=encode_cursor(first.items[-1].id), max_page_size=100
    )

    assert [r.id for r in first.items] == [made[2].id, made[1].id] and first.has_next_page
    assert [r.id for r in rest.items] == [made[0].id] and not rest.has_next_page


async def test_a_workspace_with_its_own_warehouse_loads_there(env: RunEnvironment, scope: Scope) -> None:
    from server.orgs import service as orgs
    from server.orgs.service import WorkspaceChanges

    # Only an unrestricted key sets a warehouse URL; a SQLite one is a name in the data dir.
    await orgs.update_workspace(
        scope=Scope(organization_id=scope.organization_id),
        key_ring=env.key_ring,
        workspace_id=scope.workspace_id,
        changes=WorkspaceChanges(warehouse_url="sqlite://acme"),
    )
    sync = await make_sync(env, scope, settings={"contacts": 25}, streams=CONTACTS)
    run = await run_once(env, scope, sync)
    assert run.status == "SUCCEEDED"
    own = env.settings.data_dir / "warehouses" / scope.workspace_id / "acme.db"
    # Its own warehouse: the literal schema name, where its users expect it.
    with sqlite3.connect(own) as db:
        assert db.execute('SELECT count(*) FROM "crm__contacts"').fetchone()[0] == 25
    # The deployment's warehouse got nothing.
    default = env.settings.effective_warehouse_url.removeprefix("sqlite://")
    if os.path.exists(default):
        with sqlite3.connect(default) as db:
            names = [row[0] for row in db.execute("SELECT name FROM sqlite_master")]
        assert not [name for name in names if name.endswith("crm__contacts")]
