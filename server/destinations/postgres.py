"""The Postgres warehouse: one schema per sync, one table per stream, loaded with COPY.

An incremental batch is copied (binary COPY, asyncpg) into a temporary staging table and merged
with one ``INSERT ... SELECT ... ON CONFLICT (primary key) DO UPDATE``, all in one transaction.
A full refresh copies straight into a new table without indexes, then adds the primary key
(keeping the last copy of a key the source sent twice) and swaps it in, in one transaction.

Values go to COPY as they come when their Python types already match the columns (the common
case for typed sources); only a batch that fails to encode is converted value by value, and a
value that still does not fit widens its column to ``text``. JSON columns are on that fast path
too: the connection encodes decoded JSON values (objects, arrays, strings, numbers) itself, in
``jsonb``'s binary format, instead of refusing them and sending the stream to conversion.

From a PostgreSQL source, batches may arrive as COPY text (``CopyBatch``) and are loaded the same
way without decoding a value; a batch the server refuses raises ``CopyRejected`` with nothing
written, and the runner loads the stream as records instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import asyncpg

from server.connectors.base import CopyBatch, JsonText
from server.destinations.base import KEYS_TABLE, CopyRejected, Destination, TableLoader, derived_name
from server.destinations.columns import DELETED_AT, SYNCED_AT, as_json, quote
from server.outbound import Policy, connect_postgres

SQL_TYPES = {
    "integer": "bigint",
    "number": "double precision",
    "decimal": "numeric",
    "boolean": "boolean",
    "timestamp": "timestamptz",
    "date": "date",
    "text": "text",
    "json": "jsonb",
}
KINDS_BY_TYPE = {
    "bigint": "integer",
    "integer": "integer",
    "smallint": "integer",
    "double precision": "number",
    "real": "number",
    "numeric": "decimal",
    "boolean": "boolean",
    "timestamp with time zone": "timestamp",
    "timestamp without time zone": "timestamp",
    "date": "date",
    "jsonb": "json",
    "json": "json",
}
# Errors that mean "these Python values do not encode as these column types".
ENCODING_ERRORS = (asyncpg.DataError, TypeError, ValueError, OverflowError)
STAGE = "_weir_stage"


def asyncpg_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


# jsonb's binary format: a version byte, then the JSON text.
_JSONB_VERSION = b"\x01"


async def _encode_json_values(connection: asyncpg.Connection) -> None:
    """Let COPY (binary) take JSON values as sources give them: a value is encoded with
    ``as_json`` (text already encoded, ``JsonText``, goes as it is). Read back, a JSON column is
    its text, as before."""

    def jsonb(value: Any) -> bytes:
        # Called once per value: text that already is JSON skips as_json's call.
        return _JSONB_VERSION + (value if type(value) is JsonText else as_json(value)).encode()

    def json_text(value: Any) -> bytes:
        return as_json(value).encode()

    await connection.set_type_codec(
        "jsonb", schema="pg_catalog", format="binary", encoder=jsonb, decoder=lambda data: data[1:].decode()
    )
    await connection.set_type_codec(
        "json", schema="pg_catalog", format="binary", encoder=json_text, decoder=lambda data: data.decode()
    )


class PostgresDestination(Destination):
    """``outbound``: the guard for a warehouse a tenant chose (a workspace's own URL); None for
    the deployment's warehouse, which is the operator's."""

    def __init__(self, url: str, *, outbound: Policy | None = None) -> None:
        self.url = url
        self.outbound = outbound
        self.connection: asyncpg.Connection | None = None

    async def open(self) -> None:
        # COPY text from a PostgreSQL source is read in this time zone and date style.
        server_settings = {"DateStyle": "ISO", "TimeZone": "UTC"}
        if self.outbound is None:
            self.connection = await asyncpg.connect(asyncpg_url(self.url), server_settings=server_settings)
            await _encode_json_values(self.connection)
            return
        # Only what a URL says about where and who: a query parameter naming a file on this
        # machine (``sslrootcert``, ``passfile``...) is not followed for a tenant's URL.
        parts = urlsplit(self.url)
        query = dict(parse_qsl(parts.query))
        self.connection = await connect_postgres(
            self.outbound,
            host=parts.hostname or "",
            port=parts.port or 5432,
            sslmode=query.get("sslmode", "prefer"),
            user=unquote(parts.username or "") or None,
            password=unquote(parts.password or "") or None,
            database=unquote(parts.path.lstrip("/")) or None,
            server_settings=server_settings,
        )
        await _encode_json_values(self.connection)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
            self.connection = None

    @property
    def db(self) -> asyncpg.Connection:
        assert self.connection is not None, "destination is not open"
        return self.connection

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
        await self.db.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        loader = PostgresTableLoader(
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
        return await self.db.fetchval(f"SELECT count(*) FROM {quote(schema)}.{quote(table)}")

    async def fetch(self, schema: str, table: str) -> list[dict[str, Any]]:
        rows = await self.db.fetch(f"SELECT * FROM {quote(schema)}.{quote(table)}")
        return [dict(row) for row in rows]


class PostgresTableLoader(TableLoader):
    def __init__(self, destination: PostgresDestination, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.destination = destination
        self._convert = False  # set once a batch needed value-by-value conversion
        self.encodes_json = True  # the connection's jsonb codec (``_encode_json_values``)

    @property
    def db(self) -> asyncpg.Connection:
        return self.destination.db

    def _name(self, table: str) -> str:
        return f"{quote(self.schema)}.{quote(table)}"

    async def _existing_columns(self, table: str) -> dict[str, str] | None:
        rows = await self.db.fetch(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            self.schema,
            table,
        )
        if not rows:
            return None
        return {
            r["column_name"]: KINDS_BY_TYPE.get(r["data_type"], "text")
            for r in rows
            if r["column_name"] != SYNCED_AT
        }

    async def _create_table(self, table: str, columns: dict[str, str]) -> None:
        defs = [f"{quote(c)} {SQL_TYPES[k]}" for c, k in columns.items()]
        defs.append(f"{quote(SYNCED_AT)} timestamptz NOT NULL DEFAULT now()")
        # The new table of a full refresh gets its primary key after loading (faster COPY).
        if self.primary_key and not self.full_refresh:
            defs.append(f"PRIMARY KEY ({', '.join(quote(k) for k in self.primary_key)})")
        await self.db.execute(f"CREATE TABLE {self._name(table)} ({', '.join(defs)})")

    async def _add_column(self, table: str, name: str, kind: str) -> None:
        await self.db.execute(
            f"ALTER TABLE {self._name(table)} ADD COLUMN IF NOT EXISTS {quote(name)} {SQL_TYPES[kind]}"
        )

    async def _widen_column(self, table: str, name: str) -> None:
        column = quote(name)
        await self.db.execute(
            f"ALTER TABLE {self._name(table)} ALTER COLUMN {column} TYPE text USING {column}::text"
        )
        # asyncpg caches the column types COPY introspects; they just changed.
        await self.db.reload_schema_state()

    async def _copy_raw(
        self,
        table: str,
        schema: str | None,
        records: list[dict[str, Any]],
        names: list[str],
        rows: list[tuple[Any, ...]] | None,
    ) -> bool:
        """COPY the values as they come; False (and nothing written) when they do not encode."""
        if self._convert:
            return False
        try:
            async with self.db.transaction():  # a savepoint: a failed COPY leaves no trace
                await self.db.copy_records_to_table(
                    table,
                    schema_name=schema,
                    columns=names,
                    records=rows if rows is not None else self.raw_rows(records, names),
                )
            return True
        except ENCODING_ERRORS:
            self._convert = True
            return False

    async def _write(
        self, records: list[dict[str, Any]], rows: list[tuple[Any, ...]] | None
    ) -> tuple[int, int]:
        names = list(self.columns)
        if self.full_refresh or not self.primary_key:
            async with self._appending():
                if not await self._copy_raw(self.target, self.schema, records, names, rows):
                    converted = await self.coerced_rows(records, names)
                    await self.db.copy_records_to_table(
                        self.target, schema_name=self.schema, columns=names, records=converted
                    )
            return len(records), 0
        unique = self.dedupe(records)
        if unique is not records:
            records, rows = unique, None
        async with self.db.transaction():
            await self.db.execute(self._stage_sql)
            if not await self._copy_raw(STAGE, None, records, names, rows):
                converted = await self.coerced_rows(records, names)  # may widen columns
                await self.db.execute(f"DROP TABLE {STAGE}")
                await self.db.execute(self._stage_sql)
                await self.db.copy_records_to_table(STAGE, columns=names, records=converted)
            return await self._merge_stage()

    def copy_text_columns(self) -> tuple[str, ...] | None:
        if any(self.columns.get(name) != kind for name, kind in self.declared.items()):
            return None
        return tuple(self.declared)

    async def write_copy(self, batch: CopyBatch) -> int:
        """Load one batch of COPY text in one transaction; return its row count."""
        if not batch.rows:
            return 0
        columns = list(batch.columns)
        inserted, updated = batch.rows, 0
        try:
            if self.full_refresh or not self.primary_key:
                async with self._appending():
                    await self.db.copy_to_table(
                        self.target,
                        schema_name=self.schema,
                        source=memoryview(batch.data),
                        columns=columns,
                        format="text",
                    )
            else:
                # Rows of one page have distinct keys (the source reads in key order).
                async with self.db.transaction():
                    await self.db.execute(self._stage_sql)
                    await self.db.copy_to_table(
                        STAGE, source=memoryview(batch.data), columns=columns, format="text"
                    )
                    inserted, updated = await self._merge_stage()
        except asyncpg.DataError as exc:
            raise CopyRejected(f"{exc.sqlstate}: {exc}") from exc
        self.count_written(batch.rows, inserted, updated)
        return batch.rows

    @contextlib.asynccontextmanager
    async def _appending(self) -> AsyncIterator[None]:
        """A transaction appending to the new table (or to a table without a key)."""
        async with self.db.transaction():
            if self.full_refresh:
                # Nobody sees the new table before the swap, whose synchronous commit
                # flushes the WAL of every batch before it: these need not wait for disk.
                await self.db.execute("SET LOCAL synchronous_commit = off")
            yield

    @property
    def _stage_sql(self) -> str:
        return f"CREATE TEMP TABLE {STAGE} (LIKE {self._name(self.target)} INCLUDING DEFAULTS) ON COMMIT DROP"

    async def _merge_stage(self) -> tuple[int, int]:
        """Upsert the staging table into the table, every column of the table; return the rows
        inserted and updated. A row's ``xmax`` is 0 when this statement created it and set when
        it replaced one (the conflict path locks and updates it); only the two counts come back."""
        names = list(self.columns)
        listed = ", ".join(quote(c) for c in names)
        keys = ", ".join(quote(k) for k in self.primary_key)
        updates = ", ".join(
            f"{quote(c)} = EXCLUDED.{quote(c)}" for c in [*names, SYNCED_AT] if c not in self.primary_key
        )
        if self.marks_deletes:
            updates += f", {quote(DELETED_AT)} = NULL"  # seen again: no longer deleted
        counts = await self.db.fetchrow(
            f"WITH merged AS (INSERT INTO {self._name(self.target)} ({listed}, {quote(SYNCED_AT)}) "
            f"SELECT {listed}, {quote(SYNCED_AT)} FROM {STAGE} "
            f"ON CONFLICT ({keys}) DO UPDATE SET {updates} RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted) AS inserted, "
            "count(*) FILTER (WHERE NOT inserted) AS updated FROM merged"
        )
        return int(counts["inserted"]), int(counts["updated"])

    async def _swap(self) -> None:
        new, old = self._name(self.target), self._name(self.table)
        # The key gets a temporary name (the old table still holds `<table>_pkey`), then the
        # name Postgres gives a key created with the table, so every swap ends the same way.
        building = quote(derived_name(self.table, "_pkey_new"))
        final = quote(derived_name(self.table, "_pkey"))
        add_key = (
            f"ALTER TABLE {new} ADD CONSTRAINT {building} PRIMARY KEY "
            f"({', '.join(quote(k) for k in self.primary_key)})"
        )
        async with self.db.transaction():
            if self.primary_key:
                try:
                    async with self.db.transaction():
                        await self.db.execute(add_key)
                except asyncpg.UniqueViolationError:
                    # The source sent a key twice: keep its last copy (the one written last).
                    match = " AND ".join(f"a.{quote(k)} = b.{quote(k)}" for k in self.primary_key)
                    await self.db.execute(
                        f"DELETE FROM {new} a USING {new} b WHERE {match} AND a.ctid < b.ctid"
                    )
                    await self.db.execute(add_key)
            await self.db.execute(f"DROP TABLE IF EXISTS {old}")
            await self.db.execute(f"ALTER TABLE {new} RENAME TO {quote(self.table)}")
            if self.primary_key:
                await self.db.execute(f"ALTER TABLE {old} RENAME CONSTRAINT {building} TO {final}")

    async def _drop(self, table: str) -> None:
        await self.db.execute(f"DROP TABLE IF EXISTS {self._name(table)}")

    async def _tables(self) -> list[str]:
        rows = await self.db.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", self.schema
        )
        return [row["table_name"] for row in rows]

    # -- deletes ---------------------------------------------------------------------------

    def _key_match(self, left: str, right: str) -> str:
        return " AND ".join(f"{left}.{quote(k)} = {right}.{quote(k)}" for k in self.primary_key)

    async def _add_deleted_column(self, table: str) -> None:
        await self.db.execute(
            f"ALTER TABLE {self._name(table)} ADD COLUMN IF NOT EXISTS {quote(DELETED_AT)} timestamptz"
        )

    async def _mark_keys(self, keys: list[tuple[Any, ...]], at: datetime) -> int:
        async with self.db.transaction():
            await self._keys_begin()
            await self._keys_add(keys)
            status = await self.db.execute(
                f"UPDATE {self._name(self.target)} t SET {quote(DELETED_AT)} = $1 "
                f"WHERE t.{quote(DELETED_AT)} IS NULL AND EXISTS "
                f"(SELECT 1 FROM {KEYS_TABLE} k WHERE {self._key_match('t', 'k')})",
                at,
            )
            await self.db.execute(f"DROP TABLE {KEYS_TABLE}")
        return int(status.split()[-1])

    async def _carry_deleted(self, columns: list[str], at: datetime) -> int:
        old, new = self._name(self.table), self._name(self.target)
        listed = ", ".join(quote(c) for c in [*columns, SYNCED_AT])
        selected = ", ".join(f"o.{quote(c)}" for c in [*columns, SYNCED_AT])
        async with self.db.transaction():
            had = await self.db.fetchval(
                "SELECT 1 FROM information_schema.columns "
                "WHERE table_schema = $1 AND table_name = $2 AND column_name = $3",
                self.schema,
                self.table,
                DELETED_AT,
            )
            since = f"coalesce(o.{quote(DELETED_AT)}, $1)" if had else "$1::timestamptz"
            rows = await self.db.fetch(
                f"INSERT INTO {new} ({listed}, {quote(DELETED_AT)}) "
                f"SELECT {selected}, {since} FROM {old} o "
                f"WHERE NOT EXISTS (SELECT 1 FROM {new} n WHERE {self._key_match('n', 'o')}) "
                f"RETURNING {quote(DELETED_AT)} = $1 AS fresh",
                at,
            )
        return sum(1 for row in rows if row["fresh"])

    async def _keys_begin(self) -> None:
        keys = ", ".join(quote(k) for k in self.primary_key)
        await self.db.execute(f"DROP TABLE IF EXISTS {KEYS_TABLE}")
        await self.db.execute(
            f"CREATE TEMP TABLE {KEYS_TABLE} AS SELECT {keys} FROM {self._name(self.target)} WITH NO DATA"
        )

    async def _keys_add(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            await self.db.copy_records_to_table(KEYS_TABLE, columns=list(self.primary_key), records=rows)

    async def _keys_end(self, at: datetime, before: datetime) -> int:
        keys = ", ".join(quote(k) for k in self.primary_key)
        async with self.db.transaction():
            await self.db.execute(f"ANALYZE {KEYS_TABLE}")
            await self.db.execute(f"CREATE INDEX ON {KEYS_TABLE} ({keys})")
            status = await self.db.execute(
                f"UPDATE {self._name(self.target)} t SET {quote(DELETED_AT)} = $1 "
                f"WHERE t.{quote(DELETED_AT)} IS NULL AND t.{quote(SYNCED_AT)} < $2 AND NOT EXISTS "
                f"(SELECT 1 FROM {KEYS_TABLE} k WHERE {self._key_match('t', 'k')})",
                at,
                before,
            )
            await self.db.execute(f"DROP TABLE {KEYS_TABLE}")
        return int(status.split()[-1])
