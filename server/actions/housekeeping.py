"""Forgetting what actions keep past its time: idempotency results after their 24 hours, and
key-value entries after their ``expires_at`` (entries without one stay).

Run by the scheduler's housekeeping (``server.scheduler.housekeeping``), one bounded batch per
call. A result past ``expires_at`` is already ignored by a retry; deleting it only frees space.
"""

from __future__ import annotations

from datetime import datetime

from server.actions.models import ActionResult, KeyValueEntry


async def prune_expired_action_results(*, now: datetime, limit: int) -> int:
    """Delete at most ``limit`` idempotency results expired before ``now``; return how many."""
    doomed = list(
        await ActionResult.filter(expires_at__lt=now)
        .order_by("expires_at")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not doomed:
        return 0
    return int(await ActionResult.filter(id__in=doomed).delete())


async def prune_expired_key_values(*, now: datetime, limit: int) -> int:
    """Delete at most ``limit`` key-value entries expired before ``now``; return how many."""
    doomed = list(
        await KeyValueEntry.filter(expires_at__lt=now)
        .order_by("expires_at")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not doomed:
        return 0
    return int(await KeyValueEntry.filter(id__in=doomed).delete())
