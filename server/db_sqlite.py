"""Weir's SQLite engine for Tortoise: its client, whose transactions take the write lock first.

``server.db`` names this module as the "engine" of every SQLite connection.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.exceptions import TransactionManagementError


class _WriteLockingTransaction(SqliteTransactionWrapper):
    """A transaction that takes SQLite's write lock when it begins (``BEGIN IMMEDIATE``).

    With a plain (deferred) ``BEGIN``, a transaction that reads and then writes holds a read
    snapshot; if the other connection (the embedded worker's) commits in between, SQLite cannot
    upgrade it and answers "database is locked" at once, without waiting ``busy_timeout``. Taking
    the lock up front makes the transaction wait its turn instead, and then read fresh rows."""

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # still locked after busy_timeout
            raise TransactionManagementError(exc) from exc


class WriteLockingSqliteClient(SqliteClient):
    """Tortoise's SQLite client whose transactions begin with the write lock (see above).

    Overrides Tortoise's private ``_in_transaction`` (tests/test_private_api_contract.py lists
    it): if a newer Tortoise stops calling it, transactions fall back to its deferred ``BEGIN``.
    """

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(_WriteLockingTransaction(self), self._lock)


# Tortoise imports a connection's "engine" module and takes its ``client_class``; its migration
# executor picks the SQLite schema editor because this module's name contains "sqlite".
client_class = WriteLockingSqliteClient
