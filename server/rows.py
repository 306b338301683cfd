"""Rows for read paths: a query's values in plain slotted objects instead of Tortoise models.

A Tortoise model costs tens of microseconds to build, most of it parsing each datetime with the
pure-Python ``iso8601`` (Tortoise's fallback when ``ciso8601`` is not installed): a page of 100
end users took ~5 ms against ~1 ms for its SELECT. A read that only shows data reads rows
instead. A row class is a slotted dataclass whose fields are model fields, by the model's
attribute names (``workspace_id``, ``created_at``), so code written against the model reads a
row unchanged. Values are converted as the model's own fields convert them; only datetimes
take a faster parse (``datetime.fromisoformat``) before the field's own time-zone handling.

Rows are for reading: nothing saves them. Services keep returning models where a caller
changes the object.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from tortoise.fields.base import Field as ModelField
from tortoise.fields.data import DatetimeField
from tortoise.models import Model
from tortoise.queryset import QuerySet

R = TypeVar("R")
Convert = Callable[[Any], Any]


class RowReader(Generic[R]):
    """Reads querysets of ``model`` as ``row_type`` objects (one statement, like awaiting the
    queryset; inside a transaction it uses the transaction's connection)."""

    def __init__(self, model: type[Model], row_type: type[R]) -> None:
        self.model, self.row_type = model, row_type
        self.names = tuple(field.name for field in dataclasses.fields(row_type))  # type: ignore[arg-type]
        self._converters: tuple[Convert | None, ...] | None = None

    async def all(self, queryset: QuerySet[Any]) -> list[R]:
        query = queryset.values(*self.names)
        # What awaiting a ValuesQuery does, minus its conversion of every value.
        query._choose_db_if_not_chosen()
        query._make_query()
        _, records = await query._db.execute_query(*query.query.get_parameterized_sql())
        converters = self._converters or self._prepare()
        row_type = self.row_type
        if not any(converters):
            return [row_type(*record) for record in records]
        return [
            row_type(*[value if convert is None else convert(value)
                       for value, convert in zip(record, converters, strict=True)])
            for record in records
        ]

    def _prepare(self) -> tuple[Convert | None, ...]:
        # Not in __init__: a model's fields are known only once Tortoise is initialised.
        fields = self.model._meta.fields_map
        self._converters = tuple(_converter(fields[name]) for name in self.names)
        return self._converters


def _converter(field: ModelField[Any]) -> Convert | None:
    """How a raw value of ``field`` becomes what the model attribute holds (``None``: as is)."""
    if isinstance(field, DatetimeField):
        return _datetimes(field)
    convert = field.to_python_value
    if type(field).to_python_value is ModelField.to_python_value:
        # The base conversion calls field_type on a value of another type, and only then.
        kind = field.field_type
        return lambda value: value if value is None or type(value) is kind else convert(value)
    return convert


def _datetimes(field: DatetimeField) -> Convert:
    convert = field.to_python_value

    def run(value: Any) -> Any:
        if type(value) is str:
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                pass  # a format fromisoformat does not read: the field's own parser does
        # Given a datetime, the field applies only its time-zone rules.
        return convert(value)

    return run
