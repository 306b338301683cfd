"""The API process's recorder: succeeded calls written in batches, failed ones at once, nothing
lost on a clean stop or a refused batch, and a listing that reads its own process's calls."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from server.calls import recorder as recorder_module
from server.calls import service
from server.calls.models import CallLog
from server.calls.recorder import CallRecorder
from server.calls.records import FAILED
from server.webhooks.models import WebhookEvent
from tests.calls.test_record import _call, _workspace

pytestmark = pytest.mark.usefixtures("database")


async def _rows(organization_id: str) -> list[CallLog]:
    return await CallLog.filter(organization_id=organization_id).order_by("id")


async def test_succeeded_calls_wait_for_their_batch_and_keep_the_time_they_ended() -> None:
    workspace = await _workspace()
    recorder = CallRecorder(delay=0.05)
    before = datetime.now(UTC)
    await recorder.record(_call(workspace, path="/a"))
    await recorder.record(_call(workspace, path="/b"))
    assert await _rows(workspace.organization_id) == []  # not yet: they wait for the batch
    await asyncio.sleep(0.3)
    rows = await _rows(workspace.organization_id)
    assert [row.path for row in rows] == ["/a", "/b"]
    for row in rows:
        assert before - timedelta(seconds=1) <= row.created_at <= before + timedelta(seconds=1)
    await recorder.aclose()


async def test_a_failed_call_is_written_at_once_with_its_event() -> None:
    workspace = await _workspace()
    recorder = CallRecorder(delay=60)
    await recorder.record(_call(workspace, status=FAILED, error_code="PROVIDER_ERROR", http_status=500))
    (row,) = await _rows(workspace.organization_id)
    assert row.status == FAILED
    assert await WebhookEvent.filter(object_id=row.id, type="call.failed").count() == 1
    await recorder.aclose()


async def test_a_full_batch_is_written_without_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_module, "BATCH", 3)
    workspace = await _workspace()
    recorder = CallRecorder(delay=60)
    for n in range(3):
        await recorder.record(_call(workspace, path=f"/{n}"))
    assert len(await _rows(workspace.organization_id)) == 3
    await recorder.aclose()


async def test_closing_writes_what_waits() -> None:
    workspace = await _workspace()
    recorder = CallRecorder(delay=60)
    await recorder.record(_call(workspace))
    await recorder.aclose()
    assert len(await _rows(workspace.organization_id)) == 1


async def test_a_refused_batch_waits_for_the_next_try(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    workspace = await _workspace()
    recorder = CallRecorder(delay=60)
    real = service.write_succeeded
    refusals = {"left": 1}

    async def flaky(rows: list[CallLog]) -> None:
        if refusals["left"]:
            refusals["left"] -= 1
            raise ConnectionError("the database went away")
        await real(rows)

    monkeypatch.setattr(service, "write_succeeded", flaky)
    await recorder.record(_call(workspace, path="/first"))
    with caplog.at_level(logging.ERROR, logger="weir.calls"):
        await recorder.flush()  # refused: never raises, and the row stays
    assert "wait for the next batch" in caplog.text
    assert await _rows(workspace.organization_id) == []
    await recorder.record(_call(workspace, path="/second"))
    await recorder.flush()
    assert [row.path for row in await _rows(workspace.organization_id)] == ["/first", "/second"]
    await recorder.aclose()


async def test_rows_past_the_limit_are_dropped_oldest_first(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(recorder_module, "MAX_WAITING", 2)
    workspace = await _workspace()
    recorder = CallRecorder(delay=60)
    refused = {"on": True}
    real = service.write_succeeded

    async def down(rows: list[CallLog]) -> None:
        if refused["on"]:
            raise ConnectionError("the database went away")
        await real(rows)

    monkeypatch.setattr(service, "write_succeeded", down)
    with caplog.at_level(logging.ERROR, logger="weir.calls"):
        for n in range(4):
            await recorder.record(_call(workspace, path=f"/{n}"))
            await recorder.flush()
    assert "dropped the 1 oldest" in caplog.text
    refused["on"] = False
    await recorder.aclose()
    assert [row.path for row in await _rows(workspace.organization_id)] == ["/2", "/3"]
