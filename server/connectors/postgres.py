"""PostgreSQL: every table of one schema, copied in keyset-paged batches in constant memory.

Python, not a catalog definition: it speaks PostgreSQL's wire protocol, not HTTP, and finds its
streams (tables) in the database.

Streams are the schema's tables, found at run time (``discover``). A table is read in batches of
``batch_size`` rows ordered by its key (the primary key, else a unique index on NOT NULL columns):
``WHERE (key) > (last key) ORDER BY key LIMIT n``, so no batch costs more than an index seek and
no query holds more than one batch. A table without such a key is read through a server-side
cursor in one transaction instead (and cannot resume). The tables, their keys, cursor columns
and column types are found by ``server.connectors.postgres_catalog``.

State, saved after every batch:

- during a first (or full) read: ``{"pk": [...], "high_water": {"cursor": c, "pk": [...]}}``:
  the last key read, and the newest ``(cursor, key)`` when the read began;
- once it finished, for a table with a cursor column: ``{"cursor": c, "pk": [...]}``, and later
  reads take ``WHERE (cursor, key) > (c, pk) ORDER BY cursor, key``. Rows whose cursor is NULL
  are copied by full reads only.

Pass ``state=None`` for a full refresh. Values in state are JSON (strings for timestamps and
decimals) and go back into queries through ``$n::text::<column type>``. Records carry asyncpg's
Python values (int, float, Decimal, bool, datetime, date, str, and dict/list for JSON); columns of
other types (uuid, inet, interval, enums, ...) are read as text, and bytea as base64 text.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

from server.connectors import postgres_query
from server.connectors.base import (
    ActionInputError,
    CheckResult,
    ConnectorContext,
    ConnectorSpec,
    CopyBatch,
    JsonText,
    RecordBatch,
    StateCheckpoint,
    StreamSpec,
)
from server.connectors.http import ProviderAuthError, ProviderError, ProviderUnreachable, redact
from server.connectors.postgres_catalog import Table, find_tables, quote
from server.connectors.schemas import form, port, secret
from server.outbound import Policy, connect_postgres

DEFAULT_BATCH = 10_000
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")

SPEC = ConnectorSpec(
    name="postgres",
    display_name="PostgreSQL",
    category="DATABASE",
    auth_types=("CUSTOM_AUTH",),
    description="Tables of a PostgreSQL database, copied in full or incrementally on a cursor column.",
    docs_url="https://www.postgresql.org/docs/current/libpq-connect.html",
    copy_text=True,
    actions=postgres_query.ACTIONS,
    auth_fields_schema=form(
        {
            "host": {
                "type": "string",
                "title": "Host",
                "minLength": 1,
                "description": "Host name or IP address of the server.",
            },
            "port": port(5432),
            "database": {"type": "string", "title": "Database", "minLength": 1},
            "user": {
                "type": "string",
                "title": "User",
                "minLength": 1,
                "description": "A role that may SELECT the tables to copy.",
            },
            "password": secret("Password"),
            "sslmode": {
                "type": "string",
                "title": "SSL mode",
                "default": "prefer",
                "enum": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"],
                "description": "As libpq's sslmode; use verify-full over the internet.",
            },
        },
        required=["host", "database", "user"],
    ),
    settings_schema=form(
        {
            "schema": {
                "type": "string",
                "title": "Schema",
                "default": "public",
                "minLength": 1,
                "description": "The schema whose tables are copied.",
            },
            "tables": {
                "type": "array",
                "title": "Tables",
                "uniqueItems": True,
                "default": [],
                "items": {"type": "string"},
                "description": "Tables to offer as streams. Empty: every table.",
            },
            "cursor_columns": {
                "type": "object",
                "title": "Cursor columns",
                "default": {},
                "additionalProperties": {"type": "string"},
                "description": "Per table, the column that grows when a row changes. Default: "
                "a timestamp column named updated_at or modified_at.",
            },
            "batch_size": {
                "type": "integer",
                "title": "Batch size",
                "default": DEFAULT_BATCH,
                "minimum": 100,
                "maximum": 100_000,
            },
        },
        required=["schema"],
    ),
)


async def connect(credentials: Mapping[str, Any], policy: Policy) -> asyncpg.Connection:
    """A read-only session to a checked address of the host; JSON columns decode to Python
    values."""
    host = str(credentials.get("host") or "")
    connection = await connect_postgres(
        policy,
        host=host,
        port=int(credentials.get("port") or 5432),
        sslmode=str(credentials.get("sslmode") or "prefer"),
        user=credentials.get("user"),
        password=credentials.get("password") or None,
        database=credentials.get("database"),
        timeout=15,
        server_settings={
            "application_name": "weir",
            "default_transaction_read_only": "on",
            # Text output (COPY, ``::text``) the same on every server.
            "DateStyle": "ISO",
            "TimeZone": "UTC",
            "extra_float_digits": "3",
            "standard_conforming_strings": "on",
        },
    )
    for name in ("json", "jsonb"):
        await connection.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    return connection


def _records(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """One dict per row. Zipping the page's column names with each row is three times as fast
    as ``dict(row.items())`` and twice ``dict(row)`` (100,000 rows of 9 columns: 0.09 s)."""
    if not rows:
        return []
    names = tuple(rows[0].keys())
    # Not strict: every row of one statement has its columns (strict=True costs 3x here).
    return [dict(zip(names, row, strict=False)) for row in rows]


def _failure(exc: BaseException, credentials: Mapping[str, Any]) -> str:
    if isinstance(exc, asyncpg.PostgresError):
        return redact(f"{exc.sqlstate}: {exc}", credentials)
    if isinstance(exc, TimeoutError):
        return "the server did not answer in time"
    return redact(f"could not connect: {exc}", credentials)


async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    """Connect and run ``SELECT 1``."""
    try:
        connection = await connect(credentials, context.outbound)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # A server that answered (a Postgres error) was reached; anything else was not.
        return CheckResult(
            ok=False, message=_failure(exc, credentials), reachable=isinstance(exc, asyncpg.PostgresError)
        )
    try:
        await connection.fetchval("SELECT 1")
    except asyncpg.PostgresError as exc:
        return CheckResult(ok=False, message=_failure(exc, credentials))
    finally:
        await connection.close()
    label = f"{credentials.get('user')}@{credentials.get('host')}/{credentials.get('database')}"
    return CheckResult(ok=True, message="connected", account_label=label)


async def discover(
    context: ConnectorContext, credentials: dict[str, Any], settings: dict[str, Any]
) -> list[StreamSpec]:
    """One stream per readable table (or view) of ``settings["schema"]``, limited to
    ``settings["tables"]`` when that is not empty."""
    connection = await connect(credentials, context.outbound)
    try:
        return [table.stream() for table in await find_tables(connection, settings)]
    finally:
        await connection.close()


async def settings_options(
    context: ConnectorContext, credentials: dict[str, Any], partial_settings: dict[str, Any]
) -> dict[str, list[Any]]:
    """The schemas the user can read, and the tables of the chosen schema (``public`` when
    none is chosen yet)."""
    connection = await connect(credentials, context.outbound)
    try:
        schemas = await connection.fetch(
            "SELECT nspname FROM pg_namespace WHERE has_schema_privilege(oid, 'USAGE') "
            "AND nspname <> ALL($1::text[]) AND nspname NOT LIKE 'pg\\_temp\\_%' "
            "AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%' ORDER BY nspname",
            list(SYSTEM_SCHEMAS),
        )
        chosen = {"schema": partial_settings.get("schema") or "public"}
        tables = await find_tables(connection, chosen)
    finally:
        await connection.close()
    return {"schema": [row["nspname"] for row in schemas], "tables": sorted(table.name for table in tables)}


def _encode(value: Any) -> Any:
    """A key or cursor value as JSON for state."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool | int | str) or value is None:
        return value
    return str(value)


def _decode(value: Any) -> str | None:
    """A JSON state value as the text ``$n::text::type`` casts back."""
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def _after(table: Table, columns: tuple[str, ...], values: list[str]) -> str:
    """`` WHERE (a, b) > (<value a>::text::ta, <value b>::text::tb)`` ('' for no columns)."""
    if not columns:
        return ""
    left = ", ".join(quote(c) for c in columns)
    right = ", ".join(
        f"{value}::text::{table.column(c).sql_type}" for c, value in zip(columns, values, strict=True)
    )
    return f" WHERE ({left}) > ({right})"


class _RecordPages:
    """Pages of a table as records of asyncpg's Python values."""

    def __init__(self, connection: asyncpg.Connection, table: Table) -> None:
        self.connection = connection
        self.table = table
        self.select = ", ".join(c.select for c in table.columns)
        self._statements: dict[str, Any] = {}

    async def fetch(
        self, after: tuple[str, ...], values: list[str | None], order: str, limit: int
    ) -> tuple[RecordBatch | None, dict[str, Any]]:
        """The page after ``values`` of the columns ``after``, and its last row's state values."""
        where = _after(self.table, after, [f"${n}" for n in range(1, len(after) + 1)])
        sql = f"SELECT {self.select} FROM {self.table.qualified}{where} ORDER BY {order} LIMIT {limit}"
        if sql not in self._statements:
            self._statements[sql] = await self.connection.prepare(sql)
        rows = await self._statements[sql].fetch(*values)
        if not rows:
            return None, {}
        records = _records(rows)
        return (
            RecordBatch(stream=self.table.name, records=records),
            {name: _encode(value) for name, value in records[-1].items()},
        )


class _CopyPages:
    """Pages of a table as COPY text: the server formats the rows, no value is decoded here.

    Only the last line of a page is parsed, for the key (and cursor) the next page starts
    after. The session's ``DateStyle``, ``TimeZone`` and ``extra_float_digits`` (``connect``)
    make the text the same whatever the server's defaults, and exact for floats.
    """

    def __init__(self, connection: asyncpg.Connection, table: Table, columns: Sequence[str]) -> None:
        self.connection = connection
        self.table = table
        self.columns = tuple(columns)
        self.select = ", ".join(table.column(name).copy_select for name in self.columns)

    async def fetch(
        self, after: tuple[str, ...], values: list[str | None], order: str, limit: int
    ) -> tuple[CopyBatch | None, dict[str, Any]]:
        # COPY takes no parameters: the values go in as literals, cast as the ``$n`` would be.
        where = _after(self.table, after, [_literal(value) for value in values])
        chunks: list[bytes] = []

        async def collect(chunk: bytes) -> None:
            chunks.append(chunk)

        await self.connection.copy_from_query(
            f"SELECT {self.select} FROM {self.table.qualified}{where} ORDER BY {order} LIMIT {limit}",
            output=collect,
            format="text",
        )
        data = b"".join(chunks)
        if not data:
            return None, {}
        last_line = data[data.rfind(b"\n", 0, len(data) - 1) + 1 : -1]
        fields = last_line.split(b"\t")
        last = {
            name: self.table.column(name).state_value(copy_text_value(field))
            for name, field in zip(self.columns, fields, strict=True)
        }
        return (
            CopyBatch(stream=self.table.name, columns=self.columns, data=data, rows=data.count(b"\n")),
            last,
        )


def _literal(value: str | None) -> str:
    """A SQL string literal (the session has ``standard_conforming_strings`` on)."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


_ESCAPES = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}
_ESCAPE = re.compile(rb"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)", re.DOTALL)


def _unescape(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    if code[:1] == b"x":
        return bytes([int(code[1:], 16)])
    if code[:1].isdigit():
        return bytes([int(code, 8) & 0xFF])
    return _ESCAPES.get(code, code)


def copy_text_value(field: bytes) -> str | None:
    """One field of a COPY text line as the value's text (``\\N`` is NULL)."""
    if field == b"\\N":
        return None
    return _ESCAPE.sub(_unescape, field).decode()


async def read(
    context: ConnectorContext,
    stream: str,
    settings: dict[str, Any],
    state: dict[str, Any] | None,
    *,
    copy_columns: Sequence[str] | None = None,
) -> AsyncIterator[RecordBatch | CopyBatch | StateCheckpoint]:
    """Batches of the table ``stream``; as COPY text of ``copy_columns`` when given (the
    runner asks for them only if they include the key and the cursor)."""
    batch = int(settings.get("batch_size") or DEFAULT_BATCH)
    connection = await connect(context.credentials, context.outbound)
    # Records carry JSON columns as their text: destinations store it as it is, instead of
    # every row's JSON being decoded here and encoded again there.
    for name in ("json", "jsonb"):
        await connection.set_type_codec(name, encoder=json.dumps, decoder=JsonText, schema="pg_catalog")
    try:
        found = await find_tables(connection, settings, only=[stream])
        if not found:
            raise ValueError(
                f"table {stream!r} not found or not readable in schema {settings.get('schema') or 'public'!r}"
            )
        table = found[0]
        positions = {*table.key, *([table.cursor] if table.cursor else [])}
        pages: _RecordPages | _CopyPages = (
            _CopyPages(connection, table, copy_columns)
            if copy_columns is not None and positions <= set(copy_columns)
            else _RecordPages(connection, table)
        )
        if not table.key:
            async for item in _read_unkeyed(connection, table, batch):
                yield item
        elif state and "cursor" in state and table.cursor:
            async for item in _read_changes(pages, table, batch, state):
                yield item
        else:
            async for item in _read_by_key(connection, pages, table, batch, state or {}):
                yield item
    finally:
        await connection.close()


async def _read_by_key(
    connection: asyncpg.Connection,
    pages: _RecordPages | _CopyPages,
    table: Table,
    batch: int,
    state: Mapping[str, Any],
) -> AsyncIterator[RecordBatch | CopyBatch | StateCheckpoint]:
    order = ", ".join(quote(c) for c in table.key)
    high_water = state.get("high_water")
    if table.cursor and "high_water" not in state:
        newest = await connection.fetchrow(
            f"SELECT {quote(table.cursor)} AS cursor, {order} FROM {table.qualified} "
            f"WHERE {quote(table.cursor)} IS NOT NULL ORDER BY {quote(table.cursor)} DESC, "
            + ", ".join(f"{quote(c)} DESC" for c in table.key)
            + " LIMIT 1"
        )
        high_water = newest and {
            "cursor": _encode(newest["cursor"]),
            "pk": [_encode(newest[c]) for c in table.key],
        }
    last = state.get("pk")
    while True:
        page, position = await (
            pages.fetch(table.key, [*map(_decode, last)], order, batch)
            if last
            else pages.fetch((), [], order, batch)
        )
        if page is None:
            break
        last = [position[c] for c in table.key]
        yield page
        progress: dict[str, Any] = {"pk": last}
        if table.cursor:
            progress["high_water"] = high_water
        yield StateCheckpoint(stream=table.name, state=progress)
        if _size(page) < batch:
            break
    if table.cursor and high_water:
        yield StateCheckpoint(stream=table.name, state=dict(high_water))


async def _read_changes(
    pages: _RecordPages | _CopyPages, table: Table, batch: int, state: Mapping[str, Any]
) -> AsyncIterator[RecordBatch | CopyBatch | StateCheckpoint]:
    """Rows after the saved ``(cursor, key)``, in that order."""
    assert table.cursor is not None
    rest = [c for c in table.key if c != table.cursor]
    ordered = (table.cursor, *rest)
    order = ", ".join(quote(c) for c in ordered)
    saved = list(state.get("pk") or [])
    if len(saved) == len(table.key):
        by_column = dict(zip(table.key, saved, strict=True))
        values, compared = [state["cursor"], *(by_column[c] for c in rest)], ordered
    else:  # a state without the key: everything after the cursor value
        values, compared = [state["cursor"]], (table.cursor,)
    while True:
        page, position = await pages.fetch(compared, [*map(_decode, values)], order, batch)
        if page is None:
            return
        values, compared = [position[c] for c in ordered], ordered
        yield page
        yield StateCheckpoint(
            stream=table.name, state={"cursor": values[0], "pk": [position[c] for c in table.key]}
        )
        if _size(page) < batch:
            return


def _size(page: RecordBatch | CopyBatch) -> int:
    return page.rows if isinstance(page, CopyBatch) else len(page.records)


async def _read_unkeyed(
    connection: asyncpg.Connection, table: Table, batch: int
) -> AsyncIterator[RecordBatch | StateCheckpoint]:
    """A table with no usable key: one server-side cursor, one batch in memory at a time."""
    select = ", ".join(c.select for c in table.columns)
    async with connection.transaction(readonly=True, isolation="repeatable_read"):
        cursor = await connection.cursor(f"SELECT {select} FROM {table.qualified}")
        while rows := await cursor.fetch(batch):
            yield RecordBatch(stream=table.name, records=_records(rows))


# -- actions (``executeAction``): ``server/connectors/postgres_query.py`` says how they run --


async def run_action(context: ConnectorContext, action: str, input: dict[str, Any]) -> Any:
    """``query`` or ``list_tables`` over a fresh read-only session (through the outbound guard)."""
    runners = {"query": postgres_query.run_query, "list_tables": postgres_query.list_tables}
    if action not in runners:
        raise ActionInputError("action", f"PostgreSQL has no action {action!r}")
    credentials = context.credentials
    try:
        connection = await connect(credentials, context.outbound)
    except asyncpg.InvalidAuthorizationSpecificationError as exc:  # SQLSTATE class 28: login refused
        raise ProviderAuthError(0, _failure(exc, credentials)) from None
    except asyncpg.PostgresError as exc:  # e.g. the database does not exist
        raise ProviderError(0, _failure(exc, credentials)) from None
    except (OSError, TimeoutError, asyncpg.InterfaceError) as exc:
        raise ProviderUnreachable(0, _failure(exc, credentials)) from None
    try:
        return await runners[action](connection, input, credentials)
    finally:
        if not connection.is_closed():
            await connection.close()
