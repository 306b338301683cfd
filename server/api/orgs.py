"""GraphQL operations of the tenant model: viewer, workspaces, end users, API keys (the types
are in ``org_types.py``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from server.api.context import Context
from server.api.org_types import (
    ApiKey,
    CreateApiKeyInput,
    CreateApiKeyPayload,
    CreateEndUserInput,
    CreateWorkspaceInput,
    DeletePayload,
    EndUser,
    Organization,
    Theme,
    UpdateWorkspaceInput,
    Viewer,
    Workspace,
)
from server.api.pagination import Connection, to_connection
from server.api.unset import given as _given
from server.integrations import grant_revocation
from server.orgs import api_keys as keys_service
from server.orgs import service as orgs
from server.orgs.service import WorkspaceChanges

# -- operations -----------------------------------------------------------------------------


@strawberry.type
class OrgsQuery:
    @strawberry.field(description="The caller: its organization, API key and any restriction.")
    async def viewer(self, info: Info[Context, None]) -> Viewer:
        scope = info.context.scope
        organization = await orgs.get_organization(scope=scope)
        return Viewer(
            organization=Organization.from_model(organization),
            api_key_id=scope.api_key_id,
            workspace_id=scope.workspace_id,
        )

    @strawberry.field(description="Workspaces of the organization, oldest first.")
    async def workspaces(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[Workspace]:
        page = await orgs.list_workspaces(
            scope=info.context.scope,
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
        )
        return to_connection(page, Workspace.from_model)

    @strawberry.field(description="One workspace by id.")
    async def workspace(self, info: Info[Context, None], id: strawberry.ID) -> Workspace:
        row = await orgs.get_workspace(scope=info.context.scope, workspace_id=str(id))
        return Workspace.from_model(row)

    @strawberry.field(description="End users, optionally of one workspace or one external id.")
    async def end_users(
        self,
        info: Info[Context, None],
        workspace_id: strawberry.ID | None = None,
        external_id: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[EndUser]:
        page = await orgs.list_end_users(
            scope=info.context.scope,
            workspace_id=str(workspace_id) if workspace_id is not None else None,
            external_id=external_id,
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
        )
        await info.context.loaders.prime_workspaces({row.workspace_id for row in page.items})
        return to_connection(page, EndUser.from_model)

    @strawberry.field(description="One end user by id.")
    async def end_user(self, info: Info[Context, None], id: strawberry.ID) -> EndUser:
        return EndUser.from_model(await orgs.get_end_user(scope=info.context.scope, end_user_id=str(id)))

    @strawberry.field(description="API keys of the organization, revoked ones included.")
    async def api_keys(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[ApiKey]:
        page = await keys_service.list_api_keys(
            scope=info.context.scope,
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
        )
        await info.context.loaders.prime_workspaces(
            {row.workspace_id for row in page.items if row.workspace_id}
        )
        return to_connection(page, ApiKey.from_model)


@strawberry.type
class OrgsMutation:
    @strawberry.mutation(description="Create a workspace.")
    async def create_workspace(self, info: Info[Context, None], input: CreateWorkspaceInput) -> Workspace:
        changes = WorkspaceChanges(
            name=input.name,
            display_name=input.display_name,
            logo_url=input.logo_url,
            primary_color=input.primary_color,
            theme=input.theme.value,
            allowed_origins=input.allowed_origins,
            allowed_redirect_uris=input.allowed_redirect_uris,
            warehouse_url=input.warehouse_url,
        )
        row = await orgs.create_workspace(
            scope=info.context.scope, key_ring=info.context.services.key_ring, changes=changes
        )
        return Workspace.from_model(row)

    @strawberry.mutation(description="Change a workspace's name, branding, origins or redirect URIs.")
    async def update_workspace(self, info: Info[Context, None], input: UpdateWorkspaceInput) -> Workspace:
        theme = input.theme
        changes = WorkspaceChanges(
            name=_given(input.name),
            display_name=_given(input.display_name),
            logo_url=_given(input.logo_url),
            primary_color=_given(input.primary_color),
            theme=_given(theme.value if isinstance(theme, Theme) else theme),
            allowed_origins=_given(input.allowed_origins),
            allowed_redirect_uris=_given(input.allowed_redirect_uris),
            warehouse_url=_given(input.warehouse_url),
        )
        row = await orgs.update_workspace(
            scope=info.context.scope,
            key_ring=info.context.services.key_ring,
            workspace_id=str(input.id),
            changes=changes,
            bus=info.context.bus,
        )
        return Workspace.from_model(row)

    @strawberry.mutation(description="Create an end user; `externalId` is unique per workspace.")
    async def create_end_user(self, info: Info[Context, None], input: CreateEndUserInput) -> EndUser:
        row = await orgs.create_end_user(
            scope=info.context.scope,
            workspace_id=str(input.workspace_id),
            external_id=input.external_id,
            display_name=input.display_name,
            email=input.email,
        )
        return EndUser.from_model(row)

    @strawberry.mutation(
        description="Delete an end user and all of its connections (their OAuth grants are "
        "revoked at the provider where it offers revocation)."
    )
    async def delete_end_user(self, info: Info[Context, None], id: strawberry.ID) -> DeletePayload:
        services = info.context.services
        deleted = await grant_revocation.delete_end_user(
            scope=info.context.scope,
            settings=services.settings,
            key_ring=services.key_ring,
            http=services.connect_http(),
            end_user_id=str(id),
            bus=info.context.bus,
        )
        return DeletePayload(deleted_id=strawberry.ID(deleted))

    @strawberry.mutation(description="Create an API key. Its secret is returned only here.")
    async def create_api_key(
        self, info: Info[Context, None], input: CreateApiKeyInput
    ) -> CreateApiKeyPayload:
        created = await keys_service.create_scoped_api_key(
            scope=info.context.scope,
            name=input.name,
            workspace_id=str(input.workspace_id) if input.workspace_id else None,
        )
        return CreateApiKeyPayload(api_key=ApiKey.from_model(created.api_key), secret=created.secret)

    @strawberry.mutation(description="Revoke an API key; it stops working at once.")
    async def revoke_api_key(self, info: Info[Context, None], id: strawberry.ID) -> ApiKey:
        row = await keys_service.revoke_api_key(
            scope=info.context.scope, api_key_id=str(id), bus=info.context.bus
        )
        info.context.services.auth.forget_api_key(row.id)  # at once here; others via the bus
        return ApiKey.from_model(row)


@strawberry.type
class OrgsSubscription:
    @strawberry.subscription(description="The workspace now, then again after every change.")
    async def workspace_updated(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> AsyncGenerator[Workspace, None]:
        async for row in orgs.workspace_updates(
            scope=info.context.scope, workspace_id=str(id), bus=info.context.bus
        ):
            yield Workspace.from_model(row)
