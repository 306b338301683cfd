"""``/metrics`` shows runs and connections as the database holds them: queued and running runs,
the oldest queued run's age, runs finished in the last hour by outcome, connections by health;
a database that does not answer never breaks the scrape."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from server.api import state_metrics
from server.connections.models import Connection
from server.syncs.models import SyncRun
from tests.syncs.test_runs_list import _run, _sync


def _value(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{name}{re.escape(labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} is not in /metrics"
    return float(match.group(1))


async def test_runs_and_connections_as_the_database_holds_them(
    tenant: Any, settings: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(state_metrics, "CACHE_SECONDS", 0.0)
    sync_id, connection_id = await _sync(settings, tenant.organization_id, tenant.workspace_id, "one")
    queued = await _run(sync_id, "QUEUED", 10)
    # Ten minutes before now (the helper's times are relative to when its module was imported).
    await SyncRun.filter(id=queued).update(queued_at=datetime.now(UTC) - timedelta(minutes=10))
    await _run(sync_id, "RUNNING", 5)
    for status in ("SUCCEEDED", "SUCCEEDED", "FAILED"):
        finished = await _run(sync_id, status, 3)
        await SyncRun.filter(id=finished).update(finished_at=datetime.now(UTC))
    old = await _run(sync_id, "FAILED", 300)
    await SyncRun.filter(id=old).update(finished_at=datetime.now(UTC) - timedelta(hours=5))
    await Connection.filter(id=connection_id).update(health="DEGRADED")

    text = (await tenant.http.get("/metrics")).text
    assert _value(text, "weir_sync_runs", '{status="QUEUED"}') == 1
    assert _value(text, "weir_sync_runs", '{status="RUNNING"}') == 1
    assert 590 <= _value(text, "weir_sync_queue_oldest_seconds") <= 700
    assert _value(text, "weir_sync_runs_finished_last_hour", '{status="SUCCEEDED"}') == 2
    assert _value(text, "weir_sync_runs_finished_last_hour", '{status="FAILED"}') == 1
    assert _value(text, "weir_connections", '{health="DEGRADED"}') == 1
    assert _value(text, "weir_connections", '{health="NEEDS_REAUTHORIZATION"}') == 0
    assert _value(text, "weir_metrics_database_up") == 1


async def test_a_database_that_does_not_answer_leaves_the_scrape_working(
    tenant: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(state_metrics, "CACHE_SECONDS", 0.0)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(state_metrics.SyncRun, "filter", refuse)
    response = await tenant.http.get("/metrics")
    assert response.status_code == 200
    assert _value(response.text, "weir_metrics_database_up") == 0
    assert "weir_graphql_operations_total" in response.text or "weir_http_requests_total" in response.text
