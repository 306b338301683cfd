"""What a PostgreSQL source holds, for ``server.connectors.postgres``: its tables and columns,
each table's key and cursor column, and each column's JSON Schema and SELECT expression.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from server.connectors.base import StreamSpec
from server.connectors.schemas import object_of

# Cursor columns picked without a setting, by name, when their type orders changes.
CURSOR_NAMES = (
    "updated_at",
    "modified_at",
    "last_modified",
    "last_modified_at",
    "updated",
    "modified",
    "_updated_at",
)
CURSOR_TYPES = {"timestamptz", "timestamp", "date", "int2", "int4", "int8", "numeric"}
# Types asyncpg decodes to a value that fits the JSON Schema type below; others are cast to text.
NATIVE = {
    "int2": "integer",
    "int4": "integer",
    "int8": "integer",
    "oid": "integer",
    "float4": "number",
    "float8": "number",
    "numeric": "number",
    "bool": "boolean",
    "text": "string",
    "varchar": "string",
    "bpchar": "string",
    "name": "string",
    "citext": "string",
    "timestamptz": "string",
    "timestamp": "string",
    "date": "string",
    "json": "json",
    "jsonb": "json",
}
# ``decimal``: exact, so destinations keep it as numeric, never as a float.
FORMATS = {"timestamptz": "date-time", "timestamp": "date-time", "date": "date", "numeric": "decimal"}
JSON_TYPES = ("object", "array", "string", "number", "boolean")


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # format_type(), e.g. ``character varying(20)``, for casts
    base: str  # pg_type.typname, e.g. ``varchar``, ``_int4`` for an array
    not_null: bool

    @property
    def select(self) -> str:
        name = quote(self.name)
        if self.base == "bytea":
            return f"encode({name}, 'base64') AS {name}"
        if self.base in NATIVE or (self.base.startswith("_") and self.base[1:] in NATIVE):
            return name
        return f"{name}::text AS {name}"

    @property
    def copy_select(self) -> str:
        """``select`` for COPY text; arrays as JSON, which the destination's ``jsonb`` takes
        (an array's own text, ``{1,2}``, is not JSON)."""
        if self.base.startswith("_"):
            return f"to_jsonb({quote(self.name)}) AS {quote(self.name)}"
        return self.select

    def state_value(self, text: str | None) -> Any:
        """A key or cursor value read as COPY text, as ``_encode`` keeps the decoded value, so
        state is the same however the rows were read."""
        if text is None:
            return None
        if self.base in ("int2", "int4", "int8", "oid"):
            return int(text)
        if self.base == "bool":
            return text == "t"
        if self.base in ("timestamptz", "timestamp"):
            with contextlib.suppress(ValueError):  # 'infinity' stays as it is
                return datetime.fromisoformat(text).isoformat()
        return text

    def json_schema(self) -> dict[str, Any]:
        element = self.base[1:] if self.base.startswith("_") else self.base
        kind = NATIVE.get(element, "string")
        if kind == "json":
            # Any JSON value; listed (rather than ``{}``) so destinations make the column JSON.
            schema: dict[str, Any] = {"type": [*JSON_TYPES, "null"]}
        else:
            schema = {"type": kind}
        if element in FORMATS:
            schema["format"] = FORMATS[element]
        if self.base.startswith("_"):
            schema = {"type": "array", "items": schema}
        if not self.not_null and isinstance(schema["type"], str):
            schema["type"] = [schema["type"], "null"]
        return schema


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    cursor: str | None

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def qualified(self) -> str:
        return f"{quote(self.schema)}.{quote(self.name)}"

    def stream(self) -> StreamSpec:
        return StreamSpec(
            name=self.name,
            primary_key=self.key,
            cursor_field=self.cursor,
            description=f"Table {self.schema}.{self.name}.",
            record_schema=object_of({c.name: c.json_schema() for c in self.columns}),
        )


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


_COLUMNS = """
SELECT c.relname AS table_name, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS sql_type,
       t.typname AS base, a.attnotnull AS not_null
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND ($2::text[] IS NULL OR c.relname = ANY($2::text[]))
  AND has_table_privilege(c.oid, 'SELECT')
ORDER BY c.relname, a.attnum
"""
# Primary keys first, then unique indexes without expressions or predicates.
_KEYS = """
SELECT c.relname AS table_name, i.indisprimary AS is_primary,
       array_agg(a.attname ORDER BY k.ord) AS columns, bool_and(a.attnotnull) AS not_null
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE n.nspname = $1 AND i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL
  AND ($2::text[] IS NULL OR c.relname = ANY($2::text[]))
GROUP BY c.relname, i.indexrelid, i.indisprimary
ORDER BY c.relname, i.indisprimary DESC, count(*), i.indexrelid
"""


async def find_tables(
    connection: asyncpg.Connection, settings: Mapping[str, Any], only: list[str] | None = None
) -> list[Table]:
    """The readable tables (and views) of ``settings["schema"]`` (``settings["tables"]`` or
    ``only`` when given), each with its key and cursor column."""
    schema = settings.get("schema") or "public"
    names = only if only is not None else (list(settings.get("tables") or []) or None)
    columns: dict[str, list[Column]] = {}
    for row in await connection.fetch(_COLUMNS, schema, names):
        columns.setdefault(row["table_name"], []).append(
            Column(row["name"], row["sql_type"], row["base"], row["not_null"])
        )
    keys: dict[str, tuple[str, ...]] = {}
    for row in await connection.fetch(_KEYS, schema, names):
        table_columns = {c.name: c for c in columns.get(row["table_name"], [])}
        # bytea is read as base64 text, which would not compare back: not usable as a key.
        usable = all(c in table_columns and table_columns[c].base != "bytea" for c in row["columns"])
        if row["table_name"] not in keys and usable and (row["is_primary"] or row["not_null"]):
            keys[row["table_name"]] = tuple(row["columns"])
    chosen = dict(settings.get("cursor_columns") or {})
    tables = []
    for name, cols in columns.items():
        by_name = {c.name: c for c in cols}
        cursor = chosen.get(name)
        if cursor not in by_name:
            cursor = next((n for n in CURSOR_NAMES if n in by_name and by_name[n].base in CURSOR_TYPES), None)
        key = keys.get(name, ())
        tables.append(Table(schema, name, tuple(cols), key, cursor if key else None))
    return tables
