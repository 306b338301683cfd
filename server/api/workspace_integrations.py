"""GraphQL for a workspace's configuration of each integration (OAuth app, resolution strategy).

The OAuth client secret goes in, never out: clients see only ``hasOAuthClientSecret``.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from server.api.connections import ConnectionNode
from server.api.context import Context
from server.api.domain import domain_enum, from_row
from server.api.integrations import Integration, integration_spec
from server.api.org_types import Workspace
from server.api.pagination import Connection as Page
from server.api.pagination import to_connection
from server.api.unset import given as _given
from server.integrations import service as integrations
from server.integrations.models import WorkspaceIntegration as Row
from server.integrations.service import IntegrationSettings

ConnectionStrategy = domain_enum(
    "ConnectionStrategy",
    integrations.STRATEGIES,
    description="How `resolveConnection` picks a connection in a workspace.",
    described={
        "FIXED": "Always the one fixed connection.",
        "PER_USER": "The end user's own connection.",
        "PER_USER_WITH_FALLBACK": "The end user's own, else the workspace's, else the organization's.",
    },
)


@strawberry.type(description="How one workspace uses one integration.")
class WorkspaceIntegration:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `wi_`.")
    integration_name: str = strawberry.field(description="The integration's name.")
    enabled: bool = strawberry.field(description="False blocks resolution and the connect flow.")
    strategy: ConnectionStrategy = strawberry.field(description="How connections are resolved.")  # type: ignore[valid-type]
    oauth_client_id: str | None = strawberry.field(description="The workspace's OAuth app id.")
    has_oauth_client_secret: bool = strawberry.field(
        name="hasOAuthClientSecret",
        description="True when an OAuth client secret is stored (it is never returned).",
    )
    scopes: list[str] | None = strawberry.field(
        description="OAuth scopes to ask for; null means the integration's defaults."
    )
    authorization_url: str | None = strawberry.field(
        description="This workspace's OAuth authorization URL; null means the integration's."
    )
    token_url: str | None = strawberry.field(
        description="This workspace's OAuth token URL (code exchange and refresh); null means the "
        "integration's."
    )
    revocation_url: str | None = strawberry.field(
        description="This workspace's OAuth revocation URL; null means the integration's."
    )
    api_base_url: str | None = strawberry.field(
        description="This workspace's API base URL (e.g. GitHub Enterprise's); null means the integration's."
    )
    proxy_methods: list[str] | None = strawberry.field(
        description="The HTTP methods `/proxy` may use with this integration here; null allows every method."
    )
    proxy_path_prefixes: list[str] | None = strawberry.field(
        description="The path prefixes (under the API base URL) `/proxy` may call here, matched on "
        "whole segments; null allows every path under the base URL."
    )
    created_at: datetime = strawberry.field(description="When it was first configured.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    workspace_id: strawberry.Private[str]
    fixed_connection_id: strawberry.Private[str | None]

    @strawberry.field(description="The integration, as this workspace sees it (with its overrides).")
    async def integration(self, info: Info[Context, None]) -> Integration:
        return await integration_spec(info, self.integration_name, self.workspace_id)

    @strawberry.field(description="The workspace.")
    async def workspace(self, info: Info[Context, None]) -> Workspace | None:
        return await info.context.loaders.workspace.load(self.workspace_id)

    @strawberry.field(description="The connection used by the FIXED strategy.")
    async def fixed_connection(self, info: Info[Context, None]) -> ConnectionNode | None:
        if self.fixed_connection_id is None:
            return None
        return await info.context.loaders.connection.load(self.fixed_connection_id)

    @classmethod
    def from_model(cls, row: Row) -> WorkspaceIntegration:
        return from_row(
            cls,
            row,
            strategy=ConnectionStrategy(row.strategy),
            has_oauth_client_secret=row.oauth_client_secret_encrypted is not None,
            scopes=list(row.scopes) if row.scopes is not None else None,
            proxy_methods=list(row.proxy_methods) if row.proxy_methods is not None else None,
            proxy_path_prefixes=list(row.proxy_path_prefixes)
            if row.proxy_path_prefixes is not None
            else None,
        )


@strawberry.input(
    description="Configure one integration in one workspace; omitted fields stay "
    "as they are, null clears a field."
)
class ConfigureWorkspaceIntegrationInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace.")
    integration_name: str = strawberry.field(description="The integration, e.g. `hubspot`.")
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Enable or disable it here."
    )
    strategy: ConnectionStrategy | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="How resolveConnection picks a connection."
    )
    fixed_connection_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="For FIXED: a WORKSPACE connection of this workspace or an ORGANIZATION one.",
    )
    oauth_client_id: str | None = strawberry.field(
        default=strawberry.UNSET, description="Your OAuth app's client id."
    )
    oauth_client_secret: str | None = strawberry.field(
        name="oauthClientSecret",
        default=strawberry.UNSET,
        description="Your OAuth app's client secret; stored encrypted, never returned.",
    )
    scopes: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="OAuth scopes to ask for."
    )
    authorization_url: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Move the OAuth authorization URL (a sandbox, GitHub Enterprise, a "
        "self-hosted GitLab); http(s), at most 2000 characters, only the integration's "
        "{placeholders}. Null restores the integration's.",
    )
    token_url: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Move the OAuth token URL (code exchange and refresh); null restores it.",
    )
    revocation_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="Move the OAuth revocation URL; null restores it."
    )
    api_base_url: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Move the API base URL the connector calls; null restores the integration's.",
    )
    proxy_methods: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Limit `/proxy` to these HTTP methods (GET, HEAD, POST, PUT, PATCH, DELETE, "
        'OPTIONS; at most 50), e.g. `["GET", "HEAD"]` for read-only; null allows every method.',
    )
    proxy_path_prefixes: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Limit `/proxy` to paths under these prefixes (each starts with `/`, at most 200 "
        "characters, no `..`; at most 50), matched on whole segments; null allows every path under "
        "the API base URL.",
    )


@strawberry.type
class WorkspaceIntegrationsQuery:
    @strawberry.field(description="The integrations a workspace has configured.")
    async def workspace_integrations(
        self,
        info: Info[Context, None],
        workspace_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Page[WorkspaceIntegration]:
        page = await integrations.list_workspace_integrations(
            scope=info.context.scope,
            workspace_id=str(workspace_id),
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
        )
        return to_connection(page, WorkspaceIntegration.from_model)


@strawberry.type
class WorkspaceIntegrationsMutation:
    @strawberry.mutation(description="Create or change how a workspace uses an integration.")
    async def configure_workspace_integration(
        self, info: Info[Context, None], input: ConfigureWorkspaceIntegrationInput
    ) -> WorkspaceIntegration:
        strategy = input.strategy
        fixed = input.fixed_connection_id
        settings = IntegrationSettings(
            enabled=_given(input.enabled),
            strategy=_given(strategy.value if isinstance(strategy, ConnectionStrategy) else strategy),
            fixed_connection_id=_given(str(fixed) if fixed not in (None, strawberry.UNSET) else fixed),
            oauth_client_id=_given(input.oauth_client_id),
            oauth_client_secret=_given(input.oauth_client_secret),
            scopes=_given(input.scopes),
            authorization_url=_given(input.authorization_url),
            token_url=_given(input.token_url),
            revocation_url=_given(input.revocation_url),
            api_base_url=_given(input.api_base_url),
            proxy_methods=_given(input.proxy_methods),
            proxy_path_prefixes=_given(input.proxy_path_prefixes),
        )
        row = await integrations.configure_workspace_integration(
            scope=info.context.scope,
            key_ring=info.context.services.key_ring,
            workspace_id=str(input.workspace_id),
            integration_name=input.integration_name,
            settings=settings,
            deployment=info.context.services.settings,
        )
        return WorkspaceIntegration.from_model(row)
