"""ELT syncs: settings schema, create/update/delete, source streams, enable/disable.

Runs (trigger, cancel, history, live updates) are in ``server.syncs.runs``; what a client may ask
a sync to copy (``StreamChoice``) and its checks are in ``server.syncs.choices``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server import http as http_clients
from server import ids
from server.config import Settings
from server.connections.models import Connection
from server.connections.service import get_usable_connection
from server.connectors.base import StreamSpec
from server.connectors.registry import settings_schema_for
from server.crypto import KeyRing
from server.destinations.base import POLICIES
from server.errors import Conflict, FieldError, NotFound, ValidationFailed
from server.events import EventBus
from server.pagination import Page, paginate
from server.scope import Scope
from server.syncs.choices import DELETE_DETECTIONS, StreamChoice, schema_name_error, stream_errors
from server.syncs.hashing import new_salt
from server.syncs.models import EltSync, SourceStream, SyncRun
from server.syncs.namespaces import qualified_schema, qualified_schema_of
from server.syncs.reconcile import next_reconcile_after
from server.syncs.schedule import cron_error, next_run_after, schedule_error, timezone_error
from server.syncs.settings import (
    SALT_KEY,
    connector_settings,
    reserved_settings,
    settings_errors,
)
from server.syncs.sources import (
    account_error,
    connector_for,
    fresh_context,
    load_credentials,
    offered_streams,
)
from server.syncs.transitions import ACTIVE, publish_sync, utcnow
from server.syncs.webhook_events import record_elt_sync_updated
from server.unset import UNSET

MIN_RECONCILE_INTERVAL_SECONDS = 3600  # a pass reads every key of every stream: at most hourly


@dataclass
class SyncChanges:
    """Fields of a sync a client may set; ``UNSET`` leaves one as it is."""

    destination_schema: Any = UNSET
    settings: Any = UNSET
    sync_interval: Any = UNSET
    timezone: Any = UNSET
    schema_change_policy: Any = UNSET
    delete_detection: Any = UNSET
    reconcile_interval: Any = UNSET


# -- look-ups ---------------------------------------------------------------------------------


async def get_sync(*, scope: Scope, sync_id: str) -> EltSync:
    """One sync, or ``NOT_FOUND``."""
    sync = await EltSync.get_or_none(id=sync_id, **scope.filters())
    if sync is None:
        raise NotFound("ELT sync", sync_id)
    return sync


async def list_syncs(
    *,
    scope: Scope,
    workspace_id: str | None,
    connection_id: str | None,
    enabled: bool | None,
    first: int | None,
    after: str | None,
    max_page_size: int,
) -> Page[EltSync]:
    """Syncs the caller may see, optionally of one workspace or connection, or (not) enabled."""
    queryset = EltSync.filter(**scope.filters())
    if workspace_id is not None:
        scope.check_workspace(workspace_id)
        queryset = queryset.filter(workspace_id=workspace_id)
    if connection_id is not None:
        queryset = queryset.filter(connection_id=connection_id)
    if enabled is not None:
        queryset = queryset.filter(enabled=enabled)
    return await paginate(queryset, first=first, after=after, max_page_size=max_page_size)


async def streams_of_syncs(*, scope: Scope, sync_ids: list[str]) -> dict[str, list[SourceStream]]:
    """The source streams of many syncs in one query (for DataLoaders)."""
    rows = await SourceStream.filter(
        sync_id__in=sync_ids, sync__organization_id=scope.organization_id
    ).order_by("created_at", "id")
    found: dict[str, list[SourceStream]] = {sync_id: [] for sync_id in sync_ids}
    for row in rows:
        found.setdefault(row.sync_id, []).append(row)
    return found


# -- the settings schema ----------------------------------------------------------------------


async def connection_settings_schema(
    *,
    scope: Scope,
    settings: Settings,
    key_ring: KeyRing,
    connection_id: str,
    partial_settings: dict[str, Any] | None,
    bus: EventBus | None = None,
) -> dict[str, Any]:
    """The connector's ELT settings schema, with options listed from the account when it can
    (with fresh credentials: ``sources.fresh_context``)."""
    connection = await get_usable_connection(
        scope=scope, connection_id=connection_id, action="read the account behind"
    )
    connector = await connector_for(connection, settings=settings)
    if getattr(connector, "settings_options", None) is None:
        return copy.deepcopy(connector.SPEC.settings_schema)
    credentials = load_credentials(key_ring=key_ring, connection=connection)  # for messages
    async with http_clients.tenant_client(settings, http_clients.DISCOVERY) as http:
        context = await fresh_context(
            settings=settings,
            key_ring=key_ring,
            connection=connection,
            connector=connector,
            http=http,
            bus=bus,
        )
        try:
            return await settings_schema_for(
                connector, context, context.credentials, dict(partial_settings or {})
            )
        except Exception as exc:
            raise account_error(exc, credentials) from exc


async def connection_streams(
    *,
    scope: Scope,
    settings: Settings,
    key_ring: KeyRing,
    connection_id: str,
    sync_settings: Any,
    bus: EventBus | None = None,
) -> list[StreamSpec]:
    """The streams a sync of this connection could copy with ``sync_settings`` (validated first,
    as ``createEltSync`` would): discovered from the account where the connector can (a
    database's tables, each with its columns), else the integration's own."""
    connection = await get_usable_connection(
        scope=scope, connection_id=connection_id, action="read the account behind"
    )
    connector = await connector_for(connection, settings=settings)
    wanted = {} if sync_settings is None else sync_settings
    errors = settings_errors(connector.SPEC.settings_schema, wanted, field="settings")
    if errors:
        raise ValidationFailed(errors)
    offered = await offered_streams(
        settings=settings, key_ring=key_ring, connection=connection, sync_settings=wanted, bus=bus
    )
    return list(offered.values())


# -- validation -------------------------------------------------------------------------------


def _check_changes(
    changes: SyncChanges, connector: Any, settings: Settings, timezone: str
) -> list[FieldError]:
    problems: list[FieldError | None] = []
    if changes.destination_schema is not UNSET:
        problems.append(schema_name_error("input.destinationSchemaName", changes.destination_schema))
    if changes.settings is not UNSET:
        problems.extend(settings_errors(connector.SPEC.settings_schema, changes.settings))
    if changes.timezone is not UNSET:
        problems.append(timezone_error("input.timezone", changes.timezone))
    if changes.sync_interval is not UNSET:
        problems.append(
            cron_error(
                "input.syncInterval", changes.sync_interval, timezone, settings.min_sync_interval_seconds
            )
        )
    if changes.schema_change_policy is not UNSET and changes.schema_change_policy not in POLICIES:
        problems.append(FieldError("input.schemaChangePolicy", f"must be one of {', '.join(POLICIES)}"))
    if changes.delete_detection is not UNSET and changes.delete_detection not in DELETE_DETECTIONS:
        problems.append(FieldError("input.deleteDetection", f"must be one of {', '.join(DELETE_DETECTIONS)}"))
    if changes.reconcile_interval not in (UNSET, None):
        if not isinstance(changes.reconcile_interval, str):
            problems.append(FieldError("input.reconcileInterval", "must be a cron expression"))
        else:
            problems.append(
                cron_error(
                    "input.reconcileInterval",
                    changes.reconcile_interval,
                    timezone,
                    max(settings.min_sync_interval_seconds, MIN_RECONCILE_INTERVAL_SECONDS),
                )
            )
    return [p for p in problems if p is not None]


def _schedule_reconciliation(sync: EltSync) -> None:
    """``next_reconcile_at``: from its cron while the sync is enabled and reconciles, else None."""
    if sync.enabled and sync.delete_detection == "RECONCILE":
        sync.next_reconcile_at = next_reconcile_after(sync, utcnow())
    else:
        sync.next_reconcile_at = None


async def _check_schema_free(
    scope: Scope, *, workspace_id: str | None, name: str, sync_id: str | None
) -> None:
    """``CONFLICT`` when another sync of the same namespace already loads into ``name``.

    A namespace is one workspace (or the organization-wide syncs): only what shares physical
    tables is compared, so the answer never tells anything about another workspace or tenant.
    """
    qualified = qualified_schema(organization_id=scope.organization_id, workspace_id=workspace_id, name=name)
    taken = EltSync.filter(
        Q(destination_schema=name) | Q(warehouse_schema=qualified),
        organization_id=scope.organization_id,
    )
    taken = (
        taken.filter(workspace_id=workspace_id)
        if workspace_id is not None
        else taken.filter(workspace_id__isnull=True)
    )
    if sync_id is not None:
        taken = taken.exclude(id=sync_id)
    if await taken.exists():
        where = "this workspace" if workspace_id is not None else "this organization"
        raise Conflict(f"another sync of {where} already loads into schema {name!r}")


# -- changes ----------------------------------------------------------------------------------


async def create_sync(
    *,
    scope: Scope,
    settings: Settings,
    key_ring: KeyRing,
    bus: EventBus | None,
    connection_id: str,
    changes: SyncChanges,
    streams: list[StreamChoice],
) -> EltSync:
    """A new sync, disabled; every invalid field is reported at once."""
    # A sync belongs to its connection's workspace; one of an ORGANIZATION connection would be
    # invisible to a workspace-restricted key, so such a key may not create it.
    connection = await get_usable_connection(
        scope=scope, connection_id=connection_id, action="create syncs of"
    )
    connector = await connector_for(connection, settings=settings)
    for name, path in (
        ("destination_schema", "input.destinationSchemaName"),
        ("sync_interval", "input.syncInterval"),
    ):
        if getattr(changes, name) is UNSET:
            raise ValidationFailed.field(path, "is required")
    if changes.settings is UNSET or changes.settings is None:
        changes.settings = {}  # the API's null means "no settings", like an omitted field
    timezone = "UTC" if changes.timezone is UNSET else changes.timezone
    errors = _check_changes(changes, connector, settings, timezone)
    settings_ok = not any(e.field.startswith("input.settings") for e in errors)
    # Streams a connector discovers depend on valid settings; fixed ones can be checked anyway.
    if streams and (settings_ok or getattr(connector, "discover", None) is None):
        offered = await offered_streams(
            settings=settings,
            key_ring=key_ring,
            connection=connection,
            sync_settings=changes.settings,
            bus=bus,
        )
        errors += stream_errors(connector, offered, streams, "input.sourceStreams")
    if errors:
        raise ValidationFailed(errors)
    await _check_schema_free(
        scope, workspace_id=connection.workspace_id, name=changes.destination_schema, sync_id=None
    )
    sync_id = ids.new_id("elt_sync")
    stored = {**changes.settings, SALT_KEY: new_salt(key_ring=key_ring, sync_id=sync_id)}
    async with in_transaction():
        sync = await EltSync.create(
            id=sync_id,
            organization_id=scope.organization_id,
            workspace_id=connection.workspace_id,
            connection_id=connection.id,
            destination_schema=changes.destination_schema,
            settings=stored,
            warehouse_schema=qualified_schema(
                organization_id=scope.organization_id,
                workspace_id=connection.workspace_id,
                name=changes.destination_schema,
            ),
            sync_interval=changes.sync_interval,
            timezone=timezone,
            schema_change_policy=(
                "ALLOW_ALL" if changes.schema_change_policy is UNSET else changes.schema_change_policy
            ),
            delete_detection="OFF" if changes.delete_detection is UNSET else changes.delete_detection,
            reconcile_interval=None if changes.reconcile_interval is UNSET else changes.reconcile_interval,
            enabled=False,
        )
        await _create_streams(sync, streams)
    if bus is not None:
        await publish_sync(bus=bus, sync=sync, kind="created")
    return sync


async def _create_streams(sync: EltSync, streams: list[StreamChoice]) -> None:
    for choice in streams:
        await SourceStream.create(
            id=ids.new_id("source_stream"),
            sync_id=sync.id,
            name=choice.name,
            sync_mode=choice.sync_mode,
            excluded_columns=list(dict.fromkeys(choice.excluded_columns)),
            hashed_columns=list(dict.fromkeys(choice.hashed_columns)),
        )


async def update_sync(
    *, scope: Scope, settings: Settings, bus: EventBus | None, sync_id: str, changes: SyncChanges
) -> EltSync:
    """Change a sync's destination schema, settings, interval, timezone or policy."""
    sync = await get_sync(scope=scope, sync_id=sync_id)
    connector = await connector_for(await Connection.get(id=sync.connection_id), settings=settings)
    timezone = sync.timezone if changes.timezone is UNSET else changes.timezone
    errors = _check_changes(changes, connector, settings, timezone)
    if errors:
        raise ValidationFailed(errors)
    if changes.destination_schema is not UNSET and changes.destination_schema != sync.destination_schema:
        await _check_schema_free(
            scope, workspace_id=sync.workspace_id, name=changes.destination_schema, sync_id=sync.id
        )
        # A new name means new tables (the old ones are kept), in this sync's namespace; an
        # unchanged name keeps the physical schema, literal for a sync older than namespaces.
        sync.destination_schema = changes.destination_schema
        sync.warehouse_schema = qualified_schema_of(sync)
    if changes.sync_interval is not UNSET:
        sync.sync_interval = changes.sync_interval
    sync.timezone = timezone
    if changes.schema_change_policy is not UNSET:
        sync.schema_change_policy = changes.schema_change_policy
    if changes.delete_detection is not UNSET:
        sync.delete_detection = changes.delete_detection
    if changes.reconcile_interval is not UNSET:
        sync.reconcile_interval = changes.reconcile_interval
    if sync.enabled:
        # The new half of a schedule is checked above; the stored half may predate the checks.
        problem = schedule_error(sync.sync_interval, sync.timezone)
        if problem is not None:
            raise ValidationFailed.field(f"input.{problem.field}", problem.message)
        sync.next_run_at = next_run_after(sync.sync_interval, sync.timezone, utcnow())
    if any(v is not UNSET for v in (changes.delete_detection, changes.reconcile_interval, changes.timezone)):
        _schedule_reconciliation(sync)
    # Only the fields this changes: a whole-row save would write back the hash salt as read
    # above, undoing a key rotation that re-sealed it meanwhile.
    fields = [
        "destination_schema",
        "warehouse_schema",
        "sync_interval",
        "timezone",
        "schema_change_policy",
        "next_run_at",
        "delete_detection",
        "reconcile_interval",
        "next_reconcile_at",
        "updated_at",
    ]
    async with in_transaction():
        if changes.settings is not UNSET:
            # Weir's reserved keys (the salt) as stored now, under a row lock.
            fresh = await EltSync.filter(id=sync.id).select_for_update().values_list("settings", flat=True)
            stored = fresh[0] if fresh else sync.settings
            sync.settings = {**changes.settings, **reserved_settings(stored)}
            fields.append("settings")
        await _save_updated(sync, update_fields=fields)
    if bus is not None:
        await publish_sync(bus=bus, sync=sync, kind="updated")
    return sync


async def add_source_streams(
    *,
    scope: Scope,
    settings: Settings,
    key_ring: KeyRing,
    bus: EventBus | None,
    sync_id: str,
    streams: list[StreamChoice],
) -> EltSync:
    """Add streams to copy; a stream already selected is replaced by the new choice."""
    sync = await get_sync(scope=scope, sync_id=sync_id)
    connection = await Connection.get(id=sync.connection_id)
    connector = await connector_for(connection, settings=settings)
    offered = await offered_streams(
        settings=settings,
        key_ring=key_ring,
        connection=connection,
        sync_settings=connector_settings(sync.settings),
        bus=bus,
    )
    errors = stream_errors(connector, offered, streams, "input.sourceStreams")
    if errors:
        raise ValidationFailed(errors)
    async with in_transaction():
        await SourceStream.filter(sync_id=sync.id, name__in=[s.name for s in streams]).delete()
        await _create_streams(sync, streams)
    await _touch(sync, bus)
    return sync


async def remove_source_streams(
    *, scope: Scope, bus: EventBus | None, sync_id: str, names: list[str]
) -> EltSync:
    """Stop copying streams (their destination tables are kept)."""
    sync = await get_sync(scope=scope, sync_id=sync_id)
    selected = set(await SourceStream.filter(sync_id=sync.id).values_list("name", flat=True))
    errors = [
        FieldError(f"input.names.{i}", f"stream {name!r} is not selected")
        for i, name in enumerate(names)
        if name not in selected
    ]
    if errors:
        raise ValidationFailed(errors)
    await SourceStream.filter(sync_id=sync.id, name__in=names).delete()
    await _touch(sync, bus)
    return sync


async def _save_updated(sync: EltSync, update_fields: list[str] | None = None) -> None:
    """Save a changed sync and record ``elt_sync.updated`` in the same transaction."""
    async with in_transaction():
        await sync.save(update_fields=update_fields)
        await record_elt_sync_updated(sync)


async def _touch(sync: EltSync, bus: EventBus | None) -> None:
    await _save_updated(sync, update_fields=["updated_at"])
    if bus is not None:
        await publish_sync(bus=bus, sync=sync, kind="updated")


async def set_enabled(*, scope: Scope, bus: EventBus | None, sync_id: str, enabled: bool) -> EltSync:
    """Enable a sync (``nextRunAt`` from its cron and timezone) or disable it."""
    sync = await get_sync(scope=scope, sync_id=sync_id)
    if enabled and not await SourceStream.filter(sync_id=sync.id).exists():
        raise ValidationFailed.field("id", "the sync has no source streams; add some first")
    problem = schedule_error(sync.sync_interval, sync.timezone) if enabled else None
    if problem is not None:
        raise ValidationFailed.field(
            "id", f"the sync's {problem.field} {problem.message}; set a valid one with updateEltSync first"
        )
    sync.enabled = enabled
    sync.next_run_at = next_run_after(sync.sync_interval, sync.timezone, utcnow()) if enabled else None
    _schedule_reconciliation(sync)
    await _save_updated(sync, update_fields=["enabled", "next_run_at", "next_reconcile_at", "updated_at"])
    if bus is not None:
        await publish_sync(bus=bus, sync=sync, kind="updated")
    return sync


async def delete_sync(*, scope: Scope, bus: EventBus | None, sync_id: str) -> str:
    """Delete a sync, its streams and runs; the destination tables are kept."""
    sync = await get_sync(scope=scope, sync_id=sync_id)
    going = await SyncRun.filter(sync_id=sync.id, status__in=ACTIVE).first()
    if going is not None:
        raise Conflict(f"run {going.id} is {going.status}; cancel it before deleting the sync")
    await sync.delete()
    if bus is not None:
        await publish_sync(bus=bus, sync=sync, kind="deleted")
    return sync_id


def public_settings(sync: EltSync) -> dict[str, Any]:
    """The settings a client sees (never Weir's reserved keys)."""
    return connector_settings(sync.settings)
