"""GraphQL for the tenant model: viewer, workspaces, end users, API keys."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from server.api.context import Context
from server.api.pagination import Connection, to_connection
from server.connections import deletion
from server.orgs import api_keys as keys_service
from server.orgs import models, warehouse
from server.orgs import service as orgs
from server.orgs.rows import ApiKeyRow, EndUserRow, WorkspaceRow
from server.orgs.service import UNSET as SERVICE_UNSET
from server.orgs.service import WorkspaceChanges


@strawberry.enum(description="Color scheme of the hosted connect page.")
class Theme(Enum):
    LIGHT = "LIGHT"
    DARK = "DARK"
    SYSTEM = "SYSTEM"


@strawberry.type(description="The tenant. Everything in Weir belongs to exactly one organization.")
class Organization:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `org_`.")
    name: str = strawberry.field(description="Display name of the organization.")
    created_at: datetime = strawberry.field(description="When it was created.")

    @classmethod
    def from_model(cls, row: models.Organization) -> Organization:
        return cls(id=strawberry.ID(row.id), name=row.name, created_at=row.created_at)


@strawberry.type(
    description="An environment or product inside an organization (e.g. production), with the "
    "branding of its connect flow and where that flow may be embedded and may redirect to."
)
class Workspace:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `ws_`.")
    name: str = strawberry.field(description="Unique name within the organization.")
    display_name: str | None = strawberry.field(description="Name shown on the connect page.")
    logo_url: str | None = strawberry.field(description="Logo shown on the connect page.")
    primary_color: str | None = strawberry.field(description="Brand color, `#rrggbb`.")
    theme: Theme = strawberry.field(description="Light, dark, or follow the user's system.")
    allowed_origins: list[str] = strawberry.field(
        description="Origins (`scheme://host[:port]`) allowed to embed the connect flow."
    )
    allowed_redirect_uris: list[str] = strawberry.field(
        description="Exact URIs a connect session may send the browser back to."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    row: strawberry.Private[models.Workspace | WorkspaceRow]

    @strawberry.field(
        description="This workspace's own warehouse, its password and query-string values "
        "masked (`****`); null when its syncs load into the deployment's warehouse "
        "(`WEIR_WAREHOUSE_URL`)."
    )
    def warehouse_url(self, info: Info[Context, None]) -> str | None:
        if self.row.warehouse_url_encrypted is None:
            return None
        return warehouse.masked(key_ring=info.context.services.key_ring, workspace=self.row)

    @classmethod
    def from_model(cls, row: models.Workspace | WorkspaceRow) -> Workspace:
        return cls(
            row=row,
            id=strawberry.ID(row.id),
            name=row.name,
            display_name=row.display_name,
            logo_url=row.logo_url,
            primary_color=row.primary_color,
            theme=Theme(row.theme),
            allowed_origins=list(row.allowed_origins or []),
            allowed_redirect_uris=list(row.allowed_redirect_uris or []),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def _workspace(info: Info[Context, None], workspace_id: str | None) -> Any:
    """A workspace through the request's loaders; synchronous when it is already loaded (a list
    resolver primes them), so a page of N items adds no awaitable per item."""
    if workspace_id is None:
        return None
    loaders = info.context.loaders
    if workspace_id in loaders.workspaces:
        return loaders.workspaces[workspace_id]
    return loaders.workspace.load(workspace_id)


@strawberry.type(description="A customer of the host app, identified by the host's own id.")
class EndUser:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `eu_`.")
    external_id: str = strawberry.field(description="The host app's id for this customer.")
    display_name: str | None = strawberry.field(description="Name shown in dashboards.")
    email: str | None = strawberry.field(description="Contact email, if the host gave one.")
    created_at: datetime = strawberry.field(description="When it was created.")
    workspace_id: strawberry.Private[str]

    @strawberry.field(description="The workspace this end user belongs to.")
    def workspace(self, info: Info[Context, None]) -> Workspace:
        return _workspace(info, self.workspace_id)

    @classmethod
    def from_model(cls, row: models.EndUser | EndUserRow) -> EndUser:
        return cls(
            id=strawberry.ID(row.id),
            external_id=row.external_id,
            display_name=row.display_name,
            email=row.email,
            created_at=row.created_at,
            workspace_id=row.workspace_id,
        )


@strawberry.type(description="A key for this API. Its secret is shown once, when created.")
class ApiKey:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `key_`.")
    name: str = strawberry.field(description="What the key is for.")
    prefix: str = strawberry.field(
        description="The first characters of the secret, to recognise the key (`weir_sk_abc123`)."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    last_used_at: datetime | None = strawberry.field(
        description="When it last authenticated a request (to within five minutes)."
    )
    revoked_at: datetime | None = strawberry.field(description="When it was revoked, if it was.")
    workspace_id: strawberry.Private[str | None]

    @strawberry.field(description="The one workspace this key is restricted to, if any.")
    def workspace(self, info: Info[Context, None]) -> Workspace | None:
        return _workspace(info, self.workspace_id)

    @classmethod
    def from_model(cls, row: models.ApiKey | ApiKeyRow) -> ApiKey:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            prefix=row.prefix,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            workspace_id=row.workspace_id,
        )


@strawberry.type(description="Who is calling: the organization and API key behind this request.")
class Viewer:
    organization: Organization = strawberry.field(description="The caller's organization.")
    api_key_id: strawberry.Private[str | None]
    workspace_id: strawberry.Private[str | None]

    @strawberry.field(description="The API key that authenticated this request.")
    async def api_key(self, info: Info[Context, None]) -> ApiKey | None:
        if self.api_key_id is None:
            return None
        row = await keys_service.get_api_key(scope=info.context.scope, api_key_id=self.api_key_id)
        return ApiKey.from_model(row)

    @strawberry.field(description="The workspace the key is restricted to; null if it sees all.")
    def workspace(self, info: Info[Context, None]) -> Workspace | None:
        return _workspace(info, self.workspace_id)


# -- inputs and payloads --------------------------------------------------------------------


@strawberry.input(description="A new workspace.")
class CreateWorkspaceInput:
    name: str = strawberry.field(description="Unique name within the organization.")
    display_name: str | None = strawberry.field(default=None, description="Name on the connect page.")
    logo_url: str | None = strawberry.field(default=None, description="http(s) URL of a logo.")
    primary_color: str | None = strawberry.field(default=None, description="Hex color, `#rrggbb`.")
    theme: Theme = strawberry.field(default=Theme.LIGHT, description="Connect page theme.")
    allowed_origins: list[str] = strawberry.field(
        default_factory=list, description="Origins allowed to embed the connect flow."
    )
    allowed_redirect_uris: list[str] = strawberry.field(
        default_factory=list, description="Exact URIs the redirect flow may return to."
    )
    warehouse_url: str | None = strawberry.field(
        default=None, description="Load this workspace's syncs here instead of the deployment's "
        "warehouse: `postgres://...` (query parameters: sslmode, application_name, "
        "target_session_attrs, password) or a SQLite warehouse by name, `sqlite://NAME`, kept in "
        "Weir's data directory. Only a key not restricted to a workspace may set it."
    )


@strawberry.input(description="Changes to a workspace; omitted fields stay as they are.")
class UpdateWorkspaceInput:
    id: strawberry.ID = strawberry.field(description="The workspace to change.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    display_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="New display name; null clears it."
    )
    logo_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="New logo URL; null clears it."
    )
    primary_color: str | None = strawberry.field(
        default=strawberry.UNSET, description="New hex color; null clears it."
    )
    theme: Theme | None = strawberry.field(default=strawberry.UNSET, description="New theme.")
    allowed_origins: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the list of allowed origins."
    )
    allowed_redirect_uris: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the list of allowed redirect URIs."
    )
    warehouse_url: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="This workspace's own warehouse (as in `CreateWorkspaceInput`); null goes "
        "back to the deployment's. Only a key not restricted to a workspace may set it.",
    )


def _given(value: object) -> object:
    return SERVICE_UNSET if value is strawberry.UNSET else value


@strawberry.input(description="A new end user.")
class CreateEndUserInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    external_id: str = strawberry.field(description="The host app's id; unique per workspace.")
    display_name: str | None = strawberry.field(default=None, description="Name for dashboards.")
    email: str | None = strawberry.field(default=None, description="Contact email.")


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    name: str = strawberry.field(description="What the key is for.")
    workspace_id: strawberry.ID | None = strawberry.field(
        default=None, description="Restrict the key to this one workspace."
    )


@strawberry.type(description="A new API key and its secret. The secret is never shown again.")
class CreateApiKeyPayload:
    api_key: ApiKey = strawberry.field(description="The key.")
    secret: str = strawberry.field(description="The secret to send as `Authorization: Bearer`.")


@strawberry.type(description="What a delete removed.")
class DeletePayload:
    deleted_id: strawberry.ID = strawberry.field(description="Id of the deleted object.")


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
            scope=info.context.scope, first=first, after=after,
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
        return EndUser.from_model(
            await orgs.get_end_user(scope=info.context.scope, end_user_id=str(id))
        )

    @strawberry.field(description="API keys of the organization, revoked ones included.")
    async def api_keys(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[ApiKey]:
        page = await keys_service.list_api_keys(
            scope=info.context.scope, first=first, after=after,
            max_page_size=info.context.max_page_size,
        )
        await info.context.loaders.prime_workspaces(
            {row.workspace_id for row in page.items if row.workspace_id}
        )
        return to_connection(page, ApiKey.from_model)


@strawberry.type
class OrgsMutation:
    @strawberry.mutation(description="Create a workspace.")
    async def create_workspace(
        self, info: Info[Context, None], input: CreateWorkspaceInput
    ) -> Workspace:
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
    async def update_workspace(
        self, info: Info[Context, None], input: UpdateWorkspaceInput
    ) -> Workspace:
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
            scope=info.context.scope, key_ring=info.context.services.key_ring,
            workspace_id=str(input.id), changes=changes,
            bus=info.context.bus,
        )
        return Workspace.from_model(row)

    @strawberry.mutation(description="Create an end user; `externalId` is unique per workspace.")
    async def create_end_user(
        self, info: Info[Context, None], input: CreateEndUserInput
    ) -> EndUser:
        row = await orgs.create_end_user(
            scope=info.context.scope,
            workspace_id=str(input.workspace_id),
            external_id=input.external_id,
            display_name=input.display_name,
            email=input.email,
        )
        return EndUser.from_model(row)

    @strawberry.mutation(description="Delete an end user and all of its connections.")
    async def delete_end_user(self, info: Info[Context, None], id: strawberry.ID) -> DeletePayload:
        deleted = await deletion.delete_end_user(scope=info.context.scope,
                                                 end_user_id=str(id), bus=info.context.bus)
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
        row = await keys_service.revoke_api_key(scope=info.context.scope, api_key_id=str(id),
                                                bus=info.context.bus)
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
