"""GraphQL for connections: create, list, resolve, test, delete, and watch their status.

No field of ``Connection`` carries a credential: only ``credentialPreview``, masked when stored.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.api.context import Context
from server.api.domain import domain_enum, from_row
from server.api.integrations import AuthType, Integration, integration_spec
from server.api.org_types import DeletePayload, EndUser, Workspace
from server.api.pagination import Connection as Page
from server.api.pagination import to_connection
from server.connect import reconnect
from server.connect.service import ConnectScope
from server.connections import credentials as creds
from server.connections import health as healths
from server.connections import models, service
from server.connections import status as statuses
from server.errors import Forbidden, NotFound
from server.integrations import catalog, grant_revocation, refresh
from server.integrations import resolve as resolution

ConnectionScope = domain_enum(
    "ConnectionScope",
    service.SCOPES,
    description="Who a connection belongs to.",
    described={
        "ORGANIZATION": "The whole organization, every workspace.",
        "WORKSPACE": "One workspace.",
        "USER": "One end user (inside one workspace).",
    },
)
ConnectionStatus = domain_enum(
    "ConnectionStatus",
    statuses.STATUSES,
    description="Whether a connection's credentials work.",
    described={
        "ACTIVE": "Last known to work.",
        "ERROR": "The provider refused it; see the reason.",
    },
)
ConnectionHealth = domain_enum(
    "ConnectionHealth",
    healths.HEALTHS,
    description="How a connection is doing, finer than its status, with a reason.",
    described={
        "WORKING": "Its last check and use worked.",
        "DEGRADED": "The provider could not be reached or failed for a while (network, "
        "timeout, 5xx); retried, and still usable. Not the end user's to fix.",
        "NEEDS_REAUTHORIZATION": "The provider refused the credentials or the token refresh; "
        "the end user must connect again.",
        "MISSING_SCOPES": "The grant lacks a scope a selected stream needs.",
    },
)


@strawberry.enum(description="Which rule of `resolveConnection` chose the connection.")
class ResolutionSource(Enum):
    CONNECTION_ID = strawberry.enum_value("CONNECTION_ID", description="The explicit connectionId.")
    EXTERNAL_ID = strawberry.enum_value("EXTERNAL_ID", description="The explicit externalId.")
    FIXED = strawberry.enum_value("FIXED", description="The workspace's fixed connection.")
    END_USER = strawberry.enum_value("END_USER", description="The end user's own connection.")
    FALLBACK = strawberry.enum_value(
        "FALLBACK", description="The workspace's or organization's shared connection."
    )


@strawberry.type(
    description="A ready connect session that reconnects a connection in "
    "NEEDS_REAUTHORIZATION (its credentials are replaced; the connection, its id and its syncs "
    "stay). Single use; expires after WEIR_RECONNECT_SESSION_TTL_SECONDS. Send `connectUrl` "
    "(or the `token`, for the widget) to the end user."
)
class ReconnectSession:
    id: strawberry.ID = strawberry.field(description="The connect session's id.")
    token: str = strawberry.field(description="Its connect token (a secret: give it to the end user only).")
    connect_url: str = strawberry.field(description="The hosted connect page for it.")
    expires_at: datetime = strawberry.field(description="When it stops working.")


@strawberry.type(
    name="Connection",
    description="One set of credentials for one integration. The credentials "
    "themselves are never returned: only a masked preview.",
)
class ConnectionNode:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `conn_`.")
    integration_name: str = strawberry.field(description="The integration's name, e.g. `stripe`.")
    auth_type: AuthType = strawberry.field(description="How it authenticates.")  # type: ignore[valid-type]
    scope: ConnectionScope = strawberry.field(description="Organization, workspace or end user.")  # type: ignore[valid-type]
    external_id: str | None = strawberry.field(
        description="The host app's id for it; unique per integration within its scope."
    )
    display_name: str | None = strawberry.field(description="Name shown in dashboards.")
    status: ConnectionStatus = strawberry.field(description="Whether the credentials work.")  # type: ignore[valid-type]
    status_reason: str | None = strawberry.field(description="Why it is in `ERROR`.")
    health: ConnectionHealth = strawberry.field(description="How it is doing.")  # type: ignore[valid-type]
    health_reason: str | None = strawberry.field(
        description="Why it is not `WORKING`: what happened, e.g. that the provider could not be reached."
    )
    last_checked_at: datetime | None = strawberry.field(
        description="When its credentials were last checked with the provider (testConnection)."
    )
    next_check_at: datetime | None = strawberry.field(
        description="When Weir means to check it next (a liveness check, or the retry of a "
        "DEGRADED one); null when none is planned."
    )
    credential_preview: str | None = strawberry.field(
        description="The credential masked, e.g. `sk-...c123` (`****` for short secrets)."
    )
    expires_at: datetime | None = strawberry.field(description="When the OAuth token expires.")
    last_refreshed_at: datetime | None = strawberry.field(
        description="When the credentials were last replaced (OAuth refresh or reconnect)."
    )
    parameters: JSON = strawberry.field(
        description="Its parameters (name -> value; not secret): what the connect form or "
        "`createConnection` gave (a shop, a subdomain) and fields of the token response the "
        "integration keeps (Salesforce's `instance_url`). They fill its URLs' placeholders."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    workspace_id: strawberry.Private[str | None]
    end_user_id: strawberry.Private[str | None]

    @strawberry.field(description="The integration it connects to, as its workspace sees it.")
    async def integration(self, info: Info[Context, None]) -> Integration:
        return await integration_spec(info, self.integration_name, self.workspace_id)

    @strawberry.field(description="Its workspace; null for an ORGANIZATION connection.")
    async def workspace(self, info: Info[Context, None]) -> Workspace | None:
        if self.workspace_id is None:
            return None
        return await info.context.loaders.workspace.load(self.workspace_id)

    @strawberry.field(
        description="In NEEDS_REAUTHORIZATION, the ready session that reconnects it (made on "
        "first read, replaced once used or expired); null otherwise, and for ORGANIZATION "
        "connections. API keys only: FORBIDDEN to connect tokens."
    )
    async def reconnect_session(self, info: Info[Context, None]) -> ReconnectSession | None:
        scope = info.context.scope
        if isinstance(scope, ConnectScope):
            raise Forbidden("a connect token cannot read reconnect sessions")
        services = info.context.services
        row = await service.get_usable_connection(scope=scope, connection_id=str(self.id), action="reconnect")
        made = await reconnect.reconnect_session(
            settings=services.settings, key_ring=services.key_ring, connection=row, bus=services.bus
        )
        if made is None:
            return None
        return ReconnectSession(
            id=strawberry.ID(made.session.id),
            token=made.token,
            connect_url=made.connect_url,
            expires_at=made.session.expires_at,
        )

    @strawberry.field(description="Its end user; set for USER connections only.")
    async def end_user(self, info: Info[Context, None]) -> EndUser | None:
        if self.end_user_id is None:
            return None
        return await info.context.loaders.end_user.load(self.end_user_id)

    @classmethod
    def from_model(cls, row: models.Connection) -> ConnectionNode:
        return from_row(
            cls,
            row,
            auth_type=AuthType[row.auth_type],
            scope=ConnectionScope(row.scope),
            status=ConnectionStatus(row.status),
            health=ConnectionHealth(row.health),
            parameters=dict(row.parameters or {}),
        )


# -- inputs and payloads --------------------------------------------------------------------


@strawberry.input(
    description="A new connection. Give the credential fields of its `authType` "
    "only: `secretText` (SECRET_TEXT); `username`, `password` and other fields in "
    "`props` (BASIC_AUTH); `props` (CUSTOM_AUTH); `accessToken`, optional "
    "`refreshToken` and `expiresAt` (PLATFORM_OAUTH2, OAUTH2)."
)
class CreateConnectionInput:
    integration_name: str = strawberry.field(description="The integration, e.g. `openai`.")
    auth_type: AuthType = strawberry.field(description="How it authenticates.")  # type: ignore[valid-type]
    scope: ConnectionScope | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="Who it belongs to. Default: USER when `endUserId` is given, else "
        "WORKSPACE when `workspaceId` is given or the API key is restricted to a workspace, "
        "else ORGANIZATION (as the seed systems do; see the seeds mapping in the docs).",
    )
    workspace_id: strawberry.ID | None = strawberry.field(
        default=None, description="Its workspace (required for WORKSPACE scope)."
    )
    end_user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Its end user (required for USER scope)."
    )
    external_id: str | None = strawberry.field(
        default=None, description="Your id for it; unique per integration within its scope."
    )
    display_name: str | None = strawberry.field(default=None, description="Name for dashboards.")
    secret_text: str | None = strawberry.field(default=None, description="SECRET_TEXT: the key.")
    username: str | None = strawberry.field(default=None, description="BASIC_AUTH: user name.")
    password: str | None = strawberry.field(default=None, description="BASIC_AUTH: password.")
    props: JSON | None = strawberry.field(
        default=None,
        description="CUSTOM_AUTH (and BASIC_AUTH extras): fields of the integration's "
        "`authFieldsSchema`, validated against it.",
    )
    access_token: str | None = strawberry.field(default=None, description="OAuth access token.")
    refresh_token: str | None = strawberry.field(default=None, description="OAuth refresh token.")
    expires_at: datetime | None = strawberry.field(default=None, description="When the access token expires.")
    parameters: JSON | None = strawberry.field(
        default=None,
        description='The integration\'s parameters (`{"subdomain": "acme"}`), checked '
        "against its `parametersSchema`; token-response parameters (`instance_url`) may be "
        "given with imported OAuth tokens.",
    )
    check: bool = strawberry.field(
        default=False,
        description="Check the credentials with the provider first; on failure nothing is "
        "stored and the error is `CHECK_FAILED` with the provider's reason.",
    )


@strawberry.input(description="Narrows `connections`; every given field must match.")
class ConnectionFilter:
    integration_name: str | None = strawberry.field(default=None, description="Integration name.")
    workspace_id: strawberry.ID | None = strawberry.field(default=None, description="Workspace.")
    end_user_id: strawberry.ID | None = strawberry.field(default=None, description="End user.")
    external_id: str | None = strawberry.field(default=None, description="Your external id.")
    status: ConnectionStatus | None = strawberry.field(default=None, description="Status.")  # type: ignore[valid-type]
    health: ConnectionHealth | None = strawberry.field(default=None, description="Health.")  # type: ignore[valid-type]


@strawberry.input(description="What to resolve a connection for.")
class ResolveConnectionInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace asking.")
    integration_name: str = strawberry.field(description="The integration, e.g. `hubspot`.")
    end_user_id: strawberry.ID | None = strawberry.field(default=None, description="The end user, by id.")
    end_user_external_id: str | None = strawberry.field(
        default=None, description="The end user, by your external id."
    )
    external_id: str | None = strawberry.field(
        default=None, description="An explicit connection external id; wins over the strategy."
    )
    connection_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="An explicit connection id; wins over every rule (another integration's, "
        "workspace's or end user's connection is rejected).",
    )


@strawberry.type(description="The connection to use, and the rule that chose it.")
class ResolvedConnection:
    connection: ConnectionNode = strawberry.field(description="The connection.")
    resolved_by: ResolutionSource = strawberry.field(description="Which rule chose it.")


@strawberry.type(description="The outcome of checking a connection with its provider.")
class TestConnectionPayload:
    ok: bool = strawberry.field(description="True when the provider accepted the credentials.")
    message: str = strawberry.field(description="What the provider said.")
    connection: ConnectionNode = strawberry.field(description="The connection, status updated.")


@strawberry.type(description="A connection's status changed.")
class ConnectionStatusChange:
    connection_id: strawberry.ID = strawberry.field(description="The connection.")
    status: ConnectionStatus = strawberry.field(description="Its new status.")  # type: ignore[valid-type]
    reason: str | None = strawberry.field(description="Why, when `ERROR`.")
    workspace_id: strawberry.ID | None = strawberry.field(
        description="Its workspace; null for an ORGANIZATION connection."
    )

    @strawberry.field(description="The connection now; null if it was deleted meanwhile.")
    async def connection(self, info: Info[Context, None]) -> ConnectionNode | None:
        try:
            row = await service.get_connection(
                scope=info.context.scope, connection_id=str(self.connection_id)
            )
        except NotFound:
            return None
        return ConnectionNode.from_model(row)


@strawberry.type(description="A connection's health changed (or its reason did).")
class ConnectionHealthChange:
    connection_id: strawberry.ID = strawberry.field(description="The connection.")
    health: ConnectionHealth = strawberry.field(description="Its new health.")  # type: ignore[valid-type]
    reason: str | None = strawberry.field(description="Why, unless `WORKING`.")
    status: ConnectionStatus = strawberry.field(description="Its status now.")  # type: ignore[valid-type]
    changed_at: datetime | None = strawberry.field(description="When the health changed.")
    workspace_id: strawberry.ID | None = strawberry.field(
        description="Its workspace; null for an ORGANIZATION connection."
    )

    @strawberry.field(description="The connection now; null if it was deleted meanwhile.")
    async def connection(self, info: Info[Context, None]) -> ConnectionNode | None:
        try:
            row = await service.get_connection(
                scope=info.context.scope, connection_id=str(self.connection_id)
            )
        except NotFound:
            return None
        return ConnectionNode.from_model(row)


def _credentials(input: CreateConnectionInput) -> dict[str, Any]:
    return creds.from_input(
        input.auth_type.value,
        {
            "secretText": input.secret_text,
            "username": input.username,
            "password": input.password,
            "props": input.props,
            "accessToken": input.access_token,
            "refreshToken": input.refresh_token,
            "expiresAt": input.expires_at,
        },
    )


def _id(value: strawberry.ID | None) -> str | None:
    return None if value is None else str(value)


# -- operations -----------------------------------------------------------------------------


@strawberry.type
class ConnectionsQuery:
    @strawberry.field(description="Connections, oldest first, narrowed by `filter`.")
    async def connections(
        self,
        info: Info[Context, None],
        filter: ConnectionFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Page[ConnectionNode]:
        given = filter or ConnectionFilter()
        page = await service.list_connections(
            scope=info.context.scope,
            integration_name=given.integration_name,
            workspace_id=_id(given.workspace_id),
            end_user_id=_id(given.end_user_id),
            external_id=given.external_id,
            status=given.status.value if given.status else None,
            health=given.health.value if given.health else None,
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
        )
        return to_connection(page, ConnectionNode.from_model)

    @strawberry.field(description="One connection by id.")
    async def connection(self, info: Info[Context, None], id: strawberry.ID) -> ConnectionNode:
        row = await service.get_connection(scope=info.context.scope, connection_id=str(id))
        return ConnectionNode.from_model(row)


@strawberry.type
class ConnectionsMutation:
    @strawberry.mutation(description="Store credentials for an integration, encrypted.")
    async def create_connection(
        self, info: Info[Context, None], input: CreateConnectionInput
    ) -> ConnectionNode:
        services = info.context.services
        row = await service.create_connection(
            scope=info.context.scope,
            key_ring=services.key_ring,
            settings=services.settings,
            integration_name=input.integration_name,
            auth_type=input.auth_type.value,
            credentials=_credentials(input),
            connection_scope=input.scope.value if input.scope is not None else None,
            workspace_id=_id(input.workspace_id),
            end_user_id=_id(input.end_user_id),
            external_id=input.external_id,
            display_name=input.display_name,
            expires_at=input.expires_at,
            check=input.check,
            http=services.check_http,
            bus=services.bus,
            connectors=catalog.resolver(services.settings),
            parameters=input.parameters,
        )
        return ConnectionNode.from_model(row)

    @strawberry.mutation(
        description="Delete a connection and the syncs that read from it; an OAuth grant is "
        "revoked at the provider where it offers revocation."
    )
    async def delete_connection(self, info: Info[Context, None], id: strawberry.ID) -> DeletePayload:
        services = info.context.services
        deleted = await grant_revocation.delete_connection(
            scope=info.context.scope,
            settings=services.settings,
            key_ring=services.key_ring,
            http=services.connect_http(),
            connection_id=str(id),
        )
        return DeletePayload(deleted_id=strawberry.ID(deleted))

    @strawberry.mutation(description="Check a connection with its provider; updates its status.")
    async def test_connection(self, info: Info[Context, None], id: strawberry.ID) -> TestConnectionPayload:
        services = info.context.services
        outcome = await service.check_connection(
            scope=info.context.scope,
            key_ring=services.key_ring,
            settings=services.settings,
            connection_id=str(id),
            limiter=services.check_limiter,
            http=services.check_http,
            bus=services.bus,
            connectors=catalog.resolver(services.settings),
            fresh=refresh.credential_source(
                settings=services.settings,
                key_ring=services.key_ring,
                http=services.connect_http(),
                bus=services.bus,
            ),
        )
        return TestConnectionPayload(
            ok=outcome.ok, message=outcome.message, connection=ConnectionNode.from_model(outcome.connection)
        )

    @strawberry.mutation(
        description="The connection to use: the explicit connectionId or externalId, then the "
        "workspace integration's strategy, then the end user's connection; "
        "else CONNECTION_REQUIRED."
    )
    async def resolve_connection(
        self, info: Info[Context, None], input: ResolveConnectionInput
    ) -> ResolvedConnection:
        found = await resolution.resolve_connection(
            scope=info.context.scope,
            workspace_id=str(input.workspace_id),
            integration_name=input.integration_name,
            end_user_id=_id(input.end_user_id),
            end_user_external_id=input.end_user_external_id,
            external_id=input.external_id,
            connection_id=_id(input.connection_id),
        )
        return ResolvedConnection(
            connection=ConnectionNode.from_model(found.connection),
            resolved_by=ResolutionSource(found.resolved_by),
        )


@strawberry.type
class ConnectionsSubscription:
    @strawberry.subscription(
        description="Status changes of a workspace's connections as they happen; without "
        "`workspaceId`, of the organization-wide connections."
    )
    async def connection_status_changed(
        self,
        info: Info[Context, None],
        workspace_id: strawberry.ID | None = None,
        include_current: bool = True,
    ) -> AsyncGenerator[ConnectionStatusChange, None]:
        async for event in statuses.status_changes(
            scope=info.context.scope,
            workspace_id=_id(workspace_id),
            bus=info.context.bus,
            include_current=include_current,
        ):
            yield ConnectionStatusChange(
                connection_id=strawberry.ID(event["connectionId"]),
                status=ConnectionStatus(event["status"]),
                reason=event.get("reason"),
                workspace_id=strawberry.ID(event["workspaceId"]) if event.get("workspaceId") else None,
            )

    @strawberry.subscription(
        description="Health changes (WORKING, DEGRADED, NEEDS_REAUTHORIZATION, MISSING_SCOPES, "
        "or a new reason) of a workspace's connections as they happen; without `workspaceId`, "
        "of the organization-wide connections. First the current health of each, unless "
        "`includeCurrent` is false."
    )
    async def connection_health_changed(
        self,
        info: Info[Context, None],
        workspace_id: strawberry.ID | None = None,
        include_current: bool = True,
    ) -> AsyncGenerator[ConnectionHealthChange, None]:
        async for event in healths.health_changes(
            scope=info.context.scope,
            workspace_id=_id(workspace_id),
            bus=info.context.bus,
            include_current=include_current,
        ):
            changed_at = event.get("changedAt")
            yield ConnectionHealthChange(
                connection_id=strawberry.ID(event["connectionId"]),
                health=ConnectionHealth(event["health"]),
                reason=event.get("reason"),
                status=ConnectionStatus(event["status"]),
                changed_at=datetime.fromisoformat(changed_at) if changed_at else None,
                workspace_id=strawberry.ID(event["workspaceId"]) if event.get("workspaceId") else None,
            )
