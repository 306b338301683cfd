"""Counters every Weir process adds to and ``/metrics`` reads: one table, shared by the fleet.

Runs finish in worker processes and tokens are refreshed in the API, the workers and the
scheduler alike, so a counter kept in one process's memory would show only that process's share,
and only since it started. Each event instead adds to a row of ``fleet_counters`` (one upsert,
in the caller's transaction when there is one, so a run's figures are counted exactly when its
final status commits), and each API process exposes the totals. Prometheus sees a true counter
that survives restarts; every API replica reports the same fleet-wide figure.

The events counted are few (a run finishing, a token refresh), so a row per series written a
few times a second at most costs nothing next to the work it counts. Rows of one upsert are
written in id order, so two transactions adding to the same series cannot deadlock.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model


class FleetCounter(Model):
    # The series: its name and labels, e.g. weir_sync_runs_total{"status":"FAILED"}.
    id = fields.CharField(max_length=255, primary_key=True)
    name = fields.CharField(max_length=100)
    labels = fields.TextField()  # a JSON object, keys sorted
    value = fields.FloatField(default=0)

    class Meta:
        table = "fleet_counters"


@dataclass(frozen=True)
class CounterSpec:
    """A counter: ``name`` (ending in ``_total``), its help text and its label names."""

    name: str
    help: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistogramSpec:
    """A histogram kept as counters: one per bucket (``_bucket``, cumulative), ``_sum`` and
    ``_count``, as Prometheus exposes them."""

    name: str
    help: str
    buckets: tuple[float, ...]
    labels: tuple[str, ...] = ()


@dataclass
class Increments:
    """What one event adds, collected before one ``add``."""

    amounts: dict[tuple[str, str], float] = field(default_factory=dict)

    def count(self, spec: CounterSpec, amount: float = 1, **labels: str) -> Increments:
        self._add(spec.name, _labels(spec.labels, labels), amount)
        return self

    def observe(self, spec: HistogramSpec, value: float, **labels: str) -> Increments:
        base = _labels(spec.labels, labels)
        for bound in (*spec.buckets, math.inf):
            if value <= bound:
                self._add(f"{spec.name}_bucket", {**base, "le": bound_label(bound)}, 1)
        self._add(f"{spec.name}_sum", base, value)
        self._add(f"{spec.name}_count", base, 1)
        return self

    def _add(self, name: str, labels: dict[str, str], amount: float) -> None:
        key = (name, json.dumps(labels, sort_keys=True, separators=(",", ":")))
        self.amounts[key] = self.amounts.get(key, 0) + amount


def _labels(names: tuple[str, ...], given: dict[str, str]) -> dict[str, str]:
    if set(given) != set(names):
        raise ValueError(f"labels {sorted(given)} given, {sorted(names)} expected")
    return {name: str(value) for name, value in given.items()}


def bound_label(bound: float) -> str:
    """A bucket's ``le`` label, as Prometheus writes it."""
    return "+Inf" if math.isinf(bound) else repr(float(bound))


async def add(increments: Increments, *, db: BaseDBAsyncClient | None = None) -> None:
    """Add ``increments`` to their series in one statement (on ``db``, or the connection of the
    current transaction)."""
    if not increments.amounts:
        return
    client = db or FleetCounter._meta.db
    postgres = client.capabilities.dialect == "postgres"
    rows = sorted(
        (f"{name}{labels}", name, labels, amount) for (name, labels), amount in increments.amounts.items()
    )
    values: list[object] = []
    groups = []
    for row in rows:
        start = len(values)
        values.extend(row)
        marks = [f"${start + n}" if postgres else "?" for n in range(1, 5)]
        groups.append(f"({','.join(marks)})")
    sql = (
        'INSERT INTO "fleet_counters" ("id","name","labels","value") VALUES '
        + ",".join(groups)
        + ' ON CONFLICT ("id") DO UPDATE SET "value" = "fleet_counters"."value" + excluded."value"'
    )
    await client.execute_query(sql, values)


@dataclass(frozen=True)
class Series:
    name: str
    labels: dict[str, str]
    value: float


async def read() -> list[Series]:
    """Every series and its total."""
    rows = await FleetCounter.all().values_list("name", "labels", "value")
    return [Series(name, json.loads(labels), float(value)) for name, labels, value in rows]


def by_labels(series: Iterable[Series], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The totals of series ``name``, keyed by their sorted label pairs."""
    return {tuple(sorted(item.labels.items())): item.value for item in series if item.name == name}
