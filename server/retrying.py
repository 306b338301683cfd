"""Riding out a blip of Weir's own database: what counts as transient, and a bounded retry.

A PostgreSQL restart cuts every open connection: the statement in flight fails with
``asyncpg.ConnectionDoesNotExistError`` ("connection was closed in the middle of operation"),
``AdminShutdownError`` (57P01) or ``InterfaceError`` ("connection is closed"). Until the server
is back, new connections fail with ``ConnectionRefusedError`` (an ``OSError``) or
``CannotConnectNowError`` (57P03, "the database system is starting up"). Tortoise 1.1.9 passes
these through untranslated and does not reconnect by itself; asyncpg's pool replaces a closed
connection at the next ``acquire``, so the same statement run again a moment later works.
SQLite answers "database is locked" when another writer kept the lock past the busy timeout.

``retry`` runs an operation again on those errors with exponential backoff (0.1 s doubling to
2 s) until a deadline; past it, ``DatabaseUnreachable`` carries the real cause.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

log = logging.getLogger("weir.retrying")

T = TypeVar("T")

FIRST_DELAY_SECONDS = 0.1
MAX_DELAY_SECONDS = 2.0

_SERVER_GOING_AWAY = (
    asyncpg.PostgresConnectionError,  # class 08, with ConnectionDoesNotExistError
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    OSError,  # refused, reset, timed out
)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) means the database was briefly away."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _SERVER_GOING_AWAY):
            return True
        if isinstance(current, asyncpg.InterfaceError) and "closed" in str(current):
            return True
        if "database is locked" in str(current):  # sqlite3.OperationalError, as Tortoise wraps it
            return True
        current = current.__cause__ or current.__context__
    return False


class DatabaseUnreachable(Exception):
    """The metadata database stayed unreachable past the deadline; the message says for how
    long and the last error."""

    def __init__(self, seconds: float, error: BaseException) -> None:
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        super().__init__(f"the metadata database was unreachable for {seconds:.0f} s: {detail}")
        self.error = error


async def retry(
    operation: Callable[[], Awaitable[T]],
    *,
    deadline_seconds: float,
    what: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """``await operation()``, again after each transient error, until ``deadline_seconds``
    have passed since the first failure; then ``DatabaseUnreachable``. Any other error is
    raised at once."""
    failed_at: float | None = None
    delay = FIRST_DELAY_SECONDS
    while True:
        try:
            result = await operation()
        except Exception as exc:
            if not is_transient(exc):
                raise
            now = time.monotonic()
            if failed_at is None:
                failed_at = now
                log.warning("%s: the database is unreachable (%s); retrying", what, type(exc).__name__)
            waited = now - failed_at
            if waited >= deadline_seconds:
                raise DatabaseUnreachable(waited, exc) from exc
            await sleep(min(delay, deadline_seconds - waited))
            delay = min(delay * 2, MAX_DELAY_SECONDS)
            continue
        if failed_at is not None:
            log.warning("%s: the database is back after %.1f s", what, time.monotonic() - failed_at)
        return result
