"""Forgetting old calls: the call log keeps ``WEIR_CALL_LOG_RETENTION_DAYS`` days.

Run by the scheduler's housekeeping (``server.scheduler.housekeeping``), one bounded batch per
call, so a large backlog (a lowered retention, a long outage) never becomes one huge delete
that holds locks for minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from server.calls.models import CallLog


async def prune_calls(*, now: datetime, retention_days: int, limit: int) -> int:
    """Delete at most ``limit`` calls recorded more than ``retention_days`` before ``now``,
    oldest first; return how many were deleted."""
    cutoff = now - timedelta(days=retention_days)
    doomed = list(
        await CallLog.filter(created_at__lt=cutoff)
        .order_by("created_at")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not doomed:
        return 0
    return int(await CallLog.filter(id__in=doomed).delete())
