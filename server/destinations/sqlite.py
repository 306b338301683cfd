"""The SQLite warehouse of the embedded default: one file, ``<schema>__<table>`` tables.

SQLite has no schemas inside one file. ATTACH-ing one file per destination schema would need
every reader to ATTACH the same files, so Weir keeps one warehouse file (``warehouse.db`` in
the data directory) and names each table ``<schema>__<stream>``, the schema being the physical
one (``server.syncs.namespaces``): ``SELECT * FROM "ws_01jd...__demo__contacts"`` on the shared
warehouse, ``demo__contacts`` in a workspace's own file. The file is created 0600 before SQLite
opens it (``server.files``). Columns are declared with the kind's name (``INTEGER``,
``REAL``, ``BOOLEAN``, ``TIMESTAMP``, ``DATE``, ``TEXT``, ``JSON``); timestamps are ISO 8601
text. The primary key is a unique index, which ``INSERT ... ON CONFLICT`` upserts on.

``sqlite3`` calls run in a thread (``asyncio.to_thread``), one at a time per destination.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from server.destinations.base import KEYS_TABLE, Destination, TableLoader
from server.destinations.columns import DELETED_AT, SYNCED_AT, quote
from server.files import private_file

T = TypeVar("T")

# SQLite has no exact decimal type (a NUMERIC column stores REAL too): decimals are REAL here.
SQL_TYPES = {
    "integer": "INTEGER",
    "number": "REAL",
    "decimal": "REAL",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "text": "TEXT",
    # Not plain JSON: a type naming none of SQLite's affinity words gets NUMERIC affinity, which
    # stores the JSON text of a number (12345678901234567890, 1.0) as a REAL. TEXT keeps it.
    "json": "JSON TEXT",
}
KINDS_BY_TYPE = {
    "INTEGER": "integer",
    "REAL": "number",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
    "TEXT": "text",
    "JSON TEXT": "json",
    "JSON": "json",  # tables created before JSON columns had TEXT affinity
}
BUSY_TIMEOUT_SECONDS = 30


def warehouse_path(url: str) -> Path:
    parts = urlsplit(url)
    return Path((parts.netloc + parts.path) if parts.netloc else parts.path)


def table_name(schema: str, table: str) -> str:
    return f"{schema}__{table}"


def _to_sqlite(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


class SqliteDestination(Destination):
    def __init__(self, url: str) -> None:
        self.url = url
        self.path = warehouse_path(url)
        self._db: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        def connect() -> sqlite3.Connection:
            # Created 0600 before SQLite opens it, so its -wal and -shm are 0600 too.
            private_file(self.path)
            db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            return db

        self._db = await asyncio.to_thread(connect)

    async def close(self) -> None:
        async with self._lock:  # never under a call still running in a thread
            if self._db is not None:
                await asyncio.to_thread(self._db.close)
                self._db = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` with the connection in a thread, one call at a time."""
        assert self._db is not None, "destination is not open"
        db = self._db

        def in_thread() -> T:
            result = work(db)
            if isinstance(result, sqlite3.Cursor):
                # A cursor freed later, by whichever thread drops the last reference, resets
                # its cached statement; if the next call's thread is stepping that statement
                # just then, SQLite reports "bad parameter or other API misuse". Close it here.
                result.close()
                return None  # type: ignore[return-value]
            return result

        async with self._lock:
            call = asyncio.ensure_future(asyncio.to_thread(in_thread))
            try:
                return await asyncio.shield(call)
            except asyncio.CancelledError:
                # A thread cannot be stopped: wait for it, or closing the connection under it
                # (the run being interrupted, e.g. at worker shutdown) crashes the interpreter.
                with contextlib.suppress(BaseException):
                    await call
                raise

    async def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def wrapped(db: sqlite3.Connection) -> T:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

        return await self.run(wrapped)

    async def loader(
        self,
        *,
        schema: str,
        table: str,
        primary_key: tuple[str, ...],
        declared: dict[str, str],
        policy: str,
        full_refresh: bool,
        attempt: str = "",
        track_deletes: bool = False,
    ) -> TableLoader:
        loader = SqliteTableLoader(
            self,
            schema=schema,
            table=table,
            primary_key=primary_key,
            declared=declared,
            policy=policy,
            full_refresh=full_refresh,
            attempt=attempt,
            track_deletes=track_deletes,
        )
        await loader.start()
        return loader

    async def count(self, schema: str, table: str) -> int:
        name = quote(table_name(schema, table))
        return await self.run(lambda db: db.execute(f"SELECT count(*) FROM {name}").fetchone()[0])

    async def fetch(self, schema: str, table: str) -> list[dict[str, Any]]:
        name = quote(table_name(schema, table))

        def read(db: sqlite3.Connection) -> list[dict[str, Any]]:
            cursor = db.execute(f"SELECT * FROM {name}")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        return await self.run(read)


# Bound parameters per statement: SQLite before 3.32 allowed 999.
_MAX_PARAMETERS = 900


class SqliteTableLoader(TableLoader):
    def __init__(self, destination: SqliteDestination, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.destination = destination

    def _name(self, table: str) -> str:
        return quote(table_name(self.schema, table))

    async def _existing_columns(self, table: str) -> dict[str, str] | None:
        name = self._name(table)
        rows = await self.destination.run(lambda db: db.execute(f"PRAGMA table_info({name})").fetchall())
        if not rows:
            return None
        return {row[1]: KINDS_BY_TYPE.get(row[2].upper(), "text") for row in rows if row[1] != SYNCED_AT}

    def _create_sql(self, table: str, columns: dict[str, str]) -> list[str]:
        name = self._name(table)
        defs = [f"{quote(c)} {SQL_TYPES[k]}" for c, k in columns.items()]
        defs.append(f"{quote(SYNCED_AT)} TIMESTAMP")
        statements = [f"CREATE TABLE {name} ({', '.join(defs)})"]
        if self.primary_key:
            index = quote(f"{table_name(self.schema, table)}__pk")
            keys = ", ".join(quote(k) for k in self.primary_key)
            statements.append(f"CREATE UNIQUE INDEX {index} ON {name} ({keys})")
        return statements

    async def _create_table(self, table: str, columns: dict[str, str]) -> None:
        statements = self._create_sql(table, columns)

        def create(db: sqlite3.Connection) -> None:
            for statement in statements:
                db.execute(statement)

        await self.destination.transaction(create)

    async def _add_column(self, table: str, name: str, kind: str) -> None:
        sql = f"ALTER TABLE {self._name(table)} ADD COLUMN {quote(name)} {SQL_TYPES[kind]}"
        await self.destination.run(lambda db: db.execute(sql))

    async def _widen_column(self, table: str, name: str) -> None:
        # SQLite cannot change a column's type: rebuild the table with the column as TEXT,
        # copying every row (values become text), in one transaction.
        columns = dict(self.columns)
        columns[name] = "text"
        scratch = table + "__weir_widen"
        create = self._create_sql(scratch, columns)
        old, new = self._name(table), self._name(scratch)
        kept = [*columns, SYNCED_AT, *([DELETED_AT] if self.marks_deletes else [])]
        if self.marks_deletes:
            create.insert(1, f"ALTER TABLE {new} ADD COLUMN {quote(DELETED_AT)} TIMESTAMP")
        listed = ", ".join(quote(c) for c in kept)
        selected = ", ".join(f"CAST({quote(c)} AS TEXT)" if c == name else quote(c) for c in kept)
        index = quote(f"{table_name(self.schema, table)}__pk")
        scratch_index = quote(f"{table_name(self.schema, scratch)}__pk")

        def rebuild(db: sqlite3.Connection) -> None:
            for statement in create:
                db.execute(statement)
            db.execute(f"INSERT INTO {new} ({listed}) SELECT {selected} FROM {old}")
            db.execute(f"DROP TABLE {old}")
            db.execute(f"ALTER TABLE {new} RENAME TO {old}")
            if self.primary_key:
                db.execute(f"DROP INDEX {scratch_index}")
                keys = ", ".join(quote(k) for k in self.primary_key)
                db.execute(f"CREATE UNIQUE INDEX {index} ON {old} ({keys})")

        await self.destination.transaction(rebuild)

    async def _write(
        self, records: list[dict[str, Any]], rows: list[tuple[Any, ...]] | None
    ) -> tuple[int, int]:
        records = self.dedupe(records)
        names = list(self.columns)
        converted = await self.coerced_rows(records, names)
        synced_at = datetime.now().astimezone().isoformat()
        values = [[_to_sqlite(v) for v in row] + [synced_at] for row in converted]
        listed = ", ".join(quote(c) for c in [*names, SYNCED_AT])
        marks = ", ".join("?" for _ in range(len(names) + 1))
        sql = f"INSERT INTO {self._name(self.target)} ({listed}) VALUES ({marks})"
        if self.primary_key:
            keys = ", ".join(quote(k) for k in self.primary_key)
            updates = ", ".join(
                f"{quote(c)} = excluded.{quote(c)}" for c in [*names, SYNCED_AT] if c not in self.primary_key
            )
            if self.marks_deletes:
                updates += f", {quote(DELETED_AT)} = NULL"  # seen again: no longer deleted
            sql += f" ON CONFLICT ({keys}) DO UPDATE SET {updates}"

        key_positions = [names.index(k) for k in self.primary_key] if self.primary_key else []

        def insert(db: sqlite3.Connection) -> tuple[int, int]:
            keys = [[row[i] for i in key_positions] for row in values] if key_positions else []
            existing = self._existing_keys(db, keys)
            db.executemany(sql, values).close()
            return len(values) - existing, existing

        return await self.destination.transaction(insert)

    def _existing_keys(self, db: sqlite3.Connection, keys: list[list[Any]]) -> int:
        """How many of ``keys`` (distinct) the table already has, by its key index, in chunks."""
        if not keys:
            return 0
        width = len(keys[0])
        match = " AND ".join(f"t.{quote(k)} = v.column{n + 1}" for n, k in enumerate(self.primary_key))
        found = 0
        chunk = max(1, _MAX_PARAMETERS // width)
        for start in range(0, len(keys), chunk):
            part = keys[start : start + chunk]
            row_marks = "(" + ", ".join("?" for _ in range(width)) + ")"
            sql = (
                f"SELECT count(*) FROM {self._name(self.target)} AS t "
                f"JOIN (VALUES {', '.join(row_marks for _ in part)}) AS v ON {match}"
            )
            found += db.execute(sql, [value for key in part for value in key]).fetchone()[0]
        return found

    async def _swap(self) -> None:
        old, new = self._name(self.table), self._name(self.target)
        index = quote(f"{table_name(self.schema, self.table)}__pk")
        new_index = quote(f"{table_name(self.schema, self.target)}__pk")
        keys = ", ".join(quote(k) for k in self.primary_key)

        def swap(db: sqlite3.Connection) -> None:
            db.execute(f"DROP TABLE IF EXISTS {old}")
            db.execute(f"ALTER TABLE {new} RENAME TO {old}")
            if self.primary_key:
                db.execute(f"DROP INDEX IF EXISTS {new_index}")
                db.execute(f"CREATE UNIQUE INDEX {index} ON {old} ({keys})")

        await self.destination.transaction(swap)

    async def _drop(self, table: str) -> None:
        name = self._name(table)
        await self.destination.run(lambda db: db.execute(f"DROP TABLE IF EXISTS {name}"))

    async def _tables(self) -> list[str]:
        # Every schema shares the file: a table is `<schema>__<table>` (``table_name``).
        prefix = table_name(self.schema, "")

        def names(db: sqlite3.Connection) -> list[str]:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            return [row[0][len(prefix) :] for row in rows if row[0].startswith(prefix)]

        return await self.destination.run(names)

    # -- deletes ---------------------------------------------------------------------------

    def _key_match(self, left: str, right: str) -> str:
        return " AND ".join(f"{left}.{quote(k)} = {right}.{quote(k)}" for k in self.primary_key)

    async def _add_deleted_column(self, table: str) -> None:
        sql = f"ALTER TABLE {self._name(table)} ADD COLUMN {quote(DELETED_AT)} TIMESTAMP"
        await self.destination.run(lambda db: db.execute(sql))

    def _keys_create(self, db: sqlite3.Connection) -> None:
        keys = ", ".join(quote(k) for k in self.primary_key)
        db.execute(f"DROP TABLE IF EXISTS temp.{KEYS_TABLE}")
        # Created from the table: the key columns keep their types (and so their affinity).
        db.execute(f"CREATE TEMP TABLE {KEYS_TABLE} AS SELECT {keys} FROM {self._name(self.target)} WHERE 0")

    def _keys_insert(self, db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" for _ in self.primary_key)
        values = [[_to_sqlite(v) for v in row] for row in rows]
        db.executemany(f"INSERT INTO temp.{KEYS_TABLE} VALUES ({marks})", values).close()

    async def _mark_keys(self, keys: list[tuple[Any, ...]], at: datetime) -> int:
        name = self._name(self.target)

        def mark(db: sqlite3.Connection) -> int:
            self._keys_create(db)
            self._keys_insert(db, keys)
            cursor = db.execute(
                f"UPDATE {name} AS t SET {quote(DELETED_AT)} = ? WHERE t.{quote(DELETED_AT)} IS NULL "
                f"AND EXISTS (SELECT 1 FROM temp.{KEYS_TABLE} k WHERE {self._key_match('t', 'k')})",
                [_stamp(at)],
            )
            count = cursor.rowcount
            cursor.close()
            db.execute(f"DROP TABLE temp.{KEYS_TABLE}")
            return count

        return await self.destination.transaction(mark)

    async def _carry_deleted(self, columns: list[str], at: datetime) -> int:
        old, new = self._name(self.table), self._name(self.target)
        listed = ", ".join(quote(c) for c in [*columns, SYNCED_AT])
        selected = ", ".join(f"o.{quote(c)}" for c in [*columns, SYNCED_AT])

        def carry(db: sqlite3.Connection) -> int:
            had = any(row[1] == DELETED_AT for row in db.execute(f"PRAGMA table_info({old})").fetchall())
            since = f"coalesce(o.{quote(DELETED_AT)}, ?)" if had else "?"
            missing = f"NOT EXISTS (SELECT 1 FROM {new} n WHERE {self._key_match('n', 'o')})"
            fresh = 0
            if had:
                fresh = db.execute(
                    f"SELECT count(*) FROM {old} o WHERE o.{quote(DELETED_AT)} IS NULL AND {missing}"
                ).fetchone()[0]
            else:
                fresh = db.execute(f"SELECT count(*) FROM {old} o WHERE {missing}").fetchone()[0]
            db.execute(
                f"INSERT INTO {new} ({listed}, {quote(DELETED_AT)}) "
                f"SELECT {selected}, {since} FROM {old} o WHERE {missing}",
                [_stamp(at)],
            ).close()
            return int(fresh)

        return await self.destination.transaction(carry)

    async def _keys_begin(self) -> None:
        await self.destination.run(self._keys_create)

    async def _keys_add(self, rows: list[tuple[Any, ...]]) -> None:
        await self.destination.transaction(lambda db: self._keys_insert(db, rows))

    async def _keys_end(self, at: datetime, before: datetime) -> int:
        name = self._name(self.target)
        keys = ", ".join(quote(k) for k in self.primary_key)

        def mark(db: sqlite3.Connection) -> int:
            db.execute(f"CREATE INDEX temp.{KEYS_TABLE}__k ON {KEYS_TABLE} ({keys})")
            cursor = db.execute(
                f"UPDATE {name} AS t SET {quote(DELETED_AT)} = ? WHERE t.{quote(DELETED_AT)} IS NULL "
                f"AND t.{quote(SYNCED_AT)} < ? AND NOT EXISTS "
                f"(SELECT 1 FROM temp.{KEYS_TABLE} k WHERE {self._key_match('t', 'k')})",
                [_stamp(at), _stamp(before)],
            )
            count = cursor.rowcount
            cursor.close()
            db.execute(f"DROP TABLE temp.{KEYS_TABLE}")
            return count

        return await self.destination.transaction(mark)


def _stamp(at: datetime) -> str:
    """A time as the warehouse's timestamps are written (``_weir_synced_at``): ISO 8601 text in
    the machine's offset, so that they compare as text."""
    return at.astimezone(UTC).astimezone().isoformat()
