"""The built-in key-value store over ``KeyValueEntry``, one scope per store.

``scoped_store`` gives the ``kv_store`` actions (``server/connectors/builtins/kv_store.py``) the
keys of one organization, workspace and end user: ``end_user_id`` is "" for the workspace's own
keys, so a workspace and each of its end users see only their own, and nothing here takes a
scope from the caller's input. A value is stored as ``{"v": value}``: Tortoise's JSONField
takes a Python str for JSON text already encoded, so the column always holds an object.

Limits (``kv_store``'s constants) are refused with the action's field at fault: keys of 1 to
255 characters without control characters, values of JSON but null, at most 64 KB compact, a
TTL of at most ten years. A workspace holds at most 10,000 live keys, its end users' included
(``CONFLICT`` beyond). Expired keys read as absent, and the scheduler deletes them
(``housekeeping.py``); adding a key first deletes the workspace's expired keys and those of
end users deleted since, so the limit counts live keys only, whenever the sweep last ran.

Writes survive races: ``put`` is an upsert that retries when a concurrent put created the key
first (the unique key on the scope decides), ``increment`` locks the key's row (Postgres) or
runs in SQLite's one writer, and a new key is added under a lock on the workspace's row so two
racing puts cannot both take the last free place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pypika_tortoise.terms import Function as SqlFunction
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Function, Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from server import ids
from server.actions.models import KeyValueEntry
from server.connectors.base import ActionInputError, KeyValueStore
from server.connectors.builtins.kv_store import (
    MAX_KEY_LENGTH,
    MAX_KEYS_PER_WORKSPACE,
    MAX_LIST_LIMIT,
    MAX_SAFE_INTEGER,
    MAX_TTL_SECONDS,
    MAX_VALUE_BYTES,
)
from server.errors import Conflict
from server.orgs.models import EndUser, Workspace

MAX_DEPTH = 64  # nesting of a value: deeper JSON is not data anyone keeps here
ATTEMPTS = 5  # rounds of a write that keeps losing races before it gives up with CONFLICT


def _now() -> datetime:
    return datetime.now(UTC)


class _Substr(SqlFunction):
    # SUBSTR, not SUBSTRING: PostgreSQL would read SUBSTRING's untyped parameters as its
    # (text, pattern, escape) form; SUBSTR has one text form, and SQLite has it too.
    def __init__(self, term: Any, start: Any, length: Any) -> None:
        super().__init__("SUBSTR", term, start, length)


class _Head(Function):
    """The first n characters of a column (SUBSTR(col, 1, n) on both databases): a prefix
    match that, unlike LIKE, is case-sensitive on SQLite and has no wildcards to escape."""

    database_func = _Substr


def check_key(key: Any, field: str = "key") -> str:
    if not isinstance(key, str) or not key:
        raise ActionInputError(field, "must be a non-empty string")
    _check_chars(key, field)
    return key


def _check_chars(text: str, field: str) -> None:
    if len(text) > MAX_KEY_LENGTH:
        raise ActionInputError(field, f"must be at most {MAX_KEY_LENGTH} characters")
    if any(ord(char) < 0x20 or ord(char) == 0x7F or 0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise ActionInputError(field, "must not contain control characters or lone surrogates")


def _check_strings(value: Any) -> None:
    """Nothing a database cannot store: PostgreSQL's JSON refuses \\u0000 and lone surrogates,
    and a value nested deeper than ``MAX_DEPTH`` is refused before anything recurses into it."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ActionInputError("value", f"must be nested at most {MAX_DEPTH} levels deep")
        if isinstance(item, str):
            texts = [item]
        elif isinstance(item, dict):
            texts = [name for name in item if isinstance(name, str)]
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            texts = []
            stack.extend((child, depth + 1) for child in item)
        else:
            continue
        for text in texts:
            if "\x00" in text or not _is_unicode(text):
                raise ActionInputError("value", "must not contain \\u0000 or lone surrogates")


def _is_unicode(text: str) -> bool:
    """No lone surrogate (encoding in C is much faster than a look at every character)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_value(value: Any) -> dict[str, Any]:
    """``value`` checked, as it is stored: inside ``{"v": ...}`` (see the module's docstring)."""
    if value is None:
        raise ActionInputError("value", "must not be null; delete the key instead")
    _check_strings(value)
    try:
        encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise ActionInputError("value", "must be JSON (objects with string keys, finite numbers)") from None
    if len(encoded.encode("utf-8")) > MAX_VALUE_BYTES:
        raise ActionInputError("value", f"must be at most {MAX_VALUE_BYTES // 1024} KB as compact JSON")
    return {"v": value}


def _expiry(ttl_seconds: Any, now: datetime) -> datetime | None:
    if ttl_seconds is None:
        return None
    if (
        isinstance(ttl_seconds, bool)
        or not isinstance(ttl_seconds, int)
        or not 1 <= ttl_seconds <= MAX_TTL_SECONDS
    ):
        raise ActionInputError(
            "ttl_seconds", f"must be a whole number of seconds from 1 to {MAX_TTL_SECONDS}"
        )
    return now + timedelta(seconds=ttl_seconds)


def _is_live(row: KeyValueEntry, now: datetime) -> bool:
    return row.expires_at is None or row.expires_at > now


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class ScopedStore:
    """``KeyValueStore`` over one organization, workspace and end user ("" for the workspace)."""

    def __init__(
        self, *, organization_id: str, workspace_id: str, end_user_id: str, clock: Callable[[], datetime]
    ) -> None:
        self.organization_id = organization_id
        self.workspace_id = workspace_id
        self.end_user_id = end_user_id
        self._clock = clock

    def _scope(self) -> QuerySet[KeyValueEntry]:
        return KeyValueEntry.filter(
            organization_id=self.organization_id, workspace_id=self.workspace_id, end_user_id=self.end_user_id
        )

    def _live(self, now: datetime) -> QuerySet[KeyValueEntry]:
        return self._scope().filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))

    async def get(self, key: str) -> Any:
        check_key(key)
        row = await self._live(self._clock()).filter(key=key).first()
        return None if row is None else row.value["v"]

    async def put(self, key: str, value: Any, ttl_seconds: int | None = None) -> None:
        check_key(key)
        stored = check_value(value)
        for _ in range(ATTEMPTS):
            now = self._clock()
            expires_at = _expiry(ttl_seconds, now)
            row = await self._scope().filter(key=key).first()
            if row is not None and _is_live(row, now):
                if (
                    await self._scope()
                    .filter(id=row.id)
                    .update(value=stored, expires_at=expires_at, updated_at=now)
                ):
                    return
                continue  # deleted a moment ago: add it again
            try:
                await self._add(key, stored, expires_at, now)
                return
            except IntegrityError:
                continue  # a concurrent put added it first: replace its value
        raise Conflict(f"key {key[:64]!r} is being written by too many calls at once; retry")

    async def delete(self, key: str) -> bool:
        check_key(key)
        now = self._clock()
        row = await self._scope().filter(key=key).first()
        if row is None:
            return False
        # Another delete may win the race; only the one that removed a live key says so.
        removed = await self._scope().filter(id=row.id).delete()
        return bool(removed) and _is_live(row, now)

    async def list_keys(self, prefix: str, limit: int, after: str | None = None) -> list[str]:
        if not isinstance(prefix, str):
            raise ActionInputError("prefix", "must be a string")
        _check_chars(prefix, "prefix")
        # One more than a page: the kv_store action asks for it to tell whether more follow.
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_LIMIT + 1:
            raise ActionInputError("limit", f"must be from 1 to {MAX_LIST_LIMIT}")
        rows = self._live(self._clock())
        if prefix:
            rows = rows.annotate(head=_Head("key", 1, len(prefix))).filter(head=prefix)
        if after is not None:
            rows = rows.filter(key__gt=check_key(after, "after"))
        # flat=True gives the keys themselves; Tortoise's types say tuples.
        return cast(list[str], await rows.order_by("key").limit(limit).values_list("key", flat=True))

    async def increment(self, key: str, by: int = 1, ttl_seconds: int | None = None) -> int:
        check_key(key)
        if isinstance(by, bool) or not isinstance(by, int) or abs(by) > MAX_SAFE_INTEGER:
            raise ActionInputError(
                "by", f"must be a whole number from -{MAX_SAFE_INTEGER} to {MAX_SAFE_INTEGER}"
            )
        for _ in range(ATTEMPTS):
            now = self._clock()
            expires_at = _expiry(ttl_seconds, now)
            async with in_transaction():
                # FOR UPDATE: a concurrent increment waits here and then reads this one's sum.
                row = await self._scope().select_for_update().filter(key=key).first()
                if row is not None and _is_live(row, now):
                    if not _is_integer(row.value["v"]):
                        raise ActionInputError("key", "holds a value that is not an integer")
                    total = row.value["v"] + by
                    _check_total(total)
                    changes: dict[str, Any] = {"value": {"v": total}, "updated_at": now}
                    if expires_at is not None:
                        changes["expires_at"] = expires_at
                    await self._scope().filter(id=row.id).update(**changes)
                    return total
            try:
                await self._add(key, {"v": by}, expires_at, now)
                return by
            except IntegrityError:
                continue  # a concurrent increment added it first: add to its value
        raise Conflict(f"key {key[:64]!r} is being written by too many calls at once; retry")

    async def _add(
        self, key: str, stored: dict[str, Any], expires_at: datetime | None, now: datetime
    ) -> None:
        """A new key (or one whose old entry has expired), if the workspace has room for it."""
        async with in_transaction():
            # Serializes additions in one workspace (Postgres; SQLite has one writer anyway),
            # so two racing puts cannot both take the last place.
            await Workspace.select_for_update().filter(id=self.workspace_id).first()
            workspace = KeyValueEntry.filter(
                organization_id=self.organization_id, workspace_id=self.workspace_id
            )
            await workspace.filter(expires_at__lte=now).delete()
            await workspace.filter(
                ~Q(end_user_id=""),
                ~Q(end_user_id__in=Subquery(EndUser.filter(workspace_id=self.workspace_id).values("id"))),
            ).delete()
            if await workspace.count() >= MAX_KEYS_PER_WORKSPACE:
                raise Conflict(
                    f"this workspace's key-value store holds {MAX_KEYS_PER_WORKSPACE:,} keys, its limit; "
                    "delete keys, or give them a ttl_seconds"
                )
            await KeyValueEntry.create(
                id=ids.new_id("key_value_entry"),
                organization_id=self.organization_id,
                workspace_id=self.workspace_id,
                end_user_id=self.end_user_id,
                key=key,
                value=stored,
                expires_at=expires_at,
            )


def _check_total(total: int) -> None:
    if abs(total) > MAX_SAFE_INTEGER:
        raise ActionInputError("by", f"would take the value beyond ±{MAX_SAFE_INTEGER} (2^53 - 1)")


def scoped_store(
    *,
    organization_id: str,
    workspace_id: str,
    end_user_id: str | None,
    clock: Callable[[], datetime] = _now,
) -> KeyValueStore:
    """The key-value store of one workspace (``end_user_id`` None) or of one of its end users.

    The caller has already checked that the workspace and end user are the organization's.
    """
    if not organization_id or not workspace_id:
        raise ValueError("a key-value store needs an organization and a workspace")
    return ScopedStore(
        organization_id=organization_id,
        workspace_id=workspace_id,
        end_user_id=end_user_id or "",
        clock=clock,
    )
