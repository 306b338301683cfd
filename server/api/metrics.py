"""Counts and latencies of GraphQL operations by name, for ``/metrics``."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from strawberry.extensions import SchemaExtension

from server.api.execution.fallbacks import FallbackCollector


class ApiMetrics:
    def __init__(self) -> None:
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
        # weir_graphql_fast_execution_fallbacks_total, counted by the compiled executor.
        self.registry.register(FallbackCollector())

    def extension(self) -> type[SchemaExtension]:
        metrics = self

        class OperationMetrics(SchemaExtension):
            def on_operation(self) -> Iterator[None]:
                started = time.perf_counter()
                yield
                context = self.execution_context
                name = context.operation_name or "anonymous"
                try:
                    kind = context.operation_type.value
                except Exception:  # the document did not parse: no operation type
                    kind = "invalid"
                result = context.result
                outcome = "error" if result is not None and getattr(result, "errors", None) else "ok"
                # Names come from clients: cap their length so labels cannot explode.
                name = name[:64]
                metrics.operations.labels(name, kind, outcome).inc()
                metrics.latency.labels(name, kind).observe(time.perf_counter() - started)

        return OperationMetrics
