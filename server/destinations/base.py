"""What a destination is, and the loading rules every destination shares.

A ``Destination`` opens a ``TableLoader`` per stream. The loader owns the table's columns:

- columns come from the stream's JSON Schema, plus ``_weir_synced_at``;
- a field the schema did not declare becomes a new column when the schema-change policy allows
  it (``ALLOW_ALL``, ``ALLOW_COLUMNS``); under ``BLOCK_ALL`` it is left out and reported;
- a value that does not fit its column's kind widens that column to ``text`` (under every
  policy): a value is never dropped;
- ``write`` loads one batch in one transaction, as an upsert on the primary key, so replaying a
  batch never duplicates a row; a full refresh loads into a new table and ``finish`` swaps it in
  atomically, so readers see the old rows until the new copy is complete. The new table is the
  attempt's own (its name carries a tag of the run id), so two attempts of one run never load
  into the same table; an attempt drops the new tables earlier attempts left behind.

Deletes (``track_deletes``): a row deleted at the source is never removed, it gets a
``_weir_deleted_at`` time. The column is added when a loader tracks deletes and, once there, an
upsert of the row's key clears it. Rows are marked from the keys a source says were deleted
(``mark_deleted``), from a full refresh (rows of the old table whose key the new load lacks are
carried into the new table, marked, in ``finish``), and from a reconciliation pass
(``begin_keys``, ``add_keys`` in chunks, ``end_keys``: rows whose key the source no longer has,
among those synced before the pass began, are marked).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any
from urllib.parse import urlsplit

from server.destinations.columns import BIGINT, COERCERS, DELETED_AT, NATIVE_TYPES, Misfit, kind_of_value
from server.outbound import Policy

POLICIES = ("ALLOW_ALL", "ALLOW_COLUMNS", "BLOCK_ALL")
KEYS_TABLE = "_weir_keys"  # the temporary table of a reconciliation pass's keys
KEY_CHUNK = 5000  # keys per insert into it
NEW_TABLE_SUFFIX = "__weir_new"
ATTEMPT_TAG_LENGTH = 8
MAX_NAME_BYTES = 63


def attempt_tag(attempt: str) -> str:
    """A short tag for the attempt (a run id) that loads a full refresh's new table."""
    return hashlib.sha1(attempt.encode()).hexdigest()[:ATTEMPT_TAG_LENGTH]


def derived_name(name: str, suffix: str) -> str:
    """``name + suffix``, shortened with a hash of ``name`` to fit Postgres' 63-byte names.

    Postgres truncates longer names silently, which could make a helper table's name equal
    the table's own; a hash keeps them apart.
    """
    if len((name + suffix).encode()) <= MAX_NAME_BYTES:
        return name + suffix
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    keep = MAX_NAME_BYTES - len(suffix.encode()) - len(digest) - 1
    return name.encode()[:keep].decode(errors="ignore") + "_" + digest + suffix


class CopyRejected(Exception):
    """The destination refused a batch of COPY text (a value that does not fit its column);
    nothing of the batch was written."""


class TableLoader(ABC):
    """Loads batches of one stream into one destination table."""

    def __init__(
        self,
        *,
        schema: str,
        table: str,
        primary_key: tuple[str, ...],
        declared: dict[str, str],
        policy: str,
        full_refresh: bool,
        attempt: str = "",
        track_deletes: bool = False,
    ) -> None:
        self.schema = schema
        self.attempt = attempt
        self.table = table
        self.primary_key = primary_key
        self.declared = declared
        self.allow_new_columns = policy != "BLOCK_ALL"
        self.full_refresh = full_refresh
        self.columns: dict[str, str] = {}
        self.widened: set[str] = set()
        self.blocked: set[str] = set()
        self.rows_written = 0
        # True when the destination encodes JSON values itself: a json column then needs no
        # conversion (Postgres's connection codec); False when it stores JSON text (SQLite).
        self.encodes_json = False
        # Of the rows written, those that were new and those that replaced a row with their key
        # (an upsert over an existing row; a full refresh's rows are all new to its table).
        self.rows_inserted = 0
        self.rows_updated = 0
        self.track_deletes = track_deletes
        # Whether the table written has the DELETED_AT column (then an upsert clears it).
        self.marks_deletes = False
        self.rows_deleted = 0
        self._old_columns: dict[str, str] | None = None

    # -- what each destination implements --------------------------------------------------

    @abstractmethod
    async def _existing_columns(self, table: str) -> dict[str, str] | None:
        """The table's columns (name -> kind, without ``_weir_synced_at``), or None if absent."""

    @abstractmethod
    async def _create_table(self, table: str, columns: dict[str, str]) -> None: ...

    @abstractmethod
    async def _add_column(self, table: str, name: str, kind: str) -> None: ...

    @abstractmethod
    async def _widen_column(self, table: str, name: str) -> None:
        """Change the column's type to text, keeping its values (as text)."""

    @abstractmethod
    async def _write(
        self, records: list[dict[str, Any]], rows: list[tuple[Any, ...]] | None
    ) -> tuple[int, int]:
        """Write one batch in one transaction (upsert, or append to the new table); return how
        many rows were inserted and how many replaced an existing row with their key (a
        batch's repeated key counts once).

        ``rows`` are the records' values in column order, unconverted, when ``exact_rows``
        could build them."""

    @abstractmethod
    async def _swap(self) -> None:
        """Replace the table with the new one in one transaction (full refresh)."""

    @abstractmethod
    async def _drop(self, table: str) -> None: ...

    @abstractmethod
    async def _tables(self) -> list[str]:
        """The names of the tables of this loader's schema."""

    @abstractmethod
    async def _add_deleted_column(self, table: str) -> None:
        """Add the nullable DELETED_AT timestamp column."""

    @abstractmethod
    async def _mark_keys(self, keys: list[tuple[Any, ...]], at: datetime) -> int:
        """Mark the target's rows with these keys (not yet marked) deleted at ``at``; their count."""

    @abstractmethod
    async def _carry_deleted(self, columns: list[str], at: datetime) -> int:
        """Full refresh: copy the old table's rows whose key the new table lacks into it
        (``columns`` only), marked deleted (at ``at`` unless marked before); the count of
        rows newly marked."""

    @abstractmethod
    async def _keys_begin(self) -> None:
        """Create an empty temporary KEYS_TABLE with the primary key's columns."""

    @abstractmethod
    async def _keys_add(self, rows: list[tuple[Any, ...]]) -> None: ...

    @abstractmethod
    async def _keys_end(self, at: datetime, before: datetime) -> int:
        """Mark rows synced before ``before`` whose key is not in KEYS_TABLE; drop it; the count."""

    # -- shared rules ------------------------------------------------------------------------

    @property
    def target(self) -> str:
        """The table batches go to: during a full refresh, this attempt's new table."""
        if not self.full_refresh:
            return self.table
        return derived_name(self.table, f"{NEW_TABLE_SUFFIX}_{attempt_tag(self.attempt)}")

    async def _left_behind(self) -> list[str]:
        """New tables of this table that earlier attempts (killed, or lost) left behind."""
        shape = derived_name(self.table, f"{NEW_TABLE_SUFFIX}_{'0' * ATTEMPT_TAG_LENGTH}")
        prefix = shape[:-ATTEMPT_TAG_LENGTH]
        legacy = derived_name(self.table, NEW_TABLE_SUFFIX)
        return [
            name
            for name in await self._tables()
            if name == legacy or (len(name) == len(shape) and name.startswith(prefix) and name != self.target)
        ]

    async def start(self) -> None:
        """Create (or find) the table batches will be written to."""
        existing = await self._existing_columns(self.table)
        had_marks = existing is not None and existing.pop(DELETED_AT, None) is not None
        self._old_columns = existing
        # A full refresh writes a new table: it has the column only when deletes are tracked.
        self.marks_deletes = self.track_deletes or (had_marks and not self.full_refresh)
        if self.full_refresh:
            for name in await self._left_behind():
                await self._drop(name)
            columns = dict(self.declared)
            if not self.allow_new_columns and existing is not None:
                columns = {
                    name: existing.get(name, kind) for name, kind in columns.items() if name in existing
                }
            self.columns = columns
            await self._create_table(self.target, columns)
            if self.marks_deletes:
                await self._add_deleted_column(self.target)
            return
        if existing is None:
            self.columns = dict(self.declared)
            await self._create_table(self.table, self.columns)
            if self.marks_deletes:
                await self._add_deleted_column(self.table)
            return
        if self.marks_deletes and not had_marks:
            await self._add_deleted_column(self.table)
        self.columns = existing
        for name, kind in self.declared.items():
            if name not in self.columns:
                await self._new_column(name, kind)

    async def _new_column(self, name: str, kind: str) -> None:
        if self.allow_new_columns:
            await self._add_column(self.target, name, kind)
            self.columns[name] = kind
        else:
            self.blocked.add(name)

    async def write(self, records: list[dict[str, Any]]) -> int:
        """Load one batch in one transaction; return how many records it had."""
        if not records:
            return 0
        rows = self.exact_rows(records)
        if rows is None:
            await self._fit_new_fields(records)
            if self.blocked:
                blocked = self.blocked
                records = [{k: v for k, v in r.items() if k not in blocked} for r in records]
        inserted, updated = await self._write(records, rows)
        self.count_written(len(records), inserted, updated)
        return len(records)

    def count_written(self, rows: int, inserted: int, updated: int) -> None:
        """Add one batch of ``rows`` records: ``inserted`` new rows, ``updated`` replaced ones."""
        self.rows_written += rows
        self.rows_inserted += inserted
        self.rows_updated += updated

    def copy_text_columns(self) -> tuple[str, ...] | None:
        """The columns a ``CopyBatch`` for this table may carry, or None to get records.

        Only a destination that loads PostgreSQL COPY text as it is answers (``write_copy``),
        and only when every declared column exists with its declared kind: then no value can
        need widening or a new column, which only records can tell.
        """
        return None

    def exact_rows(self, records: list[dict[str, Any]]) -> list[tuple[Any, ...]] | None:
        """Rows in column order when every record has exactly the table's columns, else None.

        A record with as many keys as the table has columns, every column among them, has
        exactly those keys: two cheap checks instead of a set comparison per record.
        """
        names = list(self.columns)
        if len(names) < 2 or not all(len(r) == len(names) for r in records):
            return None
        getter = itemgetter(*names)
        try:
            return [getter(r) for r in records]
        except KeyError:
            return None

    async def _fit_new_fields(self, records: list[dict[str, Any]]) -> None:
        known = self.columns.keys() | self.blocked
        unknown: set[str] = set()
        for record in records:
            if not record.keys() <= known:
                unknown.update(record.keys() - known)
        for name in sorted(unknown):
            sample = next((r[name] for r in records if r.get(name) is not None), None)
            if sample is None:
                continue  # every value is null: nothing to keep yet, decide on a later batch
            await self._new_column(name, self.declared.get(name) or kind_of_value(sample))

    def raw_rows(self, records: list[dict[str, Any]], names: list[str]) -> list[tuple[Any, ...]]:
        """Rows in column order without conversion (the fast path when the types already fit)."""
        if len(names) == 1:
            return [(r.get(names[0]),) for r in records]
        getter = itemgetter(*names)
        try:
            return [getter(r) for r in records]
        except KeyError:
            return [tuple(r.get(n) for n in names) for r in records]

    async def coerced_rows(self, records: list[dict[str, Any]], names: list[str]) -> list[tuple[Any, ...]]:
        """Rows converted to each column's kind, widening to text any column a value misfits.

        Column by column: a column whose values already have its kind's Python type (checked
        with C-level passes: the set of types, and the range of integers) is kept as it is,
        so a batch pays for converting only the columns that need it (ISO timestamps from an
        API, say), not for calling a converter on every value."""
        while True:
            misfits: set[str] = set()
            columns: list[list[Any]] = []
            for name in names:
                kind = self.columns[name]
                values = [record.get(name) for record in records]
                if not self._already(kind, values):
                    values = _converted(values, COERCERS[kind], name, misfits)
                columns.append(values)
            if not misfits:
                return list(zip(*columns, strict=True)) if columns else [() for _ in records]
            for name in sorted(misfits):
                await self._widen_column(self.target, name)
                self.columns[name] = "text"
                self.widened.add(name)

    def _already(self, kind: str, values: list[Any]) -> bool:
        """Whether every value of a column of ``kind`` is already what the converter would give."""
        types = set(map(type, values))
        types.discard(type(None))
        if not types:
            return True
        if kind == "json":
            return self.encodes_json
        if not types <= NATIVE_TYPES[kind]:
            return False
        if kind == "integer":
            present = [value for value in values if value is not None]
            return -BIGINT <= min(present) and max(present) < BIGINT
        if kind == "timestamp":
            return all(value.tzinfo is not None for value in values if value is not None)
        return True

    def dedupe(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The last record per primary key: an upsert cannot touch one row twice in a statement."""
        if not self.primary_key:
            return records
        key = itemgetter(*self.primary_key)
        latest = {key(r) if all(k in r for k in self.primary_key) else id(r): r for r in records}
        return list(latest.values()) if len(latest) != len(records) else records

    def _key_rows(self, keys: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Key values converted to their columns' kinds; a key that fits no column cannot be
        in the table and is left out."""
        converters = [COERCERS[self.columns.get(k, "text")] for k in self.primary_key]
        rows: list[tuple[Any, ...]] = []
        for key in keys:
            try:
                rows.append(
                    tuple(
                        None if key.get(k) is None else convert(key[k])
                        for k, convert in zip(self.primary_key, converters, strict=True)
                    )
                )
            except Misfit:
                continue
        return [row for row in rows if None not in row]

    async def mark_deleted(self, keys: list[dict[str, Any]]) -> int:
        """Mark the rows with these keys deleted (rows not there are no news); their count.

        In a full refresh nothing is written: a key the new load lacks is carried over marked
        at ``finish``."""
        if not keys or not self.primary_key or self.full_refresh or not self.marks_deletes:
            return 0
        rows = self._key_rows(keys)
        marked = await self._mark_keys(rows, datetime.now(UTC)) if rows else 0
        self.rows_deleted += marked
        return marked

    async def begin_keys(self) -> None:
        """Start a reconciliation pass: the source's keys follow (``add_keys``)."""
        assert self.primary_key and not self.full_refresh and self.marks_deletes
        self._reconcile_started = datetime.now(UTC)
        await self._keys_begin()

    async def add_keys(self, keys: list[dict[str, Any]]) -> None:
        """Some of the keys the source has now, inserted KEY_CHUNK at a time."""
        rows = self._key_rows(keys)
        for start in range(0, len(rows), KEY_CHUNK):
            await self._keys_add(rows[start : start + KEY_CHUNK])

    async def end_keys(self) -> int:
        """End the pass: mark the rows whose key the source no longer has; their count."""
        marked = await self._keys_end(datetime.now(UTC), self._reconcile_started)
        self.rows_deleted += marked
        return marked

    async def finish(self) -> None:
        """End the stream: a full refresh swaps its new table in (first carrying over, marked
        deleted, the old rows it no longer has, when deletes are tracked)."""
        if self.full_refresh:
            old = self._old_columns
            if self.track_deletes and self.primary_key and old is not None:
                keys_fit = all(old.get(k) == self.columns.get(k) for k in self.primary_key)
                if keys_fit:
                    same = [c for c, kind in self.columns.items() if old.get(c) == kind]
                    self.rows_deleted += await self._carry_deleted(same, datetime.now(UTC))
            await self._swap()

    async def abort(self) -> None:
        """Give up the stream: a full refresh drops its new table, the old one stays."""
        if self.full_refresh:
            await self._drop(self.target)


class Destination(ABC):
    """A warehouse: opened once per run, one loader per stream."""

    url: str

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def loader(
        self,
        *,
        schema: str,
        table: str,
        primary_key: tuple[str, ...],
        declared: dict[str, str],
        policy: str,
        full_refresh: bool,
        attempt: str = "",
        track_deletes: bool = False,
    ) -> TableLoader:
        """A loader for one stream; ``attempt`` (the run id) names a full refresh's new table."""

    @abstractmethod
    async def count(self, schema: str, table: str) -> int:
        """Rows in a destination table (for summaries and tests)."""

    @abstractmethod
    async def fetch(self, schema: str, table: str) -> list[dict[str, Any]]:
        """Every row of a destination table (for small tables: summaries and tests)."""


def build_destination(url: str, *, outbound: Policy | None = None) -> Destination:
    """The destination for a warehouse URL (``sqlite://`` or ``postgres[ql]://``); a tenant's
    own URL comes with the ``outbound`` guard, the deployment's warehouse without."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from server.destinations.sqlite import SqliteDestination

        return SqliteDestination(url)
    if scheme in ("postgres", "postgresql"):
        from server.destinations.postgres import PostgresDestination

        return PostgresDestination(url, outbound=outbound)
    raise ValueError(f"unsupported warehouse URL scheme {scheme!r}")


def _converted(values: list[Any], convert: Callable[[Any], Any], name: str, misfits: set[str]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value is not None:
            try:
                value = convert(value)
            except Misfit:
                misfits.add(name)
        out.append(value)
    return out
