"""What Weir holds and has done, for ``/metrics``: runs queued and running, the age of the oldest
queued run, runs finished in the last hour by outcome, connections by health, and the fleet's
counters (``server.counters``): runs by outcome, rows, run durations and token refreshes.

Runs execute in worker processes, so counters kept in this API process would miss them; these
gauges are read from the database instead, the one place every process writes to. ``refresh``
runs before each scrape (the collector API is synchronous) and reads at most every
``CACHE_SECONDS``, so a scrape storm costs the database a handful of indexed aggregates a few
times a minute. When the database does not answer, the last figures stay and
``weir_metrics_database_up`` says 0.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from tortoise.functions import Count, Min

from server import counters
from server.connections.models import Connection
from server.connections.status import HEALTHS
from server.counters import CounterSpec, HistogramSpec, Series
from server.integrations.grant_revocation import REVOCATIONS
from server.integrations.refresh import REFRESHES
from server.syncs import metrics as sync_metrics
from server.syncs.models import SyncRun
from server.syncs.transitions import FINISHED

log = logging.getLogger("weir.metrics")

CACHE_SECONDS = 10.0
RECENT = timedelta(hours=1)
# The fleet's counters, and the label values shown at 0 before anything was counted (so a
# dashboard's rate() has a series from the first scrape).
COUNTERS: tuple[tuple[CounterSpec, tuple[str, ...]], ...] = (
    (sync_metrics.RUNS, ("SUCCEEDED", "FAILED", "CANCELLED")),
    (sync_metrics.ROWS, tuple(sync_metrics.ROW_FIGURES.values())),
    (REFRESHES, ("succeeded", "failed", "revoked")),
    (REVOCATIONS, ("revoked", "refused", "unreachable")),
)
HISTOGRAMS: tuple[HistogramSpec, ...] = (sync_metrics.DURATION,)


class StateMetrics(Collector):
    def __init__(self) -> None:
        self.queued = 0
        self.running = 0
        self.oldest_queued_seconds = 0.0
        self.finished: dict[str, int] = dict.fromkeys(FINISHED, 0)
        self.connections: dict[str, int] = dict.fromkeys(HEALTHS, 0)
        self.database_up = 0
        self.series: list[Series] = []
        self._read_at = float("-inf")

    async def refresh(self) -> None:
        """Read the figures again, unless they are younger than ``CACHE_SECONDS``."""
        if time.monotonic() - self._read_at < CACHE_SECONDS:
            return
        self._read_at = time.monotonic()
        try:
            now = datetime.now(UTC)
            active = (
                await SyncRun.filter(status__in=("QUEUED", "RUNNING"))
                .group_by("status")
                .annotate(count=Count("id"), oldest=Min("queued_at"))
                .values("status", "count", "oldest")
            )
            finished = (
                await SyncRun.filter(status__in=FINISHED, finished_at__gte=now - RECENT)
                .group_by("status")
                .annotate(count=Count("id"))
                .values("status", "count")
            )
            healths = (
                await Connection.all()
                .group_by("health")
                .annotate(count=Count("id"))
                .values("health", "count")
            )
            series = await counters.read()
        except Exception as exc:  # the database is away: keep the last figures, say so
            log.warning("state metrics not read (%s)", exc.__class__.__name__)
            self.database_up = 0
            return
        by_status = {row["status"]: row for row in active}
        self.queued = int(by_status.get("QUEUED", {}).get("count", 0))
        self.running = int(by_status.get("RUNNING", {}).get("count", 0))
        oldest = by_status.get("QUEUED", {}).get("oldest")
        if isinstance(oldest, str):  # SQLite hands an aggregate back as text
            oldest = datetime.fromisoformat(oldest)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        self.oldest_queued_seconds = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
        self.finished = dict.fromkeys(FINISHED, 0) | {row["status"]: int(row["count"]) for row in finished}
        self.connections = dict.fromkeys(HEALTHS, 0) | {
            row["health"]: int(row["count"]) for row in healths if row["health"] in HEALTHS
        }
        self.series = series
        self.database_up = 1

    def _counters(self) -> Iterator[Metric]:
        for spec, known in COUNTERS:
            family = CounterMetricFamily(spec.name, spec.help, labels=list(spec.labels))
            zeros = {((spec.labels[0], value),): 0.0 for value in known}
            totals = zeros | counters.by_labels(self.series, spec.name)
            for labels, value in sorted(totals.items()):
                family.add_metric([dict(labels)[name] for name in spec.labels], value)
            yield family
        for histogram in HISTOGRAMS:
            observed = HistogramMetricFamily(histogram.name, histogram.help, labels=list(histogram.labels))
            buckets = counters.by_labels(self.series, f"{histogram.name}_bucket")
            sums = counters.by_labels(self.series, f"{histogram.name}_sum")
            for labels, total in sorted(sums.items()):
                mine = {
                    dict(key)["le"]: value
                    for key, value in buckets.items()
                    if tuple(pair for pair in key if pair[0] != "le") == labels
                }
                bounds = [counters.bound_label(bound) for bound in (*histogram.buckets, float("inf"))]
                observed.add_metric(
                    [dict(labels)[name] for name in histogram.labels],
                    buckets=[(bound, mine.get(bound, 0.0)) for bound in bounds],
                    sum_value=total,
                )
            yield observed

    def collect(self) -> Iterator[Metric]:
        runs = GaugeMetricFamily(
            "weir_sync_runs", "Sync runs queued or running now, by status.", labels=["status"]
        )
        runs.add_metric(["QUEUED"], self.queued)
        runs.add_metric(["RUNNING"], self.running)
        yield runs
        yield GaugeMetricFamily(
            "weir_sync_queue_oldest_seconds",
            "How long the oldest queued run has waited (0 when none waits).",
            value=self.oldest_queued_seconds,
        )
        recent = GaugeMetricFamily(
            "weir_sync_runs_finished_last_hour",
            "Sync runs that ended in the last hour, by outcome.",
            labels=["status"],
        )
        for status, count in self.finished.items():
            recent.add_metric([status], count)
        yield recent
        health = GaugeMetricFamily("weir_connections", "Connections by health.", labels=["health"])
        for name, count in self.connections.items():
            health.add_metric([name], count)
        yield health
        yield from self._counters()
        yield GaugeMetricFamily(
            "weir_metrics_database_up",
            "1 when the figures above were just read from the database, 0 when it did not answer.",
            value=self.database_up,
        )
