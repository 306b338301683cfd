"""JSON Schema for connectors: what a stream's records hold, and the forms a connection fills.

A record schema tells destinations which columns to make (``server/destinations/columns.py``);
a form (auth fields, settings) is what the connect widget and the console draw and what
``server.validation`` checks. Connectors build both from these few pieces instead of spelling
out the JSON each time. Every builder returns fresh dicts, so no two schemas share a value that
one caller could change under another.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
NUMBER: dict[str, Any] = {"type": "number"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
TIMESTAMP: dict[str, Any] = {"type": "string", "format": "date-time"}


def nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` that also allows ``null``: ``{"type": ["string", "null"], ...}``."""
    return {**copy.deepcopy(dict(schema)), "type": [schema["type"], "null"]}


def array_of(items: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": copy.deepcopy(dict(items))}


def object_of(properties: Mapping[str, Any], *, required: Sequence[str] = ()) -> dict[str, Any]:
    """A stream's record schema: an object with these properties (others may come along)."""
    schema: dict[str, Any] = {"type": "object", "properties": copy.deepcopy(dict(properties))}
    if required:
        schema["required"] = list(required)
    return schema


def form(properties: Mapping[str, Any] | None = None, *, required: Sequence[str] = ()) -> dict[str, Any]:
    """The schema of auth fields or settings: only these properties, and no others."""
    schema: dict[str, Any] = {"type": "object"}
    if required:
        schema["required"] = list(required)
    schema["properties"] = copy.deepcopy(dict(properties or {}))
    schema["additionalProperties"] = False
    return schema


def secret(title: str, **extra: Any) -> dict[str, Any]:
    """A form field for a password, key or token: write-only, drawn as a password input."""
    return {"type": "string", "title": title, "writeOnly": True, "format": "password", **extra}


def port(default: int) -> dict[str, Any]:
    """A form field for a TCP port."""
    return {"type": "integer", "title": "Port", "default": default, "minimum": 1, "maximum": 65535}
