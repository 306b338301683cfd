"""The SQL statements a piece of code sends, for tests that a list costs a bounded number of
queries (no N+1), whatever its length.

Tortoise logs every statement on ``tortoise.db_client`` at DEBUG. While ``sql_statements()`` is
open, a handler keeps the statements sent from the current task and the tasks it starts (a
context variable marks them), so the scheduler, workers and dispatchers running beside the test
are not counted. Only the statement text is kept: its parameters may carry secrets, and the
records do not propagate to the test's captured logs meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

_collecting: ContextVar[list[str] | None] = ContextVar("sql_statements", default=None)

_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


class _Collector(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        target = _collecting.get()
        if target is None:
            return
        statement = str(record.args[0]) if isinstance(record.args, tuple) and record.args else str(record.msg)
        if statement.lstrip().upper().startswith(_VERBS):
            target.append(statement)


@contextlib.contextmanager
def sql_statements() -> Iterator[list[str]]:
    """A list that fills with the SQL statements this task sends until the block ends."""
    logger = logging.getLogger("tortoise.db_client")
    collector = _Collector(logging.DEBUG)
    level, propagate = logger.level, logger.propagate
    statements: list[str] = []
    token = _collecting.set(statements)
    logger.addHandler(collector)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield statements
    finally:
        logger.removeHandler(collector)
        logger.setLevel(level)
        logger.propagate = propagate
        _collecting.reset(token)
