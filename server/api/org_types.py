"""GraphQL types and inputs of the tenant model: organization, workspaces, end users, API keys
(the operations are in ``orgs.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from server.api.context import Context
from server.api.domain import domain_enum, from_row
from server.orgs import api_keys as keys_service
from server.orgs import models, warehouse
from server.orgs import service as orgs
from server.orgs.rows import ApiKeyRow, EndUserRow, WorkspaceRow

Theme = domain_enum("Theme", orgs.THEMES, description="Color scheme of the hosted connect page.")


@strawberry.type(description="The tenant. Everything in Weir belongs to exactly one organization.")
class Organization:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `org_`.")
    name: str = strawberry.field(description="Display name of the organization.")
    created_at: datetime = strawberry.field(description="When it was created.")

    @classmethod
    def from_model(cls, row: models.Organization) -> Organization:
        return from_row(cls, row)


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
    theme: Theme = strawberry.field(description="Light, dark, or follow the user's system.")  # type: ignore[valid-type]
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
        return from_row(
            cls,
            row,
            row=row,
            theme=Theme(row.theme),
            allowed_origins=list(row.allowed_origins or []),
            allowed_redirect_uris=list(row.allowed_redirect_uris or []),
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
        return from_row(cls, row)


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
        return from_row(cls, row)


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
    theme: Theme = strawberry.field(default=Theme.LIGHT, description="Connect page theme.")  # type: ignore[valid-type]
    allowed_origins: list[str] = strawberry.field(
        default_factory=list, description="Origins allowed to embed the connect flow."
    )
    allowed_redirect_uris: list[str] = strawberry.field(
        default_factory=list, description="Exact URIs the redirect flow may return to."
    )
    warehouse_url: str | None = strawberry.field(
        default=None,
        description="Load this workspace's syncs here instead of the deployment's "
        "warehouse: `postgres://...` (query parameters: sslmode, application_name, "
        "target_session_attrs, password) or a SQLite warehouse by name, `sqlite://NAME`, kept in "
        "Weir's data directory. Only a key not restricted to a workspace may set it.",
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
    theme: Theme | None = strawberry.field(default=strawberry.UNSET, description="New theme.")  # type: ignore[valid-type]
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
