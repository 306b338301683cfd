"""``/metrics`` counts what every process did, from the fleet's counters (``server.counters``):
runs by outcome, rows, run durations and token refreshes, whichever process did them."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from server import counters
from server.api import state_metrics
from server.counters import CounterSpec, HistogramSpec, Increments
from tests.connect.conftest import acme, connect_with_oauth, provider  # noqa: F401 (fixtures)
from tests.syncs.conftest import wait_for_run
from tests.syncs.test_sync_api import CREATE, TRIGGER
from tests.syncs.test_sync_oauth_refresh import readable_testoauth  # noqa: F401 (fixture)

CALLS = CounterSpec("weir_test_calls_total", "Calls.", ("kind",))
WAIT = HistogramSpec("weir_test_wait_seconds", "Waits.", (1, 10), ("kind",))


def _value(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{name}{re.escape(labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} is not in /metrics"
    return float(match.group(1))


async def test_concurrent_adds_all_count(database: Any) -> None:
    async def one(kind: str, seconds: float) -> None:
        async with in_transaction():
            await counters.add(Increments().count(CALLS, kind=kind).observe(WAIT, seconds, kind=kind))

    await asyncio.gather(*(one("a" if n % 3 else "b", n / 4) for n in range(30)))

    series = await counters.read()
    calls = counters.by_labels(series, "weir_test_calls_total")
    assert calls == {(("kind", "a"),): 20.0, (("kind", "b"),): 10.0}
    buckets = counters.by_labels(series, "weir_test_wait_seconds_bucket")
    # Cumulative, as Prometheus reads them: b's waits are 0, 0.75, 1.5, ..., 6.75 s.
    assert buckets[(("kind", "b"), ("le", "1.0"))] == 2
    assert buckets[(("kind", "b"), ("le", "10.0"))] == 10
    assert buckets[(("kind", "b"), ("le", "+Inf"))] == 10
    assert counters.by_labels(series, "weir_test_wait_seconds_count")[(("kind", "b"),)] == 10
    assert counters.by_labels(series, "weir_test_wait_seconds_sum")[(("kind", "b"),)] == sum(
        n / 4 for n in range(0, 30, 3)
    )


async def test_a_rolled_back_transaction_counts_nothing(database: Any) -> None:
    try:
        async with in_transaction():
            await counters.add(Increments().count(CALLS, kind="a"))
            raise RuntimeError("the move failed")
    except RuntimeError:
        pass
    assert counters.by_labels(await counters.read(), "weir_test_calls_total") == {}


def test_labels_must_be_the_declared_ones() -> None:
    try:
        Increments().count(CALLS, other="x")
    except ValueError as exc:
        assert "kind" in str(exc)
    else:
        raise AssertionError("an undeclared label was accepted")


async def test_runs_rows_durations_and_refreshes_reach_metrics(
    acme: Any,  # noqa: F811
    provider: Any,  # noqa: F811
    readable_testoauth: None,  # noqa: F811
    worker: Any,
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(state_metrics, "CACHE_SECONDS", 0.0)
    before = (await acme.http.get("/metrics")).text
    assert _value(before, "weir_sync_runs_total", '{status="SUCCEEDED"}') == 0
    assert _value(before, "weir_oauth_refreshes_total", '{outcome="revoked"}') == 0

    session = await connect_with_oauth(acme, endUserExternalId="u1")
    sync_id = (
        await acme.data(
            CREATE,
            {
                "input": {
                    "connectionId": session["connectionId"],
                    "destinationSchemaName": "oauth_me",
                    "syncInterval": "0 * * * *",
                    "sourceStreams": [{"name": "me", "syncMode": "FULL_REFRESH"}],
                }
            },
        )
    )["createEltSync"]["id"]
    # The stored access token gets a 401: the run refreshes it and goes on.
    provider.revoke_access_tokens()
    run = (await acme.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]
    assert (await wait_for_run(acme, run["id"]))["status"] == "SUCCEEDED"
    # Then the grant itself is revoked: the next refresh is refused and the run fails.
    provider.revoke_access_tokens()
    provider.refresh_tokens.clear()
    run = (await acme.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]
    assert (await wait_for_run(acme, run["id"]))["status"] == "FAILED"

    text = (await acme.http.get("/metrics")).text
    assert _value(text, "weir_sync_runs_total", '{status="SUCCEEDED"}') == 1
    assert _value(text, "weir_sync_runs_total", '{status="FAILED"}') == 1
    assert _value(text, "weir_sync_rows_total", '{change="loaded"}') == 1
    assert _value(text, "weir_sync_run_duration_seconds_count", '{status="SUCCEEDED"}') == 1
    assert _value(text, "weir_sync_run_duration_seconds_bucket", '{le="+Inf",status="FAILED"}') == 1
    assert _value(text, "weir_oauth_refreshes_total", '{outcome="succeeded"}') == 1
    assert _value(text, "weir_oauth_refreshes_total", '{outcome="revoked"}') == 1
    assert _value(text, "weir_oauth_refreshes_total", '{outcome="failed"}') == 0


async def test_the_sample_dashboard_reads_only_metrics_weir_exposes(tenant: Any) -> None:
    dashboard = json.loads((Path(__file__).parents[2] / "docs" / "grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    names = {name for expr in expressions for name in re.findall(r"\bweir_[a-z_]+", expr)}
    assert len(names) >= 10
    text = (await tenant.http.get("/metrics")).text
    for name in sorted(names):
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert re.search(rf"^# TYPE {family} ", text, re.M), f"{name} is not exposed by /metrics"
