"""JSON from clients (request bodies, ``GET`` parameters, WebSocket messages), decoded with a
bound on nesting.

``json.loads`` raises ``RecursionError`` (not ``ValueError``) on deeply nested input: a 2 KB body
of ``[[[[...`` is enough. Values that do decode are still refused past ``MAX_DEPTH`` levels, so
nothing after this (variable coercion, JSON columns, logging) recurses through them.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # far beyond any GraphQL variables or graphql-transport-ws message Weir takes


class JSONRejected(ValueError):
    """Not JSON, or nested deeper than ``MAX_DEPTH``; the message says which."""


def loads(text: str | bytes) -> Any:
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONRejected(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise JSONRejected("not valid JSON") from None
    if nesting_exceeds(value, MAX_DEPTH):
        raise JSONRejected(f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


def nesting_exceeds(value: Any, limit: int) -> bool:
    """True when ``value`` has containers more than ``limit`` levels deep (without recursion)."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        container, depth = stack.pop()
        if depth > limit:
            return True
        for item in container.values() if isinstance(container, dict) else container:
            if isinstance(item, (dict, list)):
                stack.append((item, depth + 1))
    return False
