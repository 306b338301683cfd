"""GraphQL types and inputs of ELT syncs and their runs (the operations are in ``syncs.py``)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.api.context import Context
from server.api.domain import domain_enum, from_row
from server.api.integrations import SyncMode
from server.api.unset import given as _given
from server.destinations.base import POLICIES
from server.syncs import models, transitions
from server.syncs import service as syncs
from server.syncs.choices import DELETE_DETECTIONS
from server.syncs.service import StreamChoice, SyncChanges

SchemaChangePolicy = domain_enum(
    "SchemaChangePolicy",
    POLICIES,
    description="What a run does when the source gains fields or types change (Fivetran's "
    "names). Weir copies only the streams a sync selects, so `ALLOW_ALL` and `ALLOW_COLUMNS` "
    "behave alike: new fields become columns. `BLOCK_ALL` keeps the columns of the first load "
    "and reports new fields in the run instead. A value that does not fit its column widens the "
    "column to text under every policy: values are never dropped.",
)


@strawberry.enum(description="Where a run came from.")
class SyncRunTrigger(Enum):
    SCHEDULE = "SCHEDULE"
    MANUAL = "MANUAL"
    RETRY = "RETRY"
    RECONCILE = "RECONCILE"  # a primary-key reconciliation pass (`deleteDetection: RECONCILE`)


DeleteDetection = domain_enum(
    "DeleteDetection",
    DELETE_DETECTIONS,
    description="How a sync sees rows deleted at the source. Deleted rows are never removed: "
    "they get a `_weir_deleted_at` time, cleared if the row comes back.",
    described={
        "OFF": "Not at all (no `_weir_deleted_at` column is added).",
        "MARKERS": "From the provider's delete markers, and rows a full refresh no longer has.",
        "RECONCILE": "As `MARKERS`, plus a pass on `reconcileInterval` reading only the keys of "
        "incremental streams without markers and marking the rows whose key is gone.",
    },
)


SyncRunStatus = domain_enum(
    "SyncRunStatus",
    transitions.STATUSES,
    description="Where a run is: `QUEUED` -> `RUNNING` -> `SUCCEEDED`, `FAILED` or "
    "`CANCELLED`; `SKIPPED` when the schedule came while a run was still going.",
)


@strawberry.enum(description="What happened to a sync, in `eltSyncUpdated`.")
class EltSyncEventKind(Enum):
    CURRENT = "CURRENT"
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


@strawberry.type(description="A stream a sync copies, with its mode and saved cursor state.")
class SourceStream:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `ss_`.")
    name: str = strawberry.field(description="Stream name; also the destination table name.")
    sync_mode: SyncMode = strawberry.field(description="How it is copied.")  # type: ignore[valid-type]
    state: JSON | None = strawberry.field(
        description="Cursor state saved after the last committed batch (null: from the start)."
    )
    excluded_columns: list[str] = strawberry.field(description="Columns never loaded.")
    hashed_columns: list[str] = strawberry.field(
        description="Columns loaded as a salted SHA-256 (hex), for personal data."
    )
    created_at: datetime = strawberry.field(description="When it was added.")

    @classmethod
    def from_model(cls, row: models.SourceStream) -> SourceStream:
        return from_row(
            cls,
            row,
            sync_mode=SyncMode[row.sync_mode],
            excluded_columns=list(row.excluded_columns or []),
            hashed_columns=list(row.hashed_columns or []),
        )


@strawberry.type(description="A schedule copying a connection's streams into a destination schema.")
class EltSync:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `sync_`.")
    connection_id: strawberry.ID = strawberry.field(description="The source connection.")
    workspace_id: strawberry.ID | None = strawberry.field(
        description="The connection's workspace (null for an organization-wide connection)."
    )
    destination_schema_name: str = strawberry.field(
        description="Schema the tables are loaded into (`<schema>__<stream>` tables on SQLite)."
    )
    settings: JSON = strawberry.field(description="ELT settings of the connector.")
    sync_interval: str = strawberry.field(description="Cron expression, in `timezone`.")
    timezone: str = strawberry.field(description="IANA timezone of the cron expression.")
    schema_change_policy: SchemaChangePolicy = strawberry.field(  # type: ignore[valid-type]
        description="What happens when the source gains fields."
    )
    enabled: bool = strawberry.field(description="True when it runs on its schedule.")
    next_run_at: datetime | None = strawberry.field(
        description="When the schedule starts its next run (null while disabled)."
    )
    delete_detection: DeleteDetection = strawberry.field(  # type: ignore[valid-type]
        description="How rows deleted at the source are marked."
    )
    reconcile_interval: str | None = strawberry.field(
        description="Cron expression (in `timezone`) of the reconciliation pass; null: daily at 03:00."
    )
    next_reconcile_at: datetime | None = strawberry.field(
        description="When the next reconciliation pass starts (null unless enabled with `RECONCILE`)."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(description="The streams it copies, with their state.")
    async def source_streams(self, info: Info[Context, None]) -> list[SourceStream]:
        return await info.context.loaders.sync_streams.load(str(self.id))

    @strawberry.field(
        description="Its most recent run by queue time, whatever its status (null before the "
        "first run). A list of syncs reads every one's last run in one query."
    )
    async def last_run(self, info: Info[Context, None]) -> SyncRun | None:
        return await info.context.loaders.last_run.load(str(self.id))

    @strawberry.field(
        description="The run queued or running now, or null: a manual or scheduled run, or a "
        "retry waiting out its backoff. A sync has at most one; `lastRun` may be a newer "
        "`SKIPPED` run."
    )
    async def active_run(self, info: Info[Context, None]) -> SyncRun | None:
        return await info.context.loaders.active_run.load(str(self.id))

    @classmethod
    def from_model(cls, row: models.EltSync) -> EltSync:
        return from_row(
            cls,
            row,
            destination_schema_name=row.destination_schema,
            settings=syncs.public_settings(row),
            schema_change_policy=SchemaChangePolicy(row.schema_change_policy),
            delete_detection=DeleteDetection(row.delete_detection),
        )


@strawberry.type(description="What one run did to one stream.")
class SyncRunStream:
    name: str = strawberry.field(description="The stream.")
    status: str = strawberry.field(description="`PENDING`, `RUNNING`, `SUCCEEDED`, `FAILED` or `CANCELLED`.")
    rows_loaded: int = strawberry.field(description="Records written so far.")
    rows_inserted: int = strawberry.field(description="Of them, rows that were new to the table.")
    rows_updated: int = strawberry.field(
        description="Of them, rows that replaced a row with the same primary key (an upsert)."
    )
    rows_deleted: int = strawberry.field(description="Rows marked deleted (`_weir_deleted_at`) so far.")
    batches: int = strawberry.field(description="Batches committed so far.")
    error: str | None = strawberry.field(description="Why the stream failed, if it did.")
    widened_columns: list[str] = strawberry.field(
        description="Columns widened to text because a value did not fit their type."
    )
    blocked_columns: list[str] = strawberry.field(
        description="New source fields left out because the policy is `BLOCK_ALL`."
    )


@strawberry.type(description="One execution (one attempt) of a sync.")
class SyncRun:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `run_`.")
    sync_id: strawberry.ID = strawberry.field(description="The sync it ran.")
    trigger: SyncRunTrigger = strawberry.field(description="Schedule, manual, or retry.")
    status: SyncRunStatus = strawberry.field(description="Where it is.")  # type: ignore[valid-type]
    full_refresh: bool = strawberry.field(description="True when it reloaded every stream.")
    attempt: int = strawberry.field(description="1 for a first try; a retry counts up.")
    error: str | None = strawberry.field(description="Why it failed or was skipped.")
    cancel_requested: bool = strawberry.field(description="A cancel is pending.")
    queued_at: datetime = strawberry.field(description="When it was created.")
    started_at: datetime | None = strawberry.field(description="When a worker started it.")
    finished_at: datetime | None = strawberry.field(description="When it ended.")
    heartbeat_at: datetime | None = strawberry.field(description="Last sign of life.")
    stuck_at: datetime | None = strawberry.field(
        description="Set while it runs but has loaded no batch for WEIR_RUN_STUCK_SECONDS: when "
        "it was seen stuck. Its next batch clears it."
    )
    streams: list[SyncRunStream] = strawberry.field(description="Per-stream counts and errors.")

    @strawberry.field(description="Records written across every stream.")
    def rows_loaded(self) -> int:
        return sum(stream.rows_loaded for stream in self.streams)

    @strawberry.field(description="Rows new to their tables, across every stream.")
    def rows_inserted(self) -> int:
        return sum(stream.rows_inserted for stream in self.streams)

    @strawberry.field(description="Rows that replaced a row with the same key, across every stream.")
    def rows_updated(self) -> int:
        return sum(stream.rows_updated for stream in self.streams)

    @strawberry.field(description="Rows marked deleted across every stream.")
    def rows_deleted(self) -> int:
        return sum(stream.rows_deleted for stream in self.streams)

    @classmethod
    def from_model(cls, row: models.SyncRun) -> SyncRun:
        streams = [
            SyncRunStream(
                name=name,
                status=stats.get("status", "PENDING"),
                rows_loaded=int(stats.get("rowsLoaded", 0)),
                rows_inserted=int(stats.get("rowsInserted", 0)),
                rows_updated=int(stats.get("rowsUpdated", 0)),
                rows_deleted=int(stats.get("rowsDeleted", 0)),
                batches=int(stats.get("batches", 0)),
                error=stats.get("error"),
                widened_columns=list(stats.get("widenedColumns", [])),
                blocked_columns=list(stats.get("blockedColumns", [])),
            )
            for name, stats in (row.stream_stats or {}).items()
        ]
        return from_row(
            cls, row, trigger=SyncRunTrigger(row.trigger), status=SyncRunStatus(row.status), streams=streams
        )


@strawberry.type(description="A change to a sync, delivered by `eltSyncUpdated`.")
class EltSyncEvent:
    kind: EltSyncEventKind = strawberry.field(
        description="`CURRENT` for each sync when subscribing, then what happened."
    )
    sync_id: strawberry.ID = strawberry.field(description="The sync.")
    sync: EltSync | None = strawberry.field(description="The sync now (null once deleted).")


# -- inputs -------------------------------------------------------------------------------------


@strawberry.input(description="A stream to copy and how.")
class SourceStreamInput:
    name: str = strawberry.field(description="Stream name, from the integration's `streams`.")
    sync_mode: SyncMode = strawberry.field(description="Must be one the stream supports.")  # type: ignore[valid-type]
    excluded_columns: list[str] = strawberry.field(default_factory=list, description="Columns never loaded.")
    hashed_columns: list[str] = strawberry.field(
        default_factory=list, description="Columns loaded as a salted SHA-256."
    )

    def choice(self) -> StreamChoice:
        return StreamChoice(
            name=self.name,
            sync_mode=self.sync_mode.value,
            excluded_columns=list(self.excluded_columns),
            hashed_columns=list(self.hashed_columns),
        )


@strawberry.input(description="A new ELT sync; it starts disabled.")
class CreateEltSyncInput:
    connection_id: strawberry.ID = strawberry.field(description="The source connection.")
    destination_schema_name: str = strawberry.field(
        description="Lower-case SQL identifier of the destination schema."
    )
    sync_interval: str = strawberry.field(description="Cron expression, e.g. `0 * * * *`.")
    # Nullable with a null default rather than `JSON! = {}`: graphql-core cannot turn a dict
    # default of a scalar into a literal, which made every full introspection fail.
    settings: JSON | None = strawberry.field(
        default=None,
        description="ELT settings, valid for `connectionSettingsSchema`; omitted or null is `{}`.",
    )
    timezone: str = strawberry.field(default="UTC", description="IANA timezone of the cron.")
    schema_change_policy: SchemaChangePolicy = strawberry.field(  # type: ignore[valid-type]
        default=SchemaChangePolicy.ALLOW_ALL, description="What to do with new source fields."
    )
    source_streams: list[SourceStreamInput] = strawberry.field(
        default_factory=list, description="Streams to copy (more can be added later)."
    )
    delete_detection: DeleteDetection = strawberry.field(  # type: ignore[valid-type]
        default=DeleteDetection.OFF, description="How rows deleted at the source are marked."
    )
    reconcile_interval: str | None = strawberry.field(
        default=None, description="Cron of the reconciliation pass (null: daily at 03:00)."
    )


@strawberry.input(description="Changes to a sync; omitted fields stay as they are.")
class UpdateEltSyncInput:
    id: strawberry.ID = strawberry.field(description="The sync to change.")
    destination_schema_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="New destination schema."
    )
    settings: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="New settings (replace the old)."
    )
    sync_interval: str | None = strawberry.field(default=strawberry.UNSET, description="New cron expression.")
    timezone: str | None = strawberry.field(default=strawberry.UNSET, description="New timezone.")
    schema_change_policy: SchemaChangePolicy | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="New schema-change policy."
    )
    delete_detection: DeleteDetection | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="New delete detection."
    )
    reconcile_interval: str | None = strawberry.field(
        default=strawberry.UNSET, description="New reconciliation cron (null: daily at 03:00)."
    )


@strawberry.input(description="Streams to add to a sync.")
class AddSourceStreamsInput:
    sync_id: strawberry.ID = strawberry.field(description="The sync.")
    source_streams: list[SourceStreamInput] = strawberry.field(
        description="Streams to add; one already selected takes the new mode and columns."
    )


@strawberry.input(description="Streams to stop copying (their tables are kept).")
class RemoveSourceStreamsInput:
    sync_id: strawberry.ID = strawberry.field(description="The sync.")
    names: list[str] = strawberry.field(description="Names of selected streams.")


@strawberry.input(description="Which syncs to list.")
class EltSyncFilter:
    workspace_id: strawberry.ID | None = strawberry.field(default=None, description="Only this workspace's.")
    connection_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this connection's."
    )
    enabled: bool | None = strawberry.field(default=None, description="Only (not) enabled ones.")


@strawberry.input(description="Which runs to list; every field given narrows the list.")
class SyncRunFilter:
    status: list[SyncRunStatus] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only runs in one of these statuses (e.g. `[FAILED]`)."
    )
    workspace_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this workspace's syncs."
    )
    connection_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the syncs of this connection."
    )
    since: datetime | None = strawberry.field(
        default=None, description="Queued at or after this time (UTC when no offset is given)."
    )
    until: datetime | None = strawberry.field(
        default=None, description="Queued before this time (UTC when no offset is given)."
    )


def changes_of(input: Any) -> SyncChanges:
    return SyncChanges(
        destination_schema=_given(input.destination_schema_name),
        settings=_given(input.settings),
        sync_interval=_given(input.sync_interval),
        timezone=_given(input.timezone),
        schema_change_policy=_given(input.schema_change_policy, lambda p: p.value),
        delete_detection=_given(input.delete_detection, lambda d: d.value),
        reconcile_interval=_given(input.reconcile_interval),
    )
