"""GraphQL for the connect flow: sessions for the host app, three mutations for the page.

``createConnectSession``, ``connectSession``, ``cancelConnectSession`` and
``connectSessionUpdated`` take an API key. ``selectIntegration``, ``startOAuth``,
``submitCredentials`` and ``connectSessionState`` take the session's connect token
(``server.web.graphql`` lets a connect token run nothing else).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.api.connections import ConnectionNode
from server.api.context import Context
from server.api.domain import domain_enum, from_row
from server.api.org_types import EndUser, Workspace
from server.connect import flow, oauth
from server.connect import service as sessions
from server.connect.models import ConnectSession as ConnectSessionRow
from server.errors import NotFound

ConnectSessionStatus = domain_enum(
    "ConnectSessionStatus",
    sessions.STATUSES,
    description="`PENDING` -> `CONNECTING` -> `COMPLETED` or `FAILED` (retryable while the "
    "token lives), or `EXPIRED` (time ran out or cancelled).",
)


@strawberry.type(description="One run of the hosted connect flow.")
class ConnectSession:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `cs_`.")
    status: ConnectSessionStatus = strawberry.field(description="Where the flow is.")  # type: ignore[valid-type]
    allowed_integrations: list[str] = strawberry.field(description="Integrations the end user may pick from.")
    integration_name: str | None = strawberry.field(description="The integration picked.")
    connection_name: str | None = strawberry.field(description="Name for the new connection.")
    external_id: str | None = strawberry.field(description="External id for the new connection.")
    redirect_uri: str | None = strawberry.field(description="Where the redirect flow returns.")
    connection_id: strawberry.ID | None = strawberry.field(
        description="The connection created or reconnected, once `COMPLETED`."
    )
    reconnect_connection_id: strawberry.ID | None = strawberry.field(
        description="The existing connection this session re-authorises, if any."
    )
    parameters: JSON = strawberry.field(
        description="Parameters the app preset (name -> value): the page does not ask for them "
        "and the end user cannot change them."
    )
    error_code: str | None = strawberry.field(
        description="Why it failed or expired: `ACCESS_DENIED`, `STATE_REUSED`, "
        "`TOKEN_EXCHANGE_FAILED`, `ISSUER_MISMATCH`, `OAUTH_ERROR`, `INVALID_TOKEN_RESPONSE` (a "
        "token-response parameter that is not an https URL or a host-name label), `EXPIRED`, "
        "`CANCELLED`..."
    )
    error_message: str | None = strawberry.field(description="A readable explanation.")
    expires_at: datetime = strawberry.field(description="When the connect token stops working.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    workspace_id: strawberry.Private[str]
    end_user_id: strawberry.Private[str | None]

    @strawberry.field(description="The workspace whose branding and integrations it uses.")
    async def workspace(self, info: Info[Context, None]) -> Workspace:
        node = await info.context.loaders.workspace.load(self.workspace_id)
        if node is None:
            raise NotFound("workspace", self.workspace_id)
        return node

    @strawberry.field(description="The end user connecting, if the session names one.")
    async def end_user(self, info: Info[Context, None]) -> EndUser | None:
        if self.end_user_id is None:
            return None
        return await info.context.loaders.end_user.load(self.end_user_id)

    @strawberry.field(description="The connection created or reconnected, once `COMPLETED`.")
    async def connection(self, info: Info[Context, None]) -> ConnectionNode | None:
        if self.connection_id is None:
            return None
        return await info.context.loaders.connection.load(str(self.connection_id))

    @classmethod
    def from_model(cls, row: ConnectSessionRow) -> ConnectSession:
        return from_row(
            cls,
            row,
            status=ConnectSessionStatus[row.status],
            allowed_integrations=list(row.allowed_integrations or []),
            connection_id=_id(row.connection_id),
            reconnect_connection_id=_id(row.reconnect_connection_id),
            parameters=dict(row.parameters or {}),
        )


def _id(value: str | None) -> strawberry.ID | None:
    return strawberry.ID(value) if value else None


@strawberry.type(description="What the connect page may see of its own session.")
class ConnectSessionState:
    id: strawberry.ID = strawberry.field(description="The session id.")
    status: ConnectSessionStatus = strawberry.field(description="Where the flow is.")  # type: ignore[valid-type]
    allowed_integrations: list[str] = strawberry.field(description="Integrations offered.")
    integration_name: str | None = strawberry.field(description="The integration picked.")
    parameters: JSON = strawberry.field(
        description="Parameters already set by the app (name -> value): the form shows them "
        "read-only and asks only for the integration's other `parametersSchema` properties."
    )
    connection_id: strawberry.ID | None = strawberry.field(description="The connection, once `COMPLETED`.")
    error_code: str | None = strawberry.field(description="Why it failed, as a stable code.")
    error_message: str | None = strawberry.field(description="Why it failed, readable.")
    redirect_url: str | None = strawberry.field(
        description="Where the redirect flow sends the browser now (`redirectUri` with "
        "`connection_id` and `session_id`), once finished."
    )
    expires_at: datetime = strawberry.field(description="When the connect token stops working.")

    @classmethod
    def from_model(cls, row: ConnectSessionRow) -> ConnectSessionState:
        return cls(
            id=strawberry.ID(row.id),
            status=ConnectSessionStatus[row.status],
            allowed_integrations=list(row.allowed_integrations or []),
            integration_name=row.integration_name,
            parameters=cast(JSON, dict(row.parameters or {})),
            connection_id=_id(row.connection_id),
            error_code=row.error_code,
            error_message=row.error_message,
            redirect_url=sessions.redirect_target(row),
            expires_at=row.expires_at,
        )


@strawberry.input(description="A new connect session.")
class CreateConnectSessionInput:
    workspace_id: strawberry.ID = strawberry.field(description="Workspace of the session.")
    integration_name: str | None = strawberry.field(
        default=None, description="Offer only this integration (skips the picker)."
    )
    allowed_integrations: list[str] | None = strawberry.field(
        default=None, description="Offer these integrations; default: every usable one."
    )
    end_user_id: strawberry.ID | None = strawberry.field(default=None, description="The end user connecting.")
    end_user_external_id: str | None = strawberry.field(
        default=None, description="The end user by the host's id; created if new."
    )
    end_user_display_name: str | None = strawberry.field(
        default=None, description="Display name for an end user created here."
    )
    connection_name: str | None = strawberry.field(
        default=None, description="Display name of the new connection."
    )
    external_id: str | None = strawberry.field(default=None, description="External id of the new connection.")
    redirect_uri: str | None = strawberry.field(
        default=None,
        description="Redirect flow: return here with `connection_id` and `session_id`; must "
        "be exactly one of the workspace's `allowedRedirectUris`.",
    )
    reconnect_connection_id: strawberry.ID | None = strawberry.field(
        default=None, description="Re-authorise this existing connection (same id, syncs kept)."
    )
    parameters: JSON | None = strawberry.field(
        default=None,
        description='Preset some or all of the integration\'s parameters (`{"shop": "acme"}`), '
        "checked against its `parametersSchema`; needs `integrationName` (or a reconnect, "
        "which starts from the connection's). The page asks only for the others.",
    )


@strawberry.type(description="A new connect session and its token. The token is shown once.")
class CreateConnectSessionPayload:
    token: str = strawberry.field(description="Connect token for `Weir.connect({ token })`.")
    connect_url: str = strawberry.field(description="The hosted connect page for this session.")
    expires_at: datetime = strawberry.field(description="When the token stops working.")
    session: ConnectSession = strawberry.field(description="The session.")


@strawberry.input(description="The integration the end user picked.")
class SelectIntegrationInput:
    integration_name: str = strawberry.field(description="One of the session's integrations.")


@strawberry.input(description="How the page shows the provider's consent screen.")
class StartOAuthInput:
    consent_in_popup: bool = strawberry.field(
        default=False, description="True when the page is framed and opens consent in a popup."
    )
    parameters: JSON | None = strawberry.field(
        default=None,
        description="The integration's parameters the end user typed (name -> value); with "
        "the app's presets, which win, they fill the provider's URLs.",
    )


@strawberry.type(description="Where to send the end user to give consent.")
class StartOAuthPayload:
    authorize_url: str = strawberry.field(
        description="The provider's authorize URL. The browser reaches it through a form "
        "post of `token` and this URL's `state` to `/oauth/authorize` (a top-level navigation "
        "from Weir's origin), which binds the flow to that browser; a callback in a browser "
        "that went to this URL directly is refused."
    )
    session: ConnectSessionState = strawberry.field(description="The session.")


@strawberry.input(description="Credentials typed into the connect page's form.")
class SubmitCredentialsInput:
    credentials: JSON = strawberry.field(
        description="`{secret_text}` for SECRET_TEXT, `{username, password}` for BASIC_AUTH, "
        "the auth-field schema's properties for CUSTOM_AUTH, `{}` for NONE."
    )
    integration_name: str | None = strawberry.field(
        default=None, description="Select this integration first (default: the selected one)."
    )
    auth_type: str | None = strawberry.field(
        default=None, description="Which form auth type, when the integration has several."
    )
    parameters: JSON | None = strawberry.field(
        default=None,
        description="The integration's parameters the end user typed (name -> value); the "
        "app's presets win and may not be changed.",
    )


@strawberry.type
class ConnectQuery:
    @strawberry.field(description="One connect session by id.")
    async def connect_session(self, info: Info[Context, None], id: strawberry.ID) -> ConnectSession:
        row = await sessions.get_connect_session(
            scope=info.context.scope, session_id=str(id), bus=info.context.bus
        )
        return ConnectSession.from_model(row)

    @strawberry.field(description="The connect page's own session (connect token only).")
    async def connect_session_state(self, info: Info[Context, None]) -> ConnectSessionState:
        row = await sessions.own_session(scope=info.context.scope, bus=info.context.bus)
        return ConnectSessionState.from_model(row)


@strawberry.type
class ConnectMutation:
    @strawberry.mutation(description="Start a connect flow; returns the connect token once.")
    async def create_connect_session(
        self, info: Info[Context, None], input: CreateConnectSessionInput
    ) -> CreateConnectSessionPayload:
        created = await sessions.create_connect_session(
            scope=info.context.scope,
            settings=info.context.settings,
            workspace_id=str(input.workspace_id),
            integration_name=input.integration_name,
            allowed_integrations=input.allowed_integrations,
            end_user_id=str(input.end_user_id) if input.end_user_id else None,
            end_user_external_id=input.end_user_external_id,
            end_user_display_name=input.end_user_display_name,
            connection_name=input.connection_name,
            external_id=input.external_id,
            redirect_uri=input.redirect_uri,
            reconnect_connection_id=str(input.reconnect_connection_id)
            if input.reconnect_connection_id
            else None,
            bus=info.context.bus,
            parameters=input.parameters,
        )
        return CreateConnectSessionPayload(
            token=created.token,
            connect_url=created.connect_url,
            expires_at=created.session.expires_at,
            session=ConnectSession.from_model(created.session),
        )

    @strawberry.mutation(description="End a connect session now; its token stops working.")
    async def cancel_connect_session(self, info: Info[Context, None], id: strawberry.ID) -> ConnectSession:
        row = await sessions.cancel_connect_session(
            scope=info.context.scope, session_id=str(id), bus=info.context.bus
        )
        return ConnectSession.from_model(row)

    @strawberry.mutation(description="Connect page: pick an integration (connect token only).")
    async def select_integration(
        self, info: Info[Context, None], input: SelectIntegrationInput
    ) -> ConnectSessionState:
        row = await flow.select_integration(
            scope=info.context.scope, integration_name=input.integration_name, bus=info.context.bus
        )
        return ConnectSessionState.from_model(row)

    @strawberry.mutation(
        name="startOAuth", description="Connect page: get the provider's authorize URL (connect token only)."
    )
    async def start_oauth(
        self, info: Info[Context, None], input: StartOAuthInput | None = None
    ) -> StartOAuthPayload:
        row, url = await oauth.start(
            scope=info.context.scope,
            settings=info.context.settings,
            key_ring=info.context.services.key_ring,
            consent_in_popup=bool(input and input.consent_in_popup),
            bus=info.context.bus,
            parameters=input.parameters if input else None,
        )
        return StartOAuthPayload(authorize_url=url, session=ConnectSessionState.from_model(row))

    @strawberry.mutation(
        description="Connect page: check and store credentials typed into the form (connect token only)."
    )
    async def submit_credentials(
        self, info: Info[Context, None], input: SubmitCredentialsInput
    ) -> ConnectSessionState:
        row = await flow.submit_credentials(
            scope=info.context.scope,
            settings=info.context.settings,
            key_ring=info.context.services.key_ring,
            credentials=input.credentials,
            integration_name=input.integration_name,
            auth_type=input.auth_type,
            limiter=info.context.services.check_limiter,
            http=info.context.services.connect_http(),
            bus=info.context.bus,
            parameters=input.parameters,
        )
        return ConnectSessionState.from_model(row)


@strawberry.type
class ConnectSubscription:
    @strawberry.subscription(description="The connect session now, then after every change.")
    async def connect_session_updated(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> AsyncGenerator[ConnectSession, None]:
        async for row in sessions.connect_session_updates(
            scope=info.context.scope, session_id=str(id), bus=info.context.bus
        ):
            yield ConnectSession.from_model(row)
