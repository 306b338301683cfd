"""Counts and latencies of action and proxy calls, for ``/metrics``.

Built by the API process into its registry (``server.api.metrics.ApiMetrics.calls``) and handed
to the actions service and the proxy route through ``Services.call_metrics``; nothing registers
itself on import, so a test's app starts with fresh series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from server.calls.records import ACTION, FAILED, PROXY, SUCCEEDED, Call
from server.connectors.registry import CONNECTORS

# The label of every integration outside the built-in catalog. Custom integrations are named by
# each organization, and each label value is a series kept for the life of the process: one
# shared value keeps the scrape bounded by the catalog's size.
CUSTOM = "custom"
OTHER = "other"
_KINDS = frozenset({ACTION, PROXY})
_STATUSES = frozenset({SUCCEEDED, FAILED})


def integration_label(name: str) -> str:
    """The catalog name, or ``custom`` for any other integration."""
    return name if name in CONNECTORS else CUSTOM


class CallMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "weir_connection_calls_total",
            "Action and proxy calls made with a connection, by kind, integration and status.",
            ["kind", "integration", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "weir_connection_call_duration_seconds",
            "Time an action or proxy call took, provider included, by kind.",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )

    def observe(self, call: Call) -> None:
        """Count one finished call and its duration."""
        kind = call.kind if call.kind in _KINDS else OTHER
        status = call.status if call.status in _STATUSES else OTHER
        self.calls.labels(kind, integration_label(call.integration_name), status).inc()
        self.duration.labels(kind).observe(max(call.duration_ms, 0) / 1000)
