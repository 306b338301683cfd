"""Column kinds: from a stream's JSON Schema (or a value) to a kind, and values to that kind.

A kind is one of ``KINDS``; each destination maps kinds to its own SQL types. ``coerce`` turns a
record value into the Python value of a kind and raises ``Misfit`` when it cannot (the loader
then widens the column to ``text``, so a value is never dropped).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from server.connectors.base import JsonText

KINDS = ("integer", "number", "decimal", "boolean", "timestamp", "date", "text", "json")
SYNCED_AT = "_weir_synced_at"
# When the row was seen deleted at the source (delete detection), else NULL; never a data column.
DELETED_AT = "_weir_deleted_at"
BIGINT = 2**63  # a Postgres bigint holds -BIGINT to BIGINT - 1
_BIGINT = BIGINT


class Misfit(Exception):
    """A value that does not fit the column's kind."""


def kind_of_schema(schema: dict[str, Any]) -> str:
    """The kind for one property of a record's JSON Schema."""
    types = schema.get("type", "string")
    if isinstance(types, list):
        types = next((t for t in types if t != "null"), "string")
    if types == "integer":
        return "integer"
    if types == "number":
        # An exact decimal (a database's ``numeric``) must not pass through a float.
        return "decimal" if schema.get("format") == "decimal" else "number"
    if types == "boolean":
        return "boolean"
    if types in ("object", "array"):
        return "json"
    if types == "string" and schema.get("format") == "date-time":
        return "timestamp"
    if types == "string" and schema.get("format") == "date":
        return "date"
    return "text"


def kinds_of_record_schema(record_schema: dict[str, Any]) -> dict[str, str]:
    return {name: kind_of_schema(prop) for name, prop in (record_schema.get("properties") or {}).items()}


def kind_of_value(value: Any) -> str:
    """The kind for a field the schema did not declare, from its first non-null value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, float):
        return "number"
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, date):
        return "date"
    if isinstance(value, dict | list):
        return "json"
    return "text"


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise Misfit
    if isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            raise Misfit from None
    else:
        raise Misfit
    if not -_BIGINT <= number < _BIGINT:
        raise Misfit
    return number


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise Misfit
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise Misfit from None
    raise Misfit


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise Misfit
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # the float's shortest text, not its binary expansion
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except ArithmeticError:
            raise Misfit from None
    raise Misfit


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise Misfit


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, date):
        found = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            found = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise Misfit from None
    else:
        raise Misfit
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        raise Misfit
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise Misfit from None
    raise Misfit


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, separators=(",", ":"))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_json(value: Any) -> JsonText:
    """``value`` as JSON text; text that already is (``JsonText``) is kept as it is."""
    if isinstance(value, JsonText):
        return value
    return JsonText(json.dumps(value, default=str, separators=(",", ":")))


COERCERS: dict[str, Callable[[Any], Any]] = {
    "integer": _integer,
    "number": _number,
    "decimal": _decimal,
    "boolean": _boolean,
    "timestamp": _timestamp,
    "date": _date,
    "text": as_text,
    "json": as_json,
}


# The Python types each converter returns unchanged (a column of only these needs no converting;
# integers must also be within ``BIGINT``, timestamps carry a zone). JSON depends on the
# destination (``TableLoader.encodes_json``).
NATIVE_TYPES: dict[str, frozenset[type]] = {
    "integer": frozenset({int}),
    "number": frozenset({float}),
    "decimal": frozenset({Decimal}),
    "boolean": frozenset({bool}),
    "timestamp": frozenset({datetime}),
    "date": frozenset({date}),
    "text": frozenset({str}),
}


def coerce(kind: str, value: Any) -> Any:
    """``value`` as a Python value of ``kind``; ``None`` stays ``None``; ``Misfit`` if it cannot."""
    if value is None:
        return None
    return COERCERS[kind](value)


def quote(identifier: str) -> str:
    """A double-quoted SQL identifier (both SQLite and Postgres)."""
    return '"' + identifier.replace('"', '""') + '"'
