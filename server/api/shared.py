"""One GraphQL execution per subscription event per process, not one per subscriber.

A subscription event reaches every local subscriber as the same object (the event bus hands
them one dict, ``SharedLookups`` one database row), so the resolvers wrap it in one GraphQL
object (``shared_payload``) and the executor runs each distinct operation on it once
(``shared_event_result``): subscribers with the same document, variables and tenant get the same
``ExecutionResult``. For the fields of ``FANNED_OUT`` the WebSocket endpoint goes further and
runs one subscription for all identical subscribers (server.web.ws_feeds).

Entries are keyed by the identity of an object they also hold (so the id is not reused) and the
most recent ``SIZE`` are kept.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

SIZE = 4096

# Subscription fields whose first result is a snapshot and whose later results depend only on
# the event, the scope, the document and the variables (the resolver yields ``shared_payload``
# objects). The WebSocket endpoint runs each distinct such subscription once per process and
# writes its results to every identical subscriber (server.web.ws_feeds).
FANNED_OUT = frozenset({"syncRunUpdated"})

_payloads: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
_results: OrderedDict[tuple[Any, ...], tuple[Any, Any]] = OrderedDict()


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    cache[key] = value
    while len(cache) > SIZE:
        cache.popitem(last=False)


def shared_payload(source: Any, build: Callable[[Any], Any]) -> Any:
    """``build(source)``, once per ``source`` object."""
    found = _payloads.get(id(source))
    if found is None or found[0] is not source:
        found = (source, build(source))
        _remember(_payloads, id(source), found)
    return found[1]


def _tenant(context: Any) -> tuple[str, str | None]:
    scope = getattr(context, "scope", None)
    return (getattr(scope, "organization_id", ""), getattr(scope, "workspace_id", None))


def shared_event_result(executor: Any, execute: Callable[[], Any]) -> Any:
    """The result of one subscription event for ``executor``'s operation, computed once for
    every subscriber of this process with the same document, variables and tenant."""
    source = executor.operation.loc.source.body if executor.operation.loc else id(executor.operation)
    key = (
        id(executor.root_value),
        source,
        json.dumps(executor.variable_values, sort_keys=True, default=str),
        _tenant(executor.context_value),
    )
    found = _results.get(key)
    if found is not None and found[0] is executor.root_value:
        result = found[1]
    else:
        result = execute()
        if executor.is_awaitable(result):
            result = asyncio.ensure_future(result)
        _remember(_results, key, (executor.root_value, result))
    if isinstance(result, asyncio.Future):
        return asyncio.shield(result)
    return result
