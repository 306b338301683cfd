"""Counts and latencies of GraphQL operations by name, for ``/metrics``."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from strawberry.extensions import SchemaExtension

from server.api.execution.fallbacks import FallbackCollector
from server.api.state_metrics import StateMetrics
from server.calls.metrics import CallMetrics

# The label of operations whose name is not given its own: past the limit, or not a GraphQL name.
OTHER = "other"
DEFAULT_MAX_OPERATION_NAMES = 100
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")


class OperationNames:
    """The operation names that get a label of their own: the first ``limit`` distinct valid
    names this process sees; every later or malformed one is ``other``.

    Names are chosen by clients, and each label value is a time series kept for the life of the
    process, so an unbounded set would let anyone grow memory and the scrape without end."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._known: set[str] = set()

    def label(self, name: str | None) -> str:
        if name is None:
            return "anonymous"
        if name in self._known:
            return name
        if len(self._known) >= self.limit or not _NAME.fullmatch(name):
            return OTHER
        self._known.add(name)
        return name


class ApiMetrics:
    def __init__(self, *, max_operation_names: int = DEFAULT_MAX_OPERATION_NAMES) -> None:
        self.operation_names = OperationNames(max_operation_names)
        self.registry = CollectorRegistry()
        self.operations = Counter(
            "weir_graphql_operations_total",
            "GraphQL operations by name, type and outcome.",
            ["operation", "type", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "weir_graphql_operation_seconds",
            "Time to execute a GraphQL operation, by name.",
            ["operation", "type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.http_requests = Counter(
            "weir_http_requests_total",
            "HTTP requests by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        # weir_connection_calls_total and its durations: handed to actions and the proxy
        # through ``Services.call_metrics``.
        self.calls = CallMetrics(self.registry)
        # weir_graphql_fast_execution_fallbacks_total, counted by the compiled executor.
        self.registry.register(FallbackCollector())
        # Runs and connections as the database holds them (read before each scrape).
        self.state = StateMetrics()
        self.registry.register(self.state)

    def extension(self) -> type[SchemaExtension]:
        metrics = self

        class OperationMetrics(SchemaExtension):
            def on_operation(self) -> Iterator[None]:
                started = time.perf_counter()
                yield
                context = self.execution_context
                name = metrics.operation_names.label(context.operation_name or None)
                try:
                    kind = context.operation_type.value
                except Exception:  # the document did not parse: no operation type
                    kind = "invalid"
                result = context.result
                outcome = "error" if result is not None and getattr(result, "errors", None) else "ok"
                metrics.operations.labels(name, kind, outcome).inc()
                metrics.latency.labels(name, kind).observe(time.perf_counter() - started)

        return OperationMetrics
