"""Housekeeping: deleting what Weir keeps only for a while, in bounded batches.

A minute after it starts (start-up has more urgent work: runs to queue again, tokens to
refresh) and then once an hour, the scheduler (``weir scheduler``, or the embedded one of
``weir serve``) deletes
calls older than ``WEIR_CALL_LOG_RETENTION_DAYS``, audit entries older than
``WEIR_AUDIT_LOG_RETENTION_DAYS``, expired idempotency results and expired
key-value entries. Each table is pruned ``batch`` rows at a time and at most ``max_batches``
times per pass, so one pass never holds the scheduler (which also queues due syncs) for long;
when a pass stops at that bound, the next one runs at the scheduler's next tick instead of an
hour later, until the backlog is gone.

With several schedulers each one prunes: the deletes are idempotent, so at worst two delete the
same batch and one of them finds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from server.actions.housekeeping import prune_expired_action_results, prune_expired_key_values
from server.audit.service import prune_audit_log
from server.calls.retention import prune_calls
from server.config import Settings

log = logging.getLogger("weir.housekeeping")

EVERY = timedelta(hours=1)
FIRST_AFTER = timedelta(minutes=1)
BATCH = 1000
MAX_BATCHES = 20

# One pruning step: delete at most ``limit`` rows; return how many were deleted.
Prune = Callable[[int], Awaitable[int]]


@dataclass(frozen=True)
class Pruned:
    """What one pass deleted, per table, and whether it got to the end of every backlog."""

    deleted: dict[str, int] = field(default_factory=dict)
    complete: bool = True


def prunes(settings: Settings, now: datetime) -> dict[str, Prune]:
    """Every table housekeeping prunes, by name, as of ``now``."""
    return {
        "call_log": lambda limit: prune_calls(
            now=now, retention_days=settings.call_log_retention_days, limit=limit
        ),
        "action_results": lambda limit: prune_expired_action_results(now=now, limit=limit),
        "key_value_entries": lambda limit: prune_expired_key_values(now=now, limit=limit),
        "audit_log": lambda limit: prune_audit_log(
            now=now, retention_days=settings.audit_log_retention_days, limit=limit
        ),
    }


async def run_housekeeping(
    *, settings: Settings, now: datetime, batch: int = BATCH, max_batches: int = MAX_BATCHES
) -> Pruned:
    """One pass: each table, ``batch`` rows at a time, at most ``max_batches`` batches."""
    deleted: dict[str, int] = {}
    complete = True
    for name, prune in prunes(settings, now).items():
        total = 0
        for _ in range(max_batches):
            count = await prune(batch)
            total += count
            if count < batch:
                break
        else:
            complete = False  # a full last batch: more may wait
        deleted[name] = total
    if any(deleted.values()):
        log.info(
            "housekeeping deleted %s",
            ", ".join(f"{count} {name}" for name, count in deleted.items() if count),
        )
    return Pruned(deleted=deleted, complete=complete)


class Housekeeper:
    """When housekeeping is due: ``first_after`` the first tick, then every ``every``, and right
    away after a pass that stopped at its bound. A pass that failed is tried again a period
    later (not at every tick)."""

    def __init__(
        self,
        *,
        every: timedelta = EVERY,
        first_after: timedelta = FIRST_AFTER,
        batch: int = BATCH,
        max_batches: int = MAX_BATCHES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.every, self.first_after = every, first_after
        self.batch, self.max_batches, self.clock = batch, max_batches, clock
        self._next_at: datetime | None = None  # set by the first tick

    async def run_if_due(self, settings: Settings) -> Pruned | None:
        now = self.clock()
        if self._next_at is None:
            self._next_at = now + self.first_after
        if now < self._next_at:
            return None
        self._next_at = now + self.every
        pruned = await run_housekeeping(
            settings=settings, now=now, batch=self.batch, max_batches=self.max_batches
        )
        if not pruned.complete:
            self._next_at = now
        return pruned
