"""What a finished run adds to the fleet's counters (``server.counters``), for ``/metrics``:
runs by outcome, rows by kind of change, and run durations.

Counted in ``transitions.move_run``, in the transaction that commits the run's final status, so
each run is counted once whichever process finished it, and never for an attempt that lost the
run. SKIPPED runs (and the FAILED run of a schedule that cannot be evaluated) never ran and are
created finished: the ``weir_sync_runs_finished_last_hour`` gauge shows them.
"""

from __future__ import annotations

from server.counters import CounterSpec, HistogramSpec, Increments
from server.syncs.models import SyncRun

RUNS = CounterSpec("weir_sync_runs_total", "Sync runs that ended, by outcome.", ("status",))
ROWS = CounterSpec(
    "weir_sync_rows_total",
    "Rows written by sync runs that ended: loaded in all, and of them inserted, updated and "
    "marked deleted (where the destination tells them apart).",
    ("change",),
)
DURATION = HistogramSpec(
    "weir_sync_run_duration_seconds",
    "From start to end of sync runs that ended, by outcome (runs cancelled while queued: 0).",
    (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600),
    ("status",),
)
# The per-stream figures of a run's ``stream_stats`` that ROWS adds up, and their label.
ROW_FIGURES = {
    "rowsLoaded": "loaded",
    "rowsInserted": "inserted",
    "rowsUpdated": "updated",
    "rowsDeleted": "deleted",
}


def finished_run(run: SyncRun) -> Increments:
    """The counters ``run``, just finished, adds to."""
    increments = Increments().count(RUNS, status=run.status)
    totals = dict.fromkeys(ROW_FIGURES.values(), 0)
    for stats in (run.stream_stats or {}).values():
        if not isinstance(stats, dict):
            continue
        for figure, change in ROW_FIGURES.items():
            value = stats.get(figure)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                totals[change] += value
    for change, total in totals.items():
        if total:
            increments.count(ROWS, total, change=change)
    seconds = 0.0
    if run.started_at is not None and run.finished_at is not None:
        seconds = max(0.0, (run.finished_at - run.started_at).total_seconds())
    return increments.observe(DURATION, seconds, status=run.status)
