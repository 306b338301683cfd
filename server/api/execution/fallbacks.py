"""How often the fast path handed an operation to graphql-core, and why, for ``/metrics``.

A fallback happens only while planning, before any resolver has run: an operation with a
construct the planner does not compile (``unsupported``: introspection, abstract types,
@defer, middleware...) or one whose planning failed unexpectedly (``planning_error``: most
likely graphql-core or Strawberry changed under us; logged with its traceback). Counted per
execution, process-wide, like the plans themselves; each app's registry reads the same counts
through ``FallbackCollector``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

UNSUPPORTED = "unsupported"
PLANNING_ERROR = "planning_error"
REASONS = (UNSUPPORTED, PLANNING_ERROR)

METRIC = "weir_graphql_fast_execution_fallbacks"

_counts = dict.fromkeys(REASONS, 0)


def record(reason: str) -> None:
    _counts[reason] += 1


def count(reason: str) -> int:
    return _counts[reason]


class FallbackCollector(Collector):
    """``weir_graphql_fast_execution_fallbacks_total{reason}``."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            METRIC,
            "Queries the compiled executor handed to graphql-core before running any resolver, by reason.",
            labels=["reason"],
        )
        for reason in REASONS:
            family.add_metric([reason], _counts[reason])
        yield family
