"""GraphQL enums made from the domain's own lists of values, so the API cannot drift from them.

A domain keeps the values a column may hold as a tuple of strings (``server.syncs.transitions.
STATUSES``, ``server.orgs.service.THEMES``, ...); the API's enum is built from that tuple instead
of repeating it. Where the API describes each value, ``described`` must name exactly the
domain's values: a value added in the domain and not described here fails at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any

import strawberry


def domain_enum(name: str, values: Iterable[str], *, description: str,
                described: Mapping[str, str] | None = None,
                member_name: Callable[[str], str] = str) -> Any:
    """A strawberry enum ``name`` with one member per value (named ``member_name(value)``,
    the value itself by default), each with its text from ``described`` when given."""
    values = tuple(values)
    if described is not None and set(described) != set(values):
        raise ValueError(f"{name} must describe exactly {sorted(values)}, "
                         f"not {sorted(described)}")
    members = {member_name(value): (strawberry.enum_value(value, description=described[value])
                                    if described is not None else value)
               for value in values}
    return strawberry.enum(Enum(name, members), description=description)  # type: ignore[arg-type]
