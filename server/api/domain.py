"""GraphQL made from the domain instead of copied from it: enums from the domain's lists of
values, and objects from the domain's rows.

A domain keeps the values a column may hold as a tuple of strings (``server.syncs.transitions.
STATUSES``, ``server.orgs.service.THEMES``, ...); the API's enum is built from that tuple instead
of repeating it. Where the API describes each value, ``described`` must name exactly the
domain's values: a value added in the domain and not described here fails at import.

``from_row`` fills a GraphQL object from a model or a read row (``server/rows.py``): every field
the type declares is the row's attribute of the same name unless the caller gives it (a value
that needs converting, or a field the API names differently).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any, TypeVar

import strawberry

T = TypeVar("T")


def domain_enum(
    name: str,
    values: Iterable[str],
    *,
    description: str,
    described: Mapping[str, str] | None = None,
    member_name: Callable[[str], str] = str,
) -> Any:
    """A strawberry enum ``name`` with one member per value (named ``member_name(value)``,
    the value itself by default), each with its text from ``described`` when given."""
    values = tuple(values)
    if described is not None and set(described) != set(values):
        raise ValueError(f"{name} must describe exactly {sorted(values)}, not {sorted(described)}")
    members = {
        member_name(value): (
            strawberry.enum_value(value, description=described[value]) if described is not None else value
        )
        for value in values
    }
    enum: Any = Enum(name, members)  # type: ignore[misc]  # the functional API, by design
    return strawberry.enum(enum, description=description)


def from_row(cls: type[T], row: Any, /, **given: Any) -> T:
    """A ``cls`` whose fields are ``given``, or else copied by name from ``row``."""
    copied = {name: getattr(row, name) for name in _row_fields(cls) if name not in given}
    return cls(**copied, **given)


# Per GraphQL type, the fields its constructor takes: declared and private ones, not resolvers.
_ROW_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _row_fields(cls: type[Any]) -> tuple[str, ...]:
    names = _ROW_FIELDS.get(cls)
    if names is None:
        names = _ROW_FIELDS[cls] = tuple(field.name for field in dataclasses.fields(cls) if field.init)
    return names
