"""GraphQL for MCP servers (``server.mcp_servers``): what each exposes, and its tokens (a
token's secret is returned once, by ``createMcpToken``). The MCP endpoint itself is ``/mcp``."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from server.api.context import Context
from server.api.org_types import DeletePayload
from server.mcp_servers import models
from server.mcp_servers import service as mcp


@strawberry.type(description="An MCP token's public part (the secret is shown once, on creation).")
class McpToken:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `mcpt_`.")
    mcp_server_id: strawberry.ID = strawberry.field(description="The MCP server it opens.")
    end_user_id: strawberry.ID | None = strawberry.field(
        description="The end user it acts for; null for the workspace."
    )
    name: str = strawberry.field(description="What the token is for.")
    prefix: str = strawberry.field(description="The first characters of the secret (`weir_mcp_abc123`).")
    created_at: datetime = strawberry.field(description="When it was created.")
    expires_at: datetime | None = strawberry.field(description="When it stops working, if ever.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked, if it was.")

    @classmethod
    def from_model(cls, row: models.McpToken) -> McpToken:
        return cls(
            id=strawberry.ID(row.id),
            mcp_server_id=strawberry.ID(row.mcp_server_id),
            end_user_id=strawberry.ID(row.end_user_id) if row.end_user_id else None,
            name=row.name,
            prefix=row.prefix,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
        )


@strawberry.type(
    description="An MCP server: the actions of a workspace's integrations an agent may call as "
    "tools at `/mcp`, with a token for one end user (or the workspace)."
)
class McpServer:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `mcp_`.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    name: str = strawberry.field(description="What it is for.")
    integrations: list[str] = strawberry.field(description="The integrations whose actions it exposes.")
    actions: list[str] = strawberry.field(
        description="When not empty, only these actions (`integration.action`)."
    )
    read_only: bool = strawberry.field(description="Only actions declared read-only are exposed.")
    created_at: datetime = strawberry.field(description="When it was created.")

    @strawberry.field(description="Its tokens, revoked ones included (secrets never shown).")
    async def tokens(self, info: Info[Context, None]) -> list[McpToken]:
        rows = await mcp.list_mcp_tokens(scope=info.context.scope, server_id=str(self.id))
        return [McpToken.from_model(row) for row in rows]

    @classmethod
    def from_model(cls, row: models.McpServer) -> McpServer:
        return cls(
            id=strawberry.ID(row.id),
            workspace_id=strawberry.ID(row.workspace_id),
            name=row.name,
            integrations=list(row.integrations),
            actions=list(row.actions),
            read_only=row.read_only,
            created_at=row.created_at,
        )


@strawberry.input(description="A new MCP server.")
class CreateMcpServerInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace whose integrations it exposes.")
    name: str = strawberry.field(description="At most 200 characters.")
    integrations: list[str] = strawberry.field(description="Integrations of the workspace, by name.")
    actions: list[str] | None = strawberry.field(
        default=None, description="Narrow to these actions (`integration.action`); all when empty."
    )
    read_only: bool = strawberry.field(default=False, description="Expose only read-only actions.")


@strawberry.input(description="What to change of an MCP server; omitted fields stay.")
class UpdateMcpServerInput:
    id: strawberry.ID = strawberry.field(description="The MCP server.")
    name: str | None = strawberry.field(default=None, description="At most 200 characters.")
    integrations: list[str] | None = strawberry.field(
        default=None, description="Replaces the list (and clears `actions` unless given too)."
    )
    actions: list[str] | None = strawberry.field(
        default=None, description="Narrow to these actions (`integration.action`); all when empty."
    )
    read_only: bool | None = strawberry.field(default=None, description="Expose only read-only actions.")


@strawberry.input(description="A new token for an MCP server.")
class CreateMcpTokenInput:
    mcp_server_id: strawberry.ID = strawberry.field(description="The MCP server it opens.")
    name: str = strawberry.field(description="At most 200 characters.")
    end_user_id: strawberry.ID | None = strawberry.field(
        default=None, description="The end user it acts for (else the workspace)."
    )
    end_user_external_id: str | None = strawberry.field(default=None, description="Or by your external id.")
    ttl_seconds: int | None = strawberry.field(
        default=None, description="Lifetime, 60 seconds to 366 days; none means until revoked."
    )


@strawberry.type(description="A new MCP token and its secret.")
class CreateMcpTokenPayload:
    token: McpToken = strawberry.field(description="The token's public part.")
    secret: str = strawberry.field(description="The bearer token for `/mcp`. Shown only here.")


@strawberry.type
class McpQuery:
    @strawberry.field(description="The MCP servers of the organization, or of one workspace.")
    async def mcp_servers(
        self, info: Info[Context, None], workspace_id: strawberry.ID | None = None
    ) -> list[McpServer]:
        rows = await mcp.list_mcp_servers(
            scope=info.context.scope, workspace_id=str(workspace_id) if workspace_id else None
        )
        return [McpServer.from_model(row) for row in rows]

    @strawberry.field(description="One MCP server, or NOT_FOUND.")
    async def mcp_server(self, info: Info[Context, None], id: strawberry.ID) -> McpServer:
        return McpServer.from_model(await mcp.get_mcp_server(scope=info.context.scope, server_id=str(id)))


@strawberry.type
class McpMutation:
    @strawberry.mutation(description="Create an MCP server exposing actions of a workspace's integrations.")
    async def create_mcp_server(self, info: Info[Context, None], input: CreateMcpServerInput) -> McpServer:
        row = await mcp.create_mcp_server(
            scope=info.context.scope,
            settings=info.context.settings,
            workspace_id=str(input.workspace_id),
            name=input.name,
            integrations=input.integrations,
            actions=input.actions,
            read_only=input.read_only,
        )
        return McpServer.from_model(row)

    @strawberry.mutation(description="Change what an MCP server exposes; its tokens see it at once.")
    async def update_mcp_server(self, info: Info[Context, None], input: UpdateMcpServerInput) -> McpServer:
        row = await mcp.update_mcp_server(
            scope=info.context.scope,
            settings=info.context.settings,
            server_id=str(input.id),
            name=input.name,
            integrations=input.integrations,
            actions=input.actions,
            read_only=input.read_only,
        )
        return McpServer.from_model(row)

    @strawberry.mutation(description="Delete an MCP server and its tokens.")
    async def delete_mcp_server(self, info: Info[Context, None], id: strawberry.ID) -> DeletePayload:
        row = await mcp.delete_mcp_server(scope=info.context.scope, server_id=str(id))
        return DeletePayload(deleted_id=strawberry.ID(row.id))

    @strawberry.mutation(description="Create an MCP token. Its secret is returned only here.")
    async def create_mcp_token(
        self, info: Info[Context, None], input: CreateMcpTokenInput
    ) -> CreateMcpTokenPayload:
        created = await mcp.create_mcp_token(
            scope=info.context.scope,
            server_id=str(input.mcp_server_id),
            name=input.name,
            end_user_id=str(input.end_user_id) if input.end_user_id else None,
            end_user_external_id=input.end_user_external_id,
            ttl_seconds=input.ttl_seconds,
        )
        return CreateMcpTokenPayload(token=McpToken.from_model(created.token), secret=created.secret)

    @strawberry.mutation(description="Revoke an MCP token; its next request is refused.")
    async def revoke_mcp_token(self, info: Info[Context, None], id: strawberry.ID) -> McpToken:
        return McpToken.from_model(await mcp.revoke_mcp_token(scope=info.context.scope, token_id=str(id)))
