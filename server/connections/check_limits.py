"""Outbound credential checks, limited per subject: one in flight, and a budget per minute.

A *subject* is what a check is about: a connection (``testConnection``) or a connect session
(``submitCredentials`` from the connect page). Every check opens a connection to the provider
on a tenant's behalf, so a tenant must not be able to multiply them:

- **single flight**: a check of a subject that is already being checked does not start another;
  it waits for the running one and gets its result.
- **reuse**: a result that finished less than ``WEIR_CHECKS_REUSE_SECONDS`` ago (default 5),
  for the same credentials (the caller passes a version: the stored ciphertext), is returned
  again. GraphQL runs a request's mutation fields one after another, so thirty aliased
  ``testConnection`` of one connection in one request make one provider call and all get its
  result; new credentials are checked at once.
- **budget**: each subject may start ``WEIR_CHECKS_PER_MINUTE`` checks in any 60 seconds; one
  more is ``RATE_LIMITED`` with ``retryAfter`` (seconds) in the error's extensions. ``0`` turns
  the budget off (single flight stays). Reused results are free.

The state lives in the process (one API replica): a deployment of N replicas allows at most N
times the budget, which still bounds what one request or one client can make Weir open.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

from server.errors import RateLimited

T = TypeVar("T")

WINDOW_SECONDS = 60.0
REUSE_SECONDS = 5.0
# Past this many tracked subjects, ones with no check in the window are forgotten.
_PRUNE_ABOVE = 10_000


class CheckLimiter:
    """Single flight and a sliding-window budget per subject, for one event loop's checks."""

    def __init__(
        self,
        *,
        per_minute: int,
        window_seconds: float = WINDOW_SECONDS,
        reuse_seconds: float = REUSE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.window_seconds = window_seconds
        self.reuse_seconds = reuse_seconds
        self._clock = clock
        self._started: dict[str, deque[float]] = {}
        self._running: dict[str, tuple[str, asyncio.Task[object]]] = {}
        self._recent: dict[str, tuple[float, str, object]] = {}

    async def run(self, subject: str, check: Callable[[], Awaitable[T]], *, version: str = "") -> T:
        """``check()``'s result for ``subject`` at ``version`` (its credentials): shared with
        every concurrent caller, and reused for ``reuse_seconds`` after it finished."""
        recent = self._recent.get(subject)
        if recent is not None and recent[1] == version and (self._clock() - recent[0] < self.reuse_seconds):
            return recent[2]  # type: ignore[return-value]
        running = self._running.get(subject)
        if running is None or running[0] != version or running[1].done():
            self.spend(subject)
            task = asyncio.ensure_future(check())
            running = self._running[subject] = (version, task)  # type: ignore[assignment]
            task.add_done_callback(lambda done: self._finished(subject, version, done))
        # Shielded: one caller going away (a closed request) must not cancel the others' check.
        return await asyncio.shield(running[1])  # type: ignore[return-value]

    def _finished(self, subject: str, version: str, done: asyncio.Task[object]) -> None:
        if self._running.get(subject, (None, None))[1] is done:
            del self._running[subject]
        if done.cancelled():
            return
        if done.exception() is None and self.reuse_seconds > 0:  # (an exception is retrieved
            # either way, so asyncio never reports it as lost)
            now = self._clock()
            self._recent[subject] = (now, version, done.result())
            if len(self._recent) > _PRUNE_ABOVE:
                self._prune(now)

    def spend(self, subject: str) -> None:
        """Count one check of ``subject`` against its budget, or raise ``RATE_LIMITED``
        (for checks that must not be shared, such as different credentials typed twice)."""
        if self.per_minute <= 0:
            return
        now = self._clock()
        started = self._started.setdefault(subject, deque())
        while started and started[0] <= now - self.window_seconds:
            started.popleft()
        if len(started) >= self.per_minute:
            retry_after = max(1, math.ceil(started[0] + self.window_seconds - now))
            raise RateLimited(
                f"too many checks of this {subject.split(':', 1)[0].replace('_', ' ')}: at most "
                f"{self.per_minute} a minute; try again in {retry_after} s",
                retry_after=retry_after,
            )
        started.append(now)
        if len(self._started) > _PRUNE_ABOVE:
            self._prune(now)

    def _prune(self, now: float) -> None:
        for key in [
            key for key, times in self._started.items() if not times or times[-1] <= now - self.window_seconds
        ]:
            del self._started[key]
        for key in [key for key, (at, _, _) in self._recent.items() if at <= now - self.reuse_seconds]:
            del self._recent[key]
