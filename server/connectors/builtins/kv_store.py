"""A key-value store scoped to the workspace and end user of the call, no account needed. A
built-in (see ``builtins/__init__.py``).

The store comes in through ``ConnectorContext.store`` (``server/actions/kv.py`` keeps it in
Weir's database): this module only shapes inputs and outputs. Called with an end user, the keys
are that end user's; without one, the workspace's own; neither sees the other's.

The limits below are the store's, stated here once so that the actions' schemas say them too.
"""

from __future__ import annotations

from typing import Any

from server.connectors.base import ActionSpec, ConnectorContext, ConnectorSpec, KeyValueStore
from server.connectors.schemas import form, nullable

MAX_KEY_LENGTH = 255
MAX_VALUE_BYTES = 65_536  # the value as compact JSON, in UTF-8
MAX_TTL_SECONDS = 10 * 365 * 86_400  # ten years
MAX_LIST_LIMIT = 1000
MAX_KEYS_PER_WORKSPACE = 10_000  # live keys, the workspace's and its end users' together
# Counters stay exact in JavaScript clients (Number.MAX_SAFE_INTEGER).
MAX_SAFE_INTEGER = 2**53 - 1

KEY = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_KEY_LENGTH,
    "pattern": "^[^\\u0000-\\u001f\\u007f]+$",
    "description": "1 to 255 characters, no control characters.",
}
TTL = {
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_TTL_SECONDS,
    "description": "Seconds until the key expires (reads as absent); without it, it never does.",
}
VALUE = {
    "not": {"type": "null"},
    "description": "Any JSON but null, at most 64 KB as compact JSON.",
}

SPEC = ConnectorSpec(
    name="kv_store",
    display_name="Key-value store",
    category="DEVELOPER_TOOLS",
    auth_types=("NONE",),
    requires_connection=False,
    description="Keep small JSON values between calls, per workspace or per end user, with "
    "optional expiry and atomic counters. Built in: no connection needed.",
    actions=(
        ActionSpec(
            name="get",
            display_name="Get a value",
            description="The value of a key; `found` is false (and `value` null) when it is absent "
            "or expired.",
            input_schema=form({"key": KEY}, required=["key"]),
            output_schema=form(
                {"key": {"type": "string"}, "found": {"type": "boolean"}, "value": {}},
                required=["key", "found", "value"],
            ),
            read_only=True,
        ),
        ActionSpec(
            name="put",
            display_name="Put a value",
            description="Store a value under a key, replacing any value it had (and its expiry). "
            "A workspace holds at most 10,000 live keys, its end users' included.",
            input_schema=form({"key": KEY, "value": VALUE, "ttl_seconds": TTL}, required=["key", "value"]),
            output_schema=form(
                {"key": {"type": "string"}, "ttl_seconds": nullable({"type": "integer"})},
                required=["key", "ttl_seconds"],
            ),
        ),
        ActionSpec(
            name="delete",
            display_name="Delete a key",
            description="Remove a key; `deleted` is false when it was already absent.",
            input_schema=form({"key": KEY}, required=["key"]),
            output_schema=form(
                {"key": {"type": "string"}, "deleted": {"type": "boolean"}}, required=["key", "deleted"]
            ),
        ),
        ActionSpec(
            name="list_keys",
            display_name="List keys",
            description="Keys starting with `prefix` (case-sensitive), in order, a page at a time: "
            "pass `next_after` back as `after` for the next page.",
            input_schema=form(
                {
                    "prefix": {
                        **KEY,
                        "minLength": 0,
                        "pattern": "^[^\\u0000-\\u001f\\u007f]*$",
                        "default": "",
                    },
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIST_LIMIT, "default": 100},
                    "after": {**KEY, "description": "The `next_after` of the previous page."},
                }
            ),
            output_schema=form(
                {
                    "keys": {"type": "array", "items": {"type": "string"}},
                    "next_after": nullable(
                        {"type": "string", "description": "Set when there are more keys: the last one here."}
                    ),
                },
                required=["keys", "next_after"],
            ),
            read_only=True,
        ),
        ActionSpec(
            name="increment",
            display_name="Increment a counter",
            description="Add `by` (default 1; negative to decrement) to an integer value in one "
            "step, even when calls race; an absent key counts as 0. `ttl_seconds` sets a new expiry.",
            input_schema=form(
                {
                    "key": KEY,
                    "by": {
                        "type": "integer",
                        "minimum": -MAX_SAFE_INTEGER,
                        "maximum": MAX_SAFE_INTEGER,
                        "default": 1,
                    },
                    "ttl_seconds": TTL,
                },
                required=["key"],
            ),
            output_schema=form(
                {"key": {"type": "string"}, "value": {"type": "integer"}}, required=["key", "value"]
            ),
        ),
    ),
)


def _store(context: ConnectorContext) -> KeyValueStore:
    if context.store is None:  # executeAction gives every built-in call its scope's store
        raise RuntimeError("kv_store actions need ConnectorContext.store")
    return context.store


async def _get(store: KeyValueStore, input: dict[str, Any]) -> dict[str, Any]:
    value = await store.get(input["key"])
    return {"key": input["key"], "found": value is not None, "value": value}


async def _put(store: KeyValueStore, input: dict[str, Any]) -> dict[str, Any]:
    ttl = input.get("ttl_seconds")
    await store.put(input["key"], input["value"], ttl_seconds=ttl)
    return {"key": input["key"], "ttl_seconds": ttl}


async def _delete(store: KeyValueStore, input: dict[str, Any]) -> dict[str, Any]:
    return {"key": input["key"], "deleted": await store.delete(input["key"])}


async def _list_keys(store: KeyValueStore, input: dict[str, Any]) -> dict[str, Any]:
    limit = input.get("limit", 100)
    # One more than asked: whether another page follows, without a count.
    keys = await store.list_keys(input.get("prefix", ""), limit + 1, after=input.get("after"))
    page = keys[:limit]
    return {"keys": page, "next_after": page[-1] if len(keys) > limit else None}


async def _increment(store: KeyValueStore, input: dict[str, Any]) -> dict[str, Any]:
    value = await store.increment(input["key"], input.get("by", 1), ttl_seconds=input.get("ttl_seconds"))
    return {"key": input["key"], "value": value}


ACTIONS = {
    "get": _get,
    "put": _put,
    "delete": _delete,
    "list_keys": _list_keys,
    "increment": _increment,
}


async def run_action(context: ConnectorContext, action: str, input: dict[str, Any]) -> Any:
    """The output of ``action`` (its input already checked against the action's schema)."""
    run = ACTIONS.get(action)
    if run is None:  # executeAction only calls actions of the SPEC
        raise LookupError(f"kv_store has no action {action[:64]!r}")
    return await run(_store(context), input)
