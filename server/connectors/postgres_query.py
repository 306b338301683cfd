"""The PostgreSQL connector's actions: a host's read-only query with a row cap, and the tables
it may read.

A query is a statement a tenant (or a model acting for one) wrote, so nothing in it is trusted:

- it must start with a reading keyword (``SELECT``, ``WITH``, ``VALUES``, ``TABLE``, ``SHOW``,
  ``EXPLAIN``), which keeps out ``COPY ... TO PROGRAM``, ``DO``, ``CALL`` and ``SET`` before the
  database sees them;
- it is prepared (the extended protocol), so the server refuses a second statement;
- it runs in a ``READ ONLY`` transaction that is always rolled back, with ``statement_timeout``
  set and a client-side timeout behind it (a query can change its own session settings);
- rows are fetched through a cursor, ``max_rows + 1`` at most, and the output stops at
  ``MAX_OUTPUT_BYTES`` of JSON however wide the rows are.

The database's refusals (syntax, permissions, "cannot execute INSERT in a read-only
transaction") are the input's fault: ``ActionInputError`` on ``query`` with the server's
message. Values come back as JSON: dates and times ISO 8601, decimals and non-finite floats as
strings, bytes as base64, everything else without a JSON form as its text.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg

from server.connectors.base import ActionInputError, ActionSpec
from server.connectors.http import ProviderError
from server.http import redact

STATEMENT_TIMEOUT = 15.0  # seconds, per query
DEFAULT_ROWS = 100
MAX_ROWS = 1000
MAX_OUTPUT_BYTES = 4 * 1024 * 1024  # the rows' JSON, whatever the row count
MAX_QUERY_CHARS = 100_000
MAX_PARAMETERS = 100
MAX_TABLES = 1000
READING_KEYWORDS = ("select", "with", "values", "table", "show", "explain")
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
# SQLSTATE classes that mean the statement (or its parameters) cannot run as written; any other
# class (connection, resources, operator intervention, internal) is the server's failure.
_INPUT_CLASSES = {"0A", "21", "22", "25", "2B", "2F", "38", "39", "3F", "42", "44", "P0"}

_PARAMETER = {
    "type": ["string", "number", "integer", "boolean", "null", "array", "object"],
    "description": "Converted to the type PostgreSQL infers for its $n (numbers, ISO 8601 "
    "dates, base64 for bytea, JSON for json/jsonb); cast ($1::text::inet) for other types.",
}

QUERY = ActionSpec(
    name="query",
    display_name="Run a read-only query",
    description="Run one read-only SQL statement (SELECT, WITH, VALUES, TABLE, SHOW, EXPLAIN) "
    "with positional parameters ($1, $2, ...) in a read-only transaction, with a "
    f"{int(STATEMENT_TIMEOUT)} second timeout, and return at most max_rows rows. The transaction "
    "stops writes to this database, not what the role's functions may do elsewhere: connect "
    "with a role that may only read.",
    input_schema={
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
            "parameters": {"type": "array", "items": _PARAMETER, "maxItems": MAX_PARAMETERS, "default": []},
            "max_rows": {"type": "integer", "minimum": 1, "maximum": MAX_ROWS, "default": DEFAULT_ROWS},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    output_schema={
        "type": "object",
        "properties": {
            "columns": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "type": {"type": "string"}},
                    "required": ["name", "type"],
                },
            },
            "rows": {"type": "array", "items": {"type": "array"}, "description": "In column order."},
            "row_count": {"type": "integer"},
            "truncated": {
                "type": "boolean",
                "description": "True when the query had more rows than max_rows (or than fit "
                "in the output size limit).",
            },
        },
        "required": ["columns", "rows", "row_count", "truncated"],
    },
    read_only=True,
)

_KIND_NAMES = ("table", "partitioned table", "view", "materialized view", "foreign table")

LIST_TABLES = ActionSpec(
    name="list_tables",
    display_name="List tables",
    description="The tables, views and materialized views the connection's role may read, with "
    "their columns, in one schema or in all.",
    input_schema={
        "type": "object",
        "properties": {
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": 63,
                "description": "Only this schema. Default: every schema but the system ones.",
            },
        },
        "additionalProperties": False,
    },
    output_schema={
        "type": "object",
        "properties": {
            "tables": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "schema": {"type": "string"},
                        "name": {"type": "string"},
                        "kind": {"enum": list(_KIND_NAMES)},
                        "columns": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "type": {"type": "string"},
                                    "nullable": {"type": "boolean"},
                                },
                            },
                        },
                    },
                    "required": ["schema", "name", "kind", "columns"],
                },
            },
            "truncated": {"type": "boolean", "description": f"More than {MAX_TABLES} tables."},
        },
        "required": ["tables", "truncated"],
    },
    read_only=True,
)

ACTIONS = (QUERY, LIST_TABLES)
_KINDS = dict(zip("rpvmf", _KIND_NAMES, strict=True))  # pg_class.relkind


# -- the statement's first keyword ----------------------------------------------------------


def first_keyword(sql: str) -> str:
    """The statement's first word, lower case, past whitespace, comments (``--`` and nested
    ``/* */``) and opening parentheses; "" when there is none."""
    i, n = 0, len(sql)
    while i < n:
        if sql[i].isspace() or sql[i] == "(":
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            break
    match = re.match(r"[A-Za-z_]+", sql[i:])
    return match.group(0).lower() if match else ""


def require_reading_statement(sql: str) -> None:
    word = first_keyword(sql)
    if word not in READING_KEYWORDS:
        shown = word.upper() or "nothing"
        raise ActionInputError(
            "query",
            f"only a read-only statement may run here (it starts with {shown}; allowed: "
            + ", ".join(k.upper() for k in READING_KEYWORDS)
            + ")",
        )


# -- JSON in: parameters as the types the server inferred ------------------------------------


class _Unfit(ValueError):
    """A JSON value of the wrong kind for its parameter; the message quotes no value."""


_INTEGERS = {"int2", "int4", "int8", "oid"}
_FLOATS = {"float4", "float8"}
_TEXTS = {"text", "varchar", "bpchar", "name", "char", "citext", "unknown"}


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise _Unfit("a boolean is not an integer")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value.strip())):
        return int(value)
    raise _Unfit("an integer is required")


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Unfit("a number is required")
    return value


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _Unfit("true or false is required")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise _Unfit("a string is required")


def _timestamp(value: Any, zoned: bool) -> datetime:
    moment = datetime.fromisoformat(_text(value).replace("Z", "+00:00"))
    if zoned:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _scalar(type_name: str, value: Any) -> Any:
    """``value`` (JSON) as the Python value asyncpg sends for ``type_name``; raises ValueError
    (``_Unfit`` when the message may be shown)."""
    if value is None:
        return None
    if type_name in _INTEGERS:
        return _integer(value)
    if type_name in _FLOATS:
        return float(_number(value))
    if type_name == "numeric":
        try:
            return Decimal(str(_number(value)))
        except InvalidOperation:
            raise _Unfit("a number is required") from None
    if type_name == "bool":
        return _boolean(value)
    if type_name in ("json", "jsonb"):
        return value  # the connection's codec writes it as JSON
    if type_name in _TEXTS:
        return _text(value)
    if type_name == "date":
        return date.fromisoformat(_text(value))
    if type_name in ("timestamp", "timestamptz"):
        return _timestamp(value, zoned=type_name == "timestamptz")
    if type_name == "time":
        return time.fromisoformat(_text(value))
    if type_name == "uuid":
        return uuid.UUID(_text(value))
    if type_name == "bytea":
        return base64.b64decode(_text(value), validate=True)
    if type_name == "inet":
        return ipaddress.ip_interface(_text(value))
    if type_name == "cidr":
        return ipaddress.ip_network(_text(value))
    raise _Unfit(
        f"a value of type {type_name} cannot come from JSON; cast the parameter ($n::text::{type_name})"
    )


def arguments(types: Sequence[Any], values: Sequence[Any]) -> list[Any]:
    """The query's arguments from JSON ``values``, one per ``$n`` (asyncpg ``Type``s)."""
    if len(values) != len(types):
        raise ActionInputError(
            "parameters", f"the query takes {len(types)} parameter(s), {len(values)} given"
        )
    converted = []
    for index, (kind, value) in enumerate(zip(types, values, strict=True)):
        try:
            if kind.kind == "array" and value is not None:
                if not isinstance(value, list):
                    raise _Unfit("an array is required")
                converted.append([_scalar(kind.name.removesuffix("[]"), item) for item in value])
            else:
                converted.append(_scalar(kind.name, value))
        except _Unfit as exc:
            raise ActionInputError(f"parameters.{index}", f"${index + 1} ({kind.name}): {exc}") from None
        except (ValueError, TypeError, ArithmeticError):
            # The parsers' own messages quote the value; an action's input is a customer's data.
            raise ActionInputError(
                f"parameters.{index}", f"${index + 1} ({kind.name}): not a valid {kind.name} value"
            ) from None
    return converted


# -- JSON out --------------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """A value asyncpg returned, as JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        # Not JSON numbers: the strings PostgreSQL itself prints.
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, asyncpg.Range):
        return {
            "lower": to_json(value.lower),
            "upper": to_json(value.upper),
            "lower_inclusive": value.lower_inc,
            "upper_inclusive": value.upper_inc,
            "empty": value.isempty,
        }
    if isinstance(value, asyncpg.BitString):
        return value.as_string()
    if isinstance(value, list | tuple | asyncpg.Record):
        return [to_json(v) for v in value]
    return str(value)  # uuid, inet, geometric types, ...


def _duration(value: timedelta) -> str:
    """An interval as ISO 8601 (``P1DT2H3M4.5S``; asyncpg gives intervals as timedelta)."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    seconds = value.seconds + value.microseconds / 1_000_000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = "".join(
        f"{amount:g}{unit}" for amount, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if amount
    )
    days = f"{value.days}D" if value.days else ""
    if not days and not clock:
        return "PT0S"
    return f"{sign}P{days}" + (f"T{clock}" if clock else "")


# -- running ---------------------------------------------------------------------------------


def _refusal(exc: asyncpg.PostgresError, credentials: Mapping[str, Any]) -> Exception:
    """The error an action raises for the database's refusal."""
    message = redact(f"{exc} (SQLSTATE {exc.sqlstate})", credentials)
    if exc.sqlstate == "57014":  # query_canceled: our statement_timeout
        return ActionInputError(
            "query", f"the query ran longer than {int(STATEMENT_TIMEOUT)} seconds and was cancelled"
        )
    if str(exc.sqlstate or "")[:2] in _INPUT_CLASSES:
        return ActionInputError("query", message)
    return ProviderError(0, message)


async def _in_read_only_transaction(connection: asyncpg.Connection, work: Any) -> Any:
    """Run ``work()`` in a READ ONLY transaction with the statement timeout, then roll back,
    whatever it did; the client stops waiting a little after the server should have."""
    transaction = connection.transaction(readonly=True)
    await transaction.start()
    try:
        await connection.execute(f"SET LOCAL statement_timeout = {int(STATEMENT_TIMEOUT * 1000)}")
        async with asyncio.timeout(STATEMENT_TIMEOUT + 5):
            return await work()
    finally:
        if not connection.is_closed():
            await transaction.rollback()


async def run_query(
    connection: asyncpg.Connection, input: Mapping[str, Any], credentials: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``query`` action on an open connection."""
    sql = str(input["query"])
    require_reading_statement(sql)
    max_rows = min(int(input.get("max_rows") or DEFAULT_ROWS), MAX_ROWS)

    async def work() -> tuple[list[Any], list[asyncpg.Record]]:
        statement = await connection.prepare(sql)
        args = arguments(statement.get_parameters(), list(input.get("parameters") or []))
        cursor = await statement.cursor(*args)
        return list(statement.get_attributes()), await cursor.fetch(max_rows + 1)

    try:
        attributes, records = await _in_read_only_transaction(connection, work)
    except asyncpg.PostgresError as exc:
        raise _refusal(exc, credentials) from None
    except asyncpg.DataError:  # a value asyncpg could not encode for its $n (its message quotes it)
        raise ActionInputError("parameters", "a parameter's value does not fit its type") from None
    except TimeoutError:
        connection.terminate()
        raise ActionInputError(
            "query", f"the query ran longer than {int(STATEMENT_TIMEOUT)} seconds and was cancelled"
        ) from None
    truncated = len(records) > max_rows
    rows: list[list[Any]] = []
    size = 0
    for record in records[:max_rows]:
        row = [to_json(value) for value in record]
        size += len(json.dumps(row, separators=(",", ":")))
        if size > MAX_OUTPUT_BYTES:
            truncated = True
            break
        rows.append(row)
    return {
        "columns": [{"name": a.name, "type": a.type.name} for a in attributes],
        "rows": rows,
        "row_count": len(rows),
        "truncated": truncated,
    }


_TABLES_SQL = """
SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       coalesce(json_agg(json_build_object(
                    'name', a.attname,
                    'type', format_type(a.atttypid, a.atttypmod),
                    'nullable', NOT a.attnotnull) ORDER BY a.attnum)
                FILTER (WHERE a.attnum IS NOT NULL), '[]') AS columns
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname <> ALL($1::text[])
  AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
  AND ($2::text IS NULL OR n.nspname = $2::text)
  AND has_schema_privilege(n.oid, 'USAGE')
  AND has_table_privilege(c.oid, 'SELECT')
GROUP BY n.nspname, c.relname, c.relkind
ORDER BY n.nspname, c.relname
LIMIT $3
"""


async def list_tables(
    connection: asyncpg.Connection, input: Mapping[str, Any], credentials: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``list_tables`` action on an open connection."""
    schema = input.get("schema")

    async def work() -> list[asyncpg.Record]:
        return await connection.fetch(_TABLES_SQL, list(SYSTEM_SCHEMAS), schema, MAX_TABLES + 1)

    try:
        records = await _in_read_only_transaction(connection, work)
    except asyncpg.PostgresError as exc:
        raise ProviderError(0, redact(f"{exc} (SQLSTATE {exc.sqlstate})", credentials)) from None
    except TimeoutError:
        connection.terminate()
        raise ProviderError(0, "the server did not list its tables in time") from None
    tables = [
        {
            "schema": r["schema"],
            "name": r["name"],
            "kind": _KINDS[r["kind"]],
            "columns": r["columns"] if isinstance(r["columns"], list) else json.loads(r["columns"]),
        }
        for r in records[:MAX_TABLES]
    ]
    return {"tables": tables, "truncated": len(records) > MAX_TABLES}
