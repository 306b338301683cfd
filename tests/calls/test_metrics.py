"""Call counts and latencies in ``/metrics``, with a bounded integration label."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from server.calls import service
from server.calls.metrics import CallMetrics, integration_label
from server.calls.models import CallLog
from server.calls.records import ACTION, FAILED, PROXY, SUCCEEDED, Call


def _call(**given: object) -> Call:
    fields: dict[str, object] = {
        "organization_id": "org_x",
        "workspace_id": None,
        "kind": PROXY,
        "integration_name": "github",
        "status": SUCCEEDED,
        "duration_ms": 40,
    }
    fields.update(given)
    return Call(**fields)  # type: ignore[arg-type]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_calls_are_counted_and_timed_at_metrics(app, client, tenant):
    metrics = app.state.runtime.services.calls.metrics
    await service.record(_call(organization_id=tenant.organization_id), metrics=metrics)
    await service.record(_call(organization_id=tenant.organization_id, duration_ms=2500), metrics=metrics)
    await service.record(
        _call(
            organization_id=tenant.organization_id,
            kind=ACTION,
            integration_name="tenant_made_crm",
            action="create_record",
            status=FAILED,
        ),
        metrics=metrics,
    )

    samples = _samples((await client.get("/metrics")).text)
    calls = "weir_connection_calls_total"
    assert samples[(calls, (("integration", "github"), ("kind", PROXY), ("status", SUCCEEDED)))] == 2
    assert samples[(calls, (("integration", "custom"), ("kind", ACTION), ("status", FAILED)))] == 1
    duration = "weir_connection_call_duration_seconds"
    assert samples[(f"{duration}_count", (("kind", PROXY),))] == 2
    assert samples[(f"{duration}_sum", (("kind", PROXY),))] == 2.54
    assert samples[(f"{duration}_bucket", (("kind", PROXY), ("le", "0.05")))] == 1
    assert samples[(f"{duration}_count", (("kind", ACTION),))] == 1


async def test_a_call_that_cannot_be_written_is_still_counted(database):
    registry = CollectorRegistry()
    metrics = CallMetrics(registry)
    await service.record(_call(organization_id=None), metrics=metrics)  # no owner: refused
    assert await CallLog.all().count() == 0
    assert (
        registry.get_sample_value(
            "weir_connection_calls_total", {"kind": PROXY, "integration": "github", "status": SUCCEEDED}
        )
        == 1
    )


def test_the_integration_label_is_the_catalog_or_custom():
    assert integration_label("slack") == "slack"
    assert integration_label("hubspot") == "hubspot"
    for chosen_by_a_tenant in ("my_crm", "x" * 64, "Slack", ""):
        assert integration_label(chosen_by_a_tenant) == "custom"
    registry = CollectorRegistry()
    metrics = CallMetrics(registry)
    for n in range(50):
        metrics.observe(_call(integration_name=f"crm_{n}", kind="WEIRD", status="?", duration_ms=-5))
    families = {family.name: family for family in registry.collect()}
    series = {
        tuple(sorted(s.labels.items()))
        for s in families["weir_connection_calls"].samples
        if s.name.endswith("_total")
    }
    assert series == {(("integration", "custom"), ("kind", "other"), ("status", "other"))}
