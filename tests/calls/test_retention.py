"""Housekeeping: old calls, expired action results and key-value entries go, in bounded batches."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from server import ids
from server.actions.models import ActionResult, KeyValueEntry
from server.calls.models import CallLog
from server.calls.retention import prune_calls
from server.config import ConfigError, Settings
from server.crypto import load_key_ring
from server.orgs.models import Organization, Workspace
from server.scheduler.housekeeping import Housekeeper, run_housekeeping
from server.scheduler.main import scheduler_loop
from tests.calls.helpers import log_call

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
async def workspace(database) -> Workspace:
    organization = await Organization.create(id=ids.new_id("organization"), name="Acme")
    return await Workspace.create(id=ids.new_id("workspace"), organization=organization, name="default")


async def _calls(workspace: Workspace, *ages: timedelta) -> list[str]:
    return [(await log_call(workspace.organization_id, workspace.id, at=NOW - age)).id for age in ages]


async def _result(workspace: Workspace, expires_at: datetime) -> str:
    row = await ActionResult.create(
        id=ids.new_id("action_result"),
        organization_id=workspace.organization_id,
        idempotency_key=ids.new_id("action_result"),  # any unique key
        fingerprint="0" * 64,
        status="SUCCEEDED",
        output={"ok": True},
        expires_at=expires_at,
    )
    return row.id


async def _entry(workspace: Workspace, key: str, expires_at: datetime | None) -> str:
    row = await KeyValueEntry.create(
        id=ids.new_id("key_value_entry"),
        organization_id=workspace.organization_id,
        workspace_id=workspace.id,
        key=key,
        value={"n": 1},
        expires_at=expires_at,
    )
    return row.id


def test_the_retention_is_read_and_checked() -> None:
    assert Settings.from_env({}).call_log_retention_days == 30
    assert Settings.from_env({"WEIR_CALL_LOG_RETENTION_DAYS": "7"}).call_log_retention_days == 7
    for bad, message in (
        ("0", "must be between 1 and 3650"),
        ("week", "expected an integer"),
        ("4000", "3650"),
    ):
        with pytest.raises(ConfigError, match=message) as raised:
            Settings.from_env({"WEIR_CALL_LOG_RETENTION_DAYS": bad})
        assert str(raised.value).startswith("WEIR_CALL_LOG_RETENTION_DAYS: ")


async def test_calls_older_than_the_retention_go_oldest_first_one_batch_at_a_time(workspace) -> None:
    old = await _calls(workspace, timedelta(days=40), timedelta(days=35), timedelta(days=31))
    kept = await _calls(workspace, timedelta(days=29, hours=23), timedelta(minutes=1))

    assert await prune_calls(now=NOW, retention_days=30, limit=2) == 2
    assert set(await CallLog.all().values_list("id", flat=True)) == {old[2], *kept}
    assert await prune_calls(now=NOW, retention_days=30, limit=2) == 1
    assert await prune_calls(now=NOW, retention_days=30, limit=2) == 0
    assert sorted(await CallLog.all().values_list("id", flat=True)) == sorted(kept)
    # A shorter retention reaches further.
    assert await prune_calls(now=NOW, retention_days=1, limit=10) == 1


async def test_a_pass_prunes_every_table_and_stops_at_its_bound(workspace, settings) -> None:
    settings = dataclasses.replace(settings, call_log_retention_days=10)
    await _calls(workspace, *(timedelta(days=11 + n) for n in range(5)))
    recent_call = (await _calls(workspace, timedelta(days=9)))[0]
    for n in range(3):
        await _result(workspace, NOW - timedelta(minutes=n + 1))
    live_result = await _result(workspace, NOW + timedelta(hours=1))
    await _entry(workspace, "gone", NOW - timedelta(seconds=1))
    live_entry = await _entry(workspace, "later", NOW + timedelta(days=1))
    forever = await _entry(workspace, "forever", None)

    first = await run_housekeeping(settings=settings, now=NOW, batch=2, max_batches=2)
    assert first.deleted == {"call_log": 4, "action_results": 3, "key_value_entries": 1, "audit_log": 0}
    assert first.complete is False  # the call log had a fifth old call left

    second = await run_housekeeping(settings=settings, now=NOW, batch=2, max_batches=2)
    assert (second.deleted, second.complete) == (
        {"call_log": 1, "action_results": 0, "key_value_entries": 0, "audit_log": 0},
        True,
    )
    assert list(await CallLog.all().values_list("id", flat=True)) == [recent_call]
    assert list(await ActionResult.all().values_list("id", flat=True)) == [live_result]
    assert set(await KeyValueEntry.all().values_list("id", flat=True)) == {live_entry, forever}


async def test_the_housekeeper_runs_hourly_and_again_at_once_after_a_bounded_pass(
    workspace, settings
) -> None:
    clock = {"now": NOW}
    housekeeper = Housekeeper(batch=1, max_batches=1, clock=lambda: clock["now"])
    await _calls(workspace, timedelta(days=60), timedelta(days=50))

    assert await housekeeper.run_if_due(settings) is None  # start-up goes first
    clock["now"] += timedelta(seconds=59)
    assert await housekeeper.run_if_due(settings) is None
    clock["now"] += timedelta(seconds=1)
    assert (await housekeeper.run_if_due(settings)).deleted["call_log"] == 1
    clock["now"] += timedelta(seconds=5)
    pruned = await housekeeper.run_if_due(settings)  # stopped at its bound: due again at once
    assert pruned is not None and pruned.deleted["call_log"] == 1
    clock["now"] += timedelta(seconds=5)
    assert (await housekeeper.run_if_due(settings)).complete is True  # nothing left: done for the hour
    clock["now"] += timedelta(minutes=30)
    assert await housekeeper.run_if_due(settings) is None
    clock["now"] += timedelta(minutes=31)
    assert await housekeeper.run_if_due(settings) is not None


async def test_the_scheduler_loop_does_the_housekeeping(workspace, settings) -> None:
    old = await log_call(workspace.organization_id, workspace.id, at=datetime.now(UTC) - timedelta(days=31))
    recent = await log_call(workspace.organization_id, workspace.id)
    stop = asyncio.Event()
    loop = asyncio.create_task(
        scheduler_loop(
            settings=settings,
            bus=None,
            key_ring=load_key_ring(settings),
            interval=0.05,
            stop=stop,
            housekeeper=Housekeeper(first_after=timedelta(seconds=0.2)),
        )
    )
    for _ in range(200):
        if not await CallLog.filter(id=old.id).exists():
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(loop, 5)

    assert list(await CallLog.all().values_list("id", flat=True)) == [recent.id]
