"""Rows deleted at the source, seen by runs: delete markers, full refreshes and the
primary-key reconciliation pass, on a SQLite and a Postgres warehouse."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from server.connectors import registry
from server.connectors.base import ConnectorSpec, DeleteMarker, RecordBatch, StateCheckpoint, StreamSpec
from server.destinations.base import build_destination
from server.destinations.columns import DELETED_AT
from server.errors import ValidationFailed
from server.scope import Scope
from server.syncs import service
from server.syncs.models import EltSync, SyncRun
from server.syncs.namespaces import physical_schema
from server.syncs.reconcile import start_due_reconciliations
from server.syncs.runner import RunEnvironment, execute_run
from server.syncs.service import StreamChoice, SyncChanges
from server.syncs.transitions import utcnow
from server.syncs.webhook_events import sync_run_payload
from tests.conftest import POSTGRES_URL, require_service
from tests.syncs.conftest import make_sync, run_once, table

SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "status": {"type": "string"}, "updated": {"type": "integer"}},
}


def trove(source: dict[str, dict[int, dict[str, Any]]]) -> SimpleNamespace:
    """A source with ``tickets`` (deleted ones come back with status "deleted") and ``notes``
    (deleted ones just vanish), both incremental on ``updated``."""
    spec = ConnectorSpec(
        name="trove",
        display_name="Trove",
        category="DEMO",
        auth_types=("NONE",),
        description="Tickets with delete markers, notes without.",
        streams=(
            StreamSpec(
                name="tickets",
                primary_key=("id",),
                cursor_field="updated",
                record_schema=SCHEMA,
                deleted=DeleteMarker(field="status", equals=("deleted",)),
            ),
            StreamSpec(name="notes", primary_key=("id",), cursor_field="updated", record_schema=SCHEMA),
        ),
    )

    async def read(
        context: Any, stream: str, settings: dict[str, Any], state: dict[str, Any] | None
    ) -> AsyncIterator[Any]:
        after = (state or {}).get("cursor", 0)
        records = sorted(
            (dict(r) for r in source[stream].values() if r["updated"] > after), key=lambda r: r["updated"]
        )
        for start in range(0, len(records), 2):  # two records a page
            page = records[start : start + 2]
            yield RecordBatch(stream=stream, records=page)
            yield StateCheckpoint(stream=stream, state={"cursor": page[-1]["updated"]})

    return SimpleNamespace(SPEC=spec, read=read)


@pytest.fixture(params=["sqlite", "postgres"])
async def warehouse_env(request: pytest.FixtureRequest, env: RunEnvironment) -> AsyncIterator[RunEnvironment]:
    """The run environment, loading into a SQLite or a Postgres warehouse."""
    if request.param == "sqlite":
        yield env
        return
    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    env.settings = env.settings.replace(warehouse_url=POSTGRES_URL)
    yield env
    destination = build_destination(POSTGRES_URL)
    await destination.open()
    try:
        for sync in await EltSync.all():
            await destination.db.execute(
                f'DROP SCHEMA IF EXISTS "{physical_schema(sync, shared=True)}" CASCADE'
            )
    finally:
        await destination.close()


@pytest.fixture
def source(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[int, dict[str, Any]]]:
    data: dict[str, dict[int, dict[str, Any]]] = {
        "tickets": {n: {"id": n, "status": "open", "updated": n} for n in range(1, 6)},
        "notes": {n: {"id": n, "status": "kept", "updated": n} for n in range(1, 8)},
    }
    monkeypatch.setitem(registry.CONNECTORS, "trove", trove(data))
    return data


async def trove_sync(env: RunEnvironment, scope: Scope, detection: str, mode: str = "INCREMENTAL") -> EltSync:
    sync = await make_sync(
        env,
        scope,
        settings={},
        integration="trove",
        schema=f"s_{uuid.uuid4().hex[:8]}",
        streams=[StreamChoice(name="tickets", sync_mode=mode), StreamChoice(name="notes", sync_mode=mode)],
    )
    return await service.update_sync(
        scope=scope,
        settings=env.settings,
        bus=None,
        sync_id=sync.id,
        changes=SyncChanges(delete_detection=detection),
    )


def deleted(rows: list[dict[str, Any]]) -> set[int]:
    return {row["id"] for row in rows if row.get(DELETED_AT) is not None}


async def test_a_delete_marker_marks_the_row_and_its_return_clears_it(
    warehouse_env: RunEnvironment, scope: Scope, source: Any
) -> None:
    env = warehouse_env
    sync = await trove_sync(env, scope, "MARKERS")
    first = await run_once(env, scope, sync)
    assert first.status == "SUCCEEDED", first.stream_stats

    source["tickets"][2] = {"id": 2, "status": "deleted", "updated": 10}
    source["tickets"][6] = {"id": 6, "status": "open", "updated": 11}
    second = await run_once(env, scope, sync)

    stats = second.stream_stats["tickets"]
    assert (stats["rowsLoaded"], stats["rowsDeleted"]) == (1, 1)
    rows = {row["id"]: row for row in await table(env, "tickets", sync)}
    assert sorted(rows) == [1, 2, 3, 4, 5, 6]
    assert deleted(list(rows.values())) == {2}
    assert rows[2]["status"] == "open"  # the marker is not loaded as data
    payload = sync_run_payload(second)
    assert payload["rowsDeleted"] == 1
    assert {s["name"]: s["rowsDeleted"] for s in payload["streams"]} == {"tickets": 1, "notes": 0}

    source["tickets"][2] = {"id": 2, "status": "reopened", "updated": 12}
    third = await run_once(env, scope, sync)
    assert third.stream_stats["tickets"]["rowsDeleted"] == 0
    rows = {row["id"]: row for row in await table(env, "tickets", sync)}
    assert deleted(list(rows.values())) == set()
    assert rows[2]["status"] == "reopened"


async def test_without_delete_detection_a_marker_is_loaded_as_data(
    warehouse_env: RunEnvironment, scope: Scope, source: Any
) -> None:
    env = warehouse_env
    sync = await trove_sync(env, scope, "OFF")
    await run_once(env, scope, sync)
    source["tickets"][2] = {"id": 2, "status": "deleted", "updated": 10}

    run = await run_once(env, scope, sync)

    assert run.stream_stats["tickets"]["rowsDeleted"] == 0
    rows = {row["id"]: row for row in await table(env, "tickets", sync)}
    assert rows[2]["status"] == "deleted" and DELETED_AT not in rows[2]


async def test_a_full_refresh_marks_the_rows_the_source_no_longer_has(
    warehouse_env: RunEnvironment, scope: Scope, source: Any
) -> None:
    env = warehouse_env
    sync = await trove_sync(env, scope, "MARKERS", mode="FULL_REFRESH")
    await run_once(env, scope, sync)
    del source["notes"][3], source["notes"][5]
    source["tickets"][1] = {"id": 1, "status": "deleted", "updated": 10}

    run = await run_once(env, scope, sync)

    assert run.status == "SUCCEEDED", run.stream_stats
    assert run.stream_stats["notes"]["rowsDeleted"] == 2
    assert run.stream_stats["tickets"]["rowsDeleted"] == 1
    notes = await table(env, "notes", sync)
    assert sorted(row["id"] for row in notes) == list(range(1, 8))
    assert deleted(notes) == {3, 5}
    assert deleted(await table(env, "tickets", sync)) == {1}


async def test_a_reconciliation_run_marks_keys_gone_from_streams_without_markers(
    warehouse_env: RunEnvironment, scope: Scope, source: Any
) -> None:
    env = warehouse_env
    sync = await trove_sync(env, scope, "RECONCILE")
    await run_once(env, scope, sync)
    await service.set_enabled(scope=scope, bus=None, sync_id=sync.id, enabled=True)
    sync = await EltSync.get(id=sync.id)
    assert sync.next_reconcile_at is not None and sync.next_reconcile_at > utcnow()
    del source["notes"][4]
    del source["tickets"][5]  # tickets have markers: a pass does not read them

    assert await start_due_reconciliations(bus=None) == []  # not due yet
    await EltSync.filter(id=sync.id).update(next_reconcile_at=utcnow() - timedelta(seconds=1))
    started = await start_due_reconciliations(bus=None)
    assert [run.trigger for run in started] == ["RECONCILE"]
    assert await start_due_reconciliations(bus=None) == []  # claimed once
    assert (await EltSync.get(id=sync.id)).next_reconcile_at > utcnow()

    assert await execute_run(env=env, run_id=started[0].id) == "SUCCEEDED"
    run = await SyncRun.get(id=started[0].id)
    assert run.stream_stats["notes"]["rowsDeleted"] == 1
    assert run.stream_stats["notes"]["keysRead"] == 6
    assert run.stream_stats["tickets"]["status"] == "SKIPPED"
    assert deleted(await table(env, "notes", sync)) == {4}
    assert deleted(await table(env, "tickets", sync)) == set()
    notes_state = (await sync.streams.filter(name="notes").first()).state
    assert notes_state == {"cursor": 7}  # a pass leaves the stream's position alone


async def test_delete_detection_inputs_are_checked_by_field(
    env: RunEnvironment, scope: Scope, source: Any
) -> None:
    sync = await trove_sync(env, scope, "OFF")
    for changes, field in (
        (SyncChanges(delete_detection="SOMETIMES"), "input.deleteDetection"),
        (SyncChanges(delete_detection=None), "input.deleteDetection"),
        (SyncChanges(reconcile_interval="every night"), "input.reconcileInterval"),
        (SyncChanges(reconcile_interval="*/5 * * * *"), "input.reconcileInterval"),
        (SyncChanges(reconcile_interval="x" * 500), "input.reconcileInterval"),
        (SyncChanges(reconcile_interval=["0 3 * * *"]), "input.reconcileInterval"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            await service.update_sync(
                scope=scope, settings=env.settings, bus=None, sync_id=sync.id, changes=changes
            )
        assert [problem.field for problem in caught.value.errors] == [field], changes

    changed = await service.update_sync(
        scope=scope,
        settings=env.settings,
        bus=None,
        sync_id=sync.id,
        changes=SyncChanges(delete_detection="RECONCILE", reconcile_interval="30 2 * * 0"),
    )
    assert (changed.delete_detection, changed.reconcile_interval) == ("RECONCILE", "30 2 * * 0")
    assert changed.next_reconcile_at is None  # disabled: nothing scheduled


async def test_the_scheduler_tick_starts_a_due_reconciliation(
    env: RunEnvironment, scope: Scope, source: Any
) -> None:
    from server.syncs.schedule import tick

    sync = await trove_sync(env, scope, "RECONCILE")
    await service.set_enabled(scope=scope, bus=None, sync_id=sync.id, enabled=True)
    await EltSync.filter(id=sync.id).update(next_reconcile_at=utcnow() - timedelta(minutes=1))

    await tick(settings=env.settings, bus=None)

    runs = await SyncRun.filter(sync_id=sync.id).values_list("trigger", "status")
    assert runs == [("RECONCILE", "QUEUED")]
