"""GraphQL for ELT syncs: settings schema, syncs and their streams, runs, live updates."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.api.context import Context
from server.api.integrations import IntegrationStream
from server.api.org_types import DeletePayload
from server.api.pagination import Connection, to_connection
from server.api.shared import shared_payload
from server.api.sync_types import (
    AddSourceStreamsInput,
    CreateEltSyncInput,
    EltSync,
    EltSyncEvent,
    EltSyncEventKind,
    EltSyncFilter,
    RemoveSourceStreamsInput,
    SyncRun,
    SyncRunFilter,
    UpdateEltSyncInput,
    changes_of,
)
from server.syncs import runs as runs_service
from server.syncs import service as syncs
from server.syncs.service import SyncChanges

# -- operations ---------------------------------------------------------------------------------


@strawberry.type
class SyncsQuery:
    @strawberry.field(
        description="JSON Schema of a connection's ELT settings, with options "
        "listed from the account where the connector can (dependent options "
        "follow `partialSettings`)."
    )
    async def connection_settings_schema(
        self,
        info: Info[Context, None],
        connection_id: strawberry.ID,
        partial_settings: JSON | None = None,
    ) -> JSON:
        services = info.context.services
        return await syncs.connection_settings_schema(
            scope=info.context.scope,
            settings=services.settings,
            key_ring=services.key_ring,
            connection_id=str(connection_id),
            partial_settings=partial_settings,
            bus=services.bus,
        )

    @strawberry.field(
        description="The streams a sync of this connection could copy with these ELT `settings` "
        "(checked as `createEltSync` checks them): discovered from the account where the connector "
        "can (a database's tables, with their columns), else the integration's `streams`."
    )
    async def connection_streams(
        self,
        info: Info[Context, None],
        connection_id: strawberry.ID,
        settings: JSON | None = None,
    ) -> list[IntegrationStream]:
        services = info.context.services
        specs = await syncs.connection_streams(
            scope=info.context.scope,
            settings=services.settings,
            key_ring=services.key_ring,
            connection_id=str(connection_id),
            sync_settings=settings,
            bus=services.bus,
        )
        return [IntegrationStream.from_spec(spec) for spec in specs]

    @strawberry.field(description="ELT syncs, oldest first.")
    async def elt_syncs(
        self,
        info: Info[Context, None],
        filter: EltSyncFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[EltSync]:
        filter = filter or EltSyncFilter()
        page = await syncs.list_syncs(
            scope=info.context.scope,
            workspace_id=str(filter.workspace_id) if filter.workspace_id else None,
            connection_id=str(filter.connection_id) if filter.connection_id else None,
            enabled=filter.enabled,
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
        )
        return to_connection(page, EltSync.from_model)

    @strawberry.field(description="One ELT sync by id.")
    async def elt_sync(self, info: Info[Context, None], id: strawberry.ID) -> EltSync:
        return EltSync.from_model(await syncs.get_sync(scope=info.context.scope, sync_id=str(id)))

    @strawberry.field(
        description="Runs, newest first; each attempt is one run. Of one sync with `syncId`, "
        "else of every sync the caller may see (a workspace-restricted key: its workspace's), "
        "narrowed by `filter`."
    )
    async def sync_runs(
        self,
        info: Info[Context, None],
        sync_id: strawberry.ID | None = None,
        filter: SyncRunFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[SyncRun]:
        given = filter or SyncRunFilter()
        page = await runs_service.list_runs(
            scope=info.context.scope,
            sync_id=None if sync_id is None else str(sync_id),
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
            filter=runs_service.RunFilter(
                statuses=tuple(str(status.value) for status in given.status or ()),  # type: ignore[attr-defined]
                workspace_id=None if given.workspace_id is None else str(given.workspace_id),
                connection_id=None if given.connection_id is None else str(given.connection_id),
                since=given.since,
                until=given.until,
            ),
        )
        return to_connection(page, SyncRun.from_model)

    @strawberry.field(description="One run by id, with per-stream counts and errors.")
    async def sync_run(self, info: Info[Context, None], id: strawberry.ID) -> SyncRun:
        return SyncRun.from_model(await runs_service.get_run(scope=info.context.scope, run_id=str(id)))


@strawberry.type
class SyncsMutation:
    @strawberry.mutation(description="Create an ELT sync (disabled until `enableEltSync`).")
    async def create_elt_sync(self, info: Info[Context, None], input: CreateEltSyncInput) -> EltSync:
        services = info.context.services
        changes = SyncChanges(
            destination_schema=input.destination_schema_name,
            settings=input.settings,
            sync_interval=input.sync_interval,
            timezone=input.timezone,
            schema_change_policy=input.schema_change_policy.value,
            delete_detection=input.delete_detection.value,  # type: ignore[attr-defined]
            reconcile_interval=input.reconcile_interval,
        )
        row = await syncs.create_sync(
            scope=info.context.scope,
            settings=services.settings,
            key_ring=services.key_ring,
            bus=services.bus,
            connection_id=str(input.connection_id),
            changes=changes,
            streams=[stream.choice() for stream in input.source_streams],
        )
        return EltSync.from_model(row)

    @strawberry.mutation(description="Change a sync's schema, settings, interval or policy.")
    async def update_elt_sync(self, info: Info[Context, None], input: UpdateEltSyncInput) -> EltSync:
        row = await syncs.update_sync(
            scope=info.context.scope,
            settings=info.context.settings,
            bus=info.context.bus,
            sync_id=str(input.id),
            changes=changes_of(input),
        )
        return EltSync.from_model(row)

    @strawberry.mutation(description="Add streams to copy.")
    async def add_source_streams(self, info: Info[Context, None], input: AddSourceStreamsInput) -> EltSync:
        services = info.context.services
        row = await syncs.add_source_streams(
            scope=info.context.scope,
            settings=services.settings,
            key_ring=services.key_ring,
            bus=services.bus,
            sync_id=str(input.sync_id),
            streams=[stream.choice() for stream in input.source_streams],
        )
        return EltSync.from_model(row)

    @strawberry.mutation(description="Stop copying streams; their tables are kept.")
    async def remove_source_streams(
        self, info: Info[Context, None], input: RemoveSourceStreamsInput
    ) -> EltSync:
        row = await syncs.remove_source_streams(
            scope=info.context.scope,
            bus=info.context.bus,
            sync_id=str(input.sync_id),
            names=list(input.names),
        )
        return EltSync.from_model(row)

    @strawberry.mutation(description="Run the sync on its schedule from now on.")
    async def enable_elt_sync(self, info: Info[Context, None], id: strawberry.ID) -> EltSync:
        row = await syncs.set_enabled(
            scope=info.context.scope, bus=info.context.bus, sync_id=str(id), enabled=True
        )
        return EltSync.from_model(row)

    @strawberry.mutation(description="Stop running the sync on its schedule.")
    async def disable_elt_sync(self, info: Info[Context, None], id: strawberry.ID) -> EltSync:
        row = await syncs.set_enabled(
            scope=info.context.scope, bus=info.context.bus, sync_id=str(id), enabled=False
        )
        return EltSync.from_model(row)

    @strawberry.mutation(
        description="Queue a run now (`CONFLICT` while one is queued or "
        "running); `fullRefresh` reloads every stream from the start."
    )
    async def trigger_sync_run(
        self, info: Info[Context, None], sync_id: strawberry.ID, full_refresh: bool = False
    ) -> SyncRun:
        row = await runs_service.trigger_run(
            scope=info.context.scope,
            settings=info.context.settings,
            bus=info.context.bus,
            sync_id=str(sync_id),
            full_refresh=full_refresh,
        )
        return SyncRun.from_model(row)

    @strawberry.mutation(description="Cancel a queued run, or stop a running one after its current batch.")
    async def cancel_sync_run(self, info: Info[Context, None], run_id: strawberry.ID) -> SyncRun:
        row = await runs_service.cancel_run(
            scope=info.context.scope, bus=info.context.bus, run_id=str(run_id)
        )
        return SyncRun.from_model(row)

    @strawberry.mutation(
        description="Delete a sync and its run history; the tables it loaded stay in the destination."
    )
    async def delete_elt_sync(self, info: Info[Context, None], id: strawberry.ID) -> DeletePayload:
        deleted = await syncs.delete_sync(scope=info.context.scope, bus=info.context.bus, sync_id=str(id))
        return DeletePayload(deleted_id=strawberry.ID(deleted))


@strawberry.type
class SyncsSubscription:
    @strawberry.subscription(
        description="The latest run now, then every run as its status or "
        "progress changes (progress at most every two seconds): of one "
        "sync, of one workspace, or of the whole organization."
    )
    async def sync_run_updated(
        self,
        info: Info[Context, None],
        sync_id: strawberry.ID | None = None,
        workspace_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[SyncRun, None]:
        async for row in runs_service.run_updates(
            scope=info.context.scope,
            bus=info.context.bus,
            sync_id=str(sync_id) if sync_id else None,
            workspace_id=str(workspace_id) if workspace_id else None,
        ):
            yield shared_payload(row, SyncRun.from_model)

    @strawberry.subscription(
        description="Every sync now (`CURRENT`), then each one as it is created, changed or deleted."
    )
    async def elt_sync_updated(
        self,
        info: Info[Context, None],
        workspace_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[EltSyncEvent, None]:
        async for event in runs_service.sync_updates(
            scope=info.context.scope,
            bus=info.context.bus,
            workspace_id=str(workspace_id) if workspace_id else None,
        ):
            yield EltSyncEvent(
                kind=EltSyncEventKind(event.kind),
                sync_id=strawberry.ID(event.sync_id),
                sync=shared_payload(event.sync, EltSync.from_model) if event.sync else None,
            )
