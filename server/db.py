"""Weir's own database: the Tortoise configuration, contexts bound to one event loop, migrations.

Tortoise 1.x binds connections to a ``TortoiseContext`` and the loop that opened them. The API
process opens one context on uvicorn's loop (with Tortoise's global fallback, because request
tasks do not inherit the lifespan task's contextvars); the worker opens its own on its own loop
and enters it explicitly around each actor.
"""

from __future__ import annotations

import logging
import sqlite3
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext
from tortoise.exceptions import OperationalError
from tortoise.migrations.api import migrate as tortoise_migrate

from server.config import Settings
from server.files import private_data_dir, private_file

log = logging.getLogger("weir.db")

APP = "weir"
MODEL_MODULES = [
    "server.orgs.models",
    "server.integrations.models",
    "server.connections.models",
    "server.connect.models",
    "server.syncs.models",
    "server.webhooks.models",
    "server.calls.models",
    "server.actions.models",
    "server.audit.models",
    "server.counters",
    "server.mcp_servers.models",
]
MIGRATIONS_MODULE = "server.migrations"

# SQLite has one writer at a time; the API loop and the embedded worker both write, so wait
# for the lock instead of failing with "database is locked" (transactions take it when they
# begin: ``server.db_sqlite``).
SQLITE_BUSY_TIMEOUT_MS = 15_000


def connection_config(database_url: str) -> dict[str, Any]:
    """Tortoise connection settings for ``database_url`` (sqlite:// or postgres[ql]://)."""
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        path = (parts.netloc + parts.path) if parts.netloc else parts.path
        if path != ":memory:":
            # Created 0600 before SQLite opens it, so its -wal and -shm are 0600 too.
            private_file(Path(path))
        return {
            # Tortoise's SQLite client, its transactions taking the write lock when they begin.
            "engine": "server.db_sqlite",
            "credentials": {
                "file_path": path,
                "journal_mode": "WAL",
                "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
                "foreign_keys": "ON",
                "synchronous": "NORMAL",
            },
        }
    if parts.scheme in ("postgres", "postgresql"):
        return expand_db_url("postgres://" + database_url.split("://", 1)[1])
    raise ValueError(f"unsupported database URL scheme {parts.scheme!r}")


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(database_url)},
        "apps": {
            APP: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# Where the exceptions of a database call come from: the drivers, Tortoise, and the sockets.
_DATABASE_ERROR_MODULES = frozenset(
    ("asyncpg", "tortoise", "sqlite3", "aiosqlite", "builtins", "asyncio", "socket", "ssl")
)


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database is not answering: refused or cut
    connections, a server shutting down or starting up, too many clients, a SQLite file still
    locked after ``SQLITE_BUSY_TIMEOUT_MS``. Such a request is worth retrying, not a bug."""
    import asyncpg

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__module__.split(".")[0] not in _DATABASE_ERROR_MODULES:
            # Another client's error (Redis's wraps the socket's ConnectionRefusedError too):
            # not the database's, whatever caused it.
            return False
        if isinstance(
            current,
            ConnectionError  # refused, reset, broken pipe; Tortoise's DBConnectionError too
            | asyncpg.PostgresConnectionError
            | asyncpg.AdminShutdownError
            | asyncpg.CrashShutdownError
            | asyncpg.CannotConnectNowError
            | asyncpg.TooManyConnectionsError,
        ):
            return True
        text = str(current)
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in text:
            return True
        if isinstance(current, sqlite3.OperationalError | OperationalError) and (
            "database is locked" in text or "unable to open database file" in text
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def is_postgres(database_url: str) -> bool:
    return urlsplit(database_url).scheme in ("postgres", "postgresql")


def _private_data_dir(settings: Settings) -> None:
    """The data directory is 0700 (created on the embedded default, tightened if it exists)."""
    if settings.embedded or Path(settings.data_dir).exists():
        private_data_dir(Path(settings.data_dir))


async def open_database(settings: Settings, *, global_fallback: bool = False) -> TortoiseContext:
    """Open a Tortoise context on the running loop; ``close_database`` undoes it."""
    _private_data_dir(settings)
    ctx = TortoiseContext()
    ctx.__enter__()
    await ctx.init(
        config=tortoise_config(settings.effective_database_url),
        _enable_global_fallback=global_fallback,
    )
    return ctx


async def close_database(ctx: TortoiseContext) -> None:
    await ctx.__aexit__(None, None, None)


async def migrate(settings: Settings) -> list[str]:
    """Apply every pending migration; return the names applied."""
    _private_data_dir(settings)
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(name)
            log.info("applied migration %s.%s", app_label, name)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        async with TortoiseContext():
            await tortoise_migrate(config=tortoise_config(settings.effective_database_url), progress=progress)
            await Tortoise.close_connections()
    return applied


# For Tortoise's own CLI when writing a new migration after a model change:
#   tortoise -c server.db.TORTOISE_ORM makemigrations
# (the autodetector compares the models with the migration files, not with a live database).
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
