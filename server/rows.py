"""Rows for read paths: plain slotted objects from one hand-built SELECT, instead of models.

Reading a page of 100 end users through Tortoise cost ~5 ms against ~1 ms for its SELECT: the
statement is built anew by pypika for every request (~0.4 ms), and every model costs tens of
microseconds, most of it parsing datetimes with the pure-Python ``iso8601`` (Tortoise's fallback
without ``ciso8601``). A read that only shows data reads rows instead.

A row class is a slotted dataclass built from the model's field map: every column, by the
model's attribute names (``workspace_id``, ``created_at``), so code written against the model
reads a row unchanged, and a field added to the model is in its rows too (``leave_out`` names a
column that no read may show, such as a secret's hash). ``RowReader.select`` covers what list
and lookup reads filter on: columns equal to values, ids in a set, ids after a cursor, in id
order, with a limit. Values are always bound parameters; identifiers come from the model's
metadata only. Values are converted as the model's own fields convert them, with two shortcuts:
text comes back from both drivers as ``str`` already (SQLite gives a VARCHAR column TEXT
affinity), and datetimes are parsed by ``datetime.fromisoformat`` and given the field's
time-zone rules directly (~1 us, against ~25 us through Tortoise). tests/api/test_rows.py checks
rows against models, field by field.

Rows are for reading: nothing saves them. Services keep returning models where a caller
changes the object.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any, Generic, TypeVar

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.base import Field as ModelField
from tortoise.fields.data import DatetimeField
from tortoise.models import Model
from tortoise.router import router

R = TypeVar("R")
Convert = Callable[[Any], Any]


def row_class(model: type[Model], *, leave_out: Collection[str] = ()) -> type[Any]:
    """A slotted dataclass ``<Model>Row`` with a field for each column of ``model`` (a foreign
    key by its ``<name>_id`` attribute), the primary key first, except those in ``leave_out``."""
    meta = model._meta
    # Before Tortoise links the models a foreign key's ``<name>_id`` is not yet in the field
    # map (afterwards it is, beside the key itself); data fields are in fields_db_projection
    # from the start.
    columns = list(
        dict.fromkeys(
            f"{name}_id" if name in meta.fk_fields else name
            for name in meta.fields_map
            if name in meta.fk_fields or name in meta.fields_db_projection
        )
    )
    unknown = set(leave_out) - set(columns)
    if unknown:
        raise ValueError(f"{model.__name__} has no column {sorted(unknown)}")
    names = [meta.pk_attr] + [name for name in columns if name != meta.pk_attr and name not in leave_out]
    return dataclasses.make_dataclass(f"{model.__name__}Row", [(name, Any) for name in names], slots=True)


class RowReader(Generic[R]):
    """Reads rows of ``model`` as ``row_type`` objects (inside a transaction, through the
    transaction's connection, as a queryset would)."""

    def __init__(self, model: type[Model], *, leave_out: Collection[str] = ()) -> None:
        self.model, self.leave_out = model, frozenset(leave_out)
        self.row_type: type[R] = row_class(model, leave_out=leave_out)
        self.names = tuple(field.name for field in dataclasses.fields(self.row_type))  # type: ignore[arg-type]
        self._prepared: _Prepared | None = None

    async def select(
        self,
        where: Iterable[tuple[str, Any]],
        *,
        ids: Collection[str] | None = None,
        after_id: str | None = None,
        limit: int | None = None,
    ) -> list[R]:
        """Rows whose fields equal every ``(field, value)`` of ``where`` (and whose id is in
        ``ids`` and after ``after_id``, when given), in id order, at most ``limit``."""
        if ids is not None and not ids:
            return []
        prepared = self._prepared or self._prepare()
        db: BaseDBAsyncClient = router.db_for_read(self.model) or self.model._meta.db
        mark = _placeholders(db)
        values: list[Any] = []
        conditions = []
        for name, value in where:
            values.append(value)
            conditions.append(f"{prepared.columns[name]}={mark(len(values))}")
        if ids is not None:
            start = len(values)
            values.extend(ids)
            marks = ",".join(mark(start + n + 1) for n in range(len(ids)))
            conditions.append(f"{prepared.id_column} IN ({marks})")
        if after_id is not None:
            values.append(after_id)
            conditions.append(f"{prepared.id_column}>{mark(len(values))}")
        sql = prepared.select
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        sql += f" ORDER BY {prepared.id_column}"
        if limit is not None:
            values.append(limit)
            sql += f" LIMIT {mark(len(values))}"
        _, records = await db.execute_query(sql, values)
        return prepared.rows(records)

    def _prepare(self) -> _Prepared:
        # Not in __init__: a model's fields are known only once Tortoise is initialised.
        self._prepared = _Prepared(self.model, self.row_type, self.names)
        return self._prepared


class _Prepared:
    """What a reader needs of its model's metadata, looked up once."""

    def __init__(self, model: type[Model], row_type: type[Any], names: tuple[str, ...]) -> None:
        meta = model._meta
        self.columns = {name: _quoted(column) for name, column in meta.fields_db_projection.items()}
        self.id_column = self.columns[meta.pk_attr]
        self.select = f"SELECT {','.join(self.columns[name] for name in names)} FROM {_quoted(meta.db_table)}"
        self.row_type, self.names = row_type, names
        self.converters = tuple(_converter(meta.fields_map[name]) for name in names)

    def rows(self, records: Iterable[Any]) -> list[Any]:
        row_type = self.row_type
        converted = [
            (name, make()) for name, make in zip(self.names, self.converters, strict=True) if make is not None
        ]
        rows = [row_type(*record) for record in records]
        for name, convert in converted:
            for row in rows:
                setattr(row, name, convert(getattr(row, name)))
        return rows


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _placeholders(db: BaseDBAsyncClient) -> Callable[[int], str]:
    """The n-th (from 1) bound parameter in the connection's SQL dialect."""
    dialect = db.capabilities.dialect
    if dialect == "postgres":
        return lambda number: f"${number}"
    if dialect == "sqlite":
        return lambda number: "?"
    raise ValueError(f"rows are read from SQLite and PostgreSQL databases only, not {dialect}")


def _converter(field: ModelField[Any]) -> Callable[[], Convert] | None:
    """How to get, for one page, the function that turns a raw value of ``field`` into what
    the model attribute holds (``None``: values stay as they are)."""
    if isinstance(field, DatetimeField):
        return _datetimes(field)
    if type(field).to_python_value is ModelField.to_python_value and field.field_type is str:
        return None  # the base conversion calls str() on a value that is not a str already
    convert = field.to_python_value
    return lambda: convert


def _datetimes(field: DatetimeField) -> Callable[[], Convert]:
    convert = field.to_python_value

    def for_page() -> Convert:
        # DatetimeField.to_python_value's rules for a datetime, with Tortoise's time-zone
        # settings read once per page (each read is an environment lookup) instead of per value.
        use_tz = timezone.get_use_tz()
        zone = timezone.get_default_timezone() if use_tz else None

        def run(value: Any) -> Any:
            if type(value) is str:
                try:
                    value = datetime.fromisoformat(value)
                except ValueError:
                    return convert(value)  # a format only the field's own parser reads
            elif type(value) is not datetime:
                return convert(value)
            if use_tz:
                if value.utcoffset() is None:
                    return timezone.make_aware(value, zone)
                return value.astimezone(zone)
            return value if value.utcoffset() is None else value.replace(tzinfo=None)

        return run

    return for_page
