"""GraphQL for the integrations a caller sees: the catalog and its organization's custom ones."""

from __future__ import annotations

from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.api.context import Context
from server.api.domain import domain_enum
from server.connectors.base import (
    AUTH_TYPES,
    CATEGORIES,
    SYNC_MODES,
    ActionSpec,
    ConnectorSpec,
    StreamSpec,
)
from server.integrations import catalog

AuthType = domain_enum(
    "AuthType", AUTH_TYPES, description="How a connection proves who it is to the provider."
)
IntegrationSource = domain_enum(
    "IntegrationSource",
    ("CATALOG", "CUSTOM"),
    description="Where an integration comes from.",
    described={
        "CATALOG": "Shipped with Weir.",
        "CUSTOM": "Registered by your organization through the API (createCustomIntegration).",
    },
)
IntegrationCategory = domain_enum(
    "IntegrationCategory", CATEGORIES, description="What kind of product an integration connects to."
)
SyncMode = domain_enum(
    "SyncMode",
    SYNC_MODES,
    description="`FULL_REFRESH` copies everything each run; `INCREMENTAL` only what changed.",
)


@strawberry.type(description="OAuth2 endpoints of a provider.")
class OAuthEndpoints:
    authorize_url: str = strawberry.field(description="Where the user gives consent.")
    token_url: str = strawberry.field(description="Where codes and refresh tokens are exchanged.")
    revocation_url: str | None = strawberry.field(
        description="Where tokens are revoked when a connection is deleted (RFC 7009), if anywhere."
    )
    default_scopes: list[str] = strawberry.field(description="Scopes asked for by default.")


@strawberry.type(description="A kind of record an integration can copy, and how.")
class IntegrationStream:
    name: str = strawberry.field(description="Stream name; also the destination table name.")
    description: str = strawberry.field(description="What the stream holds.")
    primary_key: list[str] = strawberry.field(description="Fields that identify a record.")
    cursor_field: str | None = strawberry.field(
        description="Field that orders changes; set when the stream supports `INCREMENTAL`."
    )
    sync_modes: list[SyncMode] = strawberry.field(description="Modes this stream supports.")  # type: ignore[valid-type]
    record_schema: JSON = strawberry.field(description="JSON Schema of one record.")

    @classmethod
    def from_spec(cls, spec: StreamSpec) -> IntegrationStream:
        return cls(
            name=spec.name,
            description=spec.description,
            primary_key=list(spec.primary_key),
            cursor_field=spec.cursor_field,
            sync_modes=[SyncMode[mode] for mode in spec.sync_modes],
            record_schema=spec.record_schema,
        )


@strawberry.type(description="A call an integration can make with a connection (`executeAction`).")
class IntegrationAction:
    name: str = strawberry.field(description="The action's name, e.g. `send_message`.")
    display_name: str = strawberry.field(description="Human name, e.g. `Send a message`.")
    description: str = strawberry.field(description="What it does.")
    input_schema: JSON = strawberry.field(
        description="JSON Schema (draft 2020-12) of its input, checked before anything is sent."
    )
    output_schema: JSON = strawberry.field(description="JSON Schema of what it returns.")
    read_only: bool = strawberry.field(
        description="True when it changes nothing at the provider (list, get, search)."
    )

    @classmethod
    def from_spec(cls, spec: ActionSpec) -> IntegrationAction:
        return cls(
            name=spec.name,
            display_name=spec.display_name,
            description=spec.description,
            input_schema=cast(JSON, spec.input_schema),
            output_schema=cast(JSON, spec.output_schema),
            read_only=spec.read_only,
        )


@strawberry.type(description="An integration (of the catalog, or custom): what it connects to and how.")
class Integration:
    name: str = strawberry.field(description="Stable identifier, e.g. `hubspot`.")
    source: IntegrationSource = strawberry.field(  # type: ignore[valid-type]
        description="`CATALOG` (shipped with Weir) or `CUSTOM` (registered by your organization)."
    )
    display_name: str = strawberry.field(description="Human name, e.g. `HubSpot`.")
    description: str = strawberry.field(description="One sentence on what it connects.")
    category: IntegrationCategory = strawberry.field(description="Kind of product.")  # type: ignore[valid-type]
    auth_types: list[AuthType] = strawberry.field(description="Supported authentication types.")  # type: ignore[valid-type]
    logo_url: str = strawberry.field(
        description="URL of the logo: an SVG served by Weir, or a custom integration's own https "
        "image. Show it only as an image."
    )
    docs_url: str | None = strawberry.field(description="The provider's API documentation.")
    oauth: OAuthEndpoints | None = strawberry.field(description="OAuth2 endpoints, when OAuth.")
    auth_fields_schema: JSON | None = strawberry.field(
        description="JSON Schema of the credential fields (`BASIC_AUTH`, `CUSTOM_AUTH`)."
    )
    parameters_schema: JSON | None = strawberry.field(
        description="JSON Schema (a form of strings) of the per-connection parameters the connect "
        "form asks for before authenticating (a shop, a subdomain); null when there are none."
    )
    settings_schema: JSON = strawberry.field(description="JSON Schema of an ELT sync's settings.")
    streams: list[IntegrationStream] = strawberry.field(description="Streams it can copy.")
    actions: list[IntegrationAction] = strawberry.field(
        description="Actions it can run with a connection (`executeAction`)."
    )
    requires_connection: bool = strawberry.field(
        description="False for the built-ins (date and time, hash and encode, key-value store): "
        "their actions run without a connection, scoped to the workspace and end user of the "
        "call, and no connection or connect session can be made for them."
    )

    @classmethod
    def from_spec(cls, spec: ConnectorSpec, public_url: str) -> Integration:
        return cls(
            name=spec.name,
            source=IntegrationSource[spec.source],
            display_name=spec.display_name,
            description=spec.description,
            category=IntegrationCategory[spec.category],
            auth_types=[AuthType[name] for name in spec.auth_types],
            logo_url=catalog.logo_url(spec, public_url),
            docs_url=spec.docs_url,
            oauth=OAuthEndpoints(
                authorize_url=spec.oauth.authorize_url,
                token_url=spec.oauth.token_url,
                revocation_url=spec.oauth.revocation_url,
                default_scopes=list(spec.oauth.default_scopes),
            )
            if spec.oauth
            else None,
            auth_fields_schema=spec.auth_fields_schema,
            parameters_schema=cast(JSON, spec.parameters_schema),
            settings_schema=spec.settings_schema,
            streams=[IntegrationStream.from_spec(stream) for stream in spec.streams],
            actions=[IntegrationAction.from_spec(action) for action in spec.actions],
            requires_connection=spec.requires_connection,
        )


async def integration_spec(info: Info[Context, None], name: str, workspace_id: str | None) -> Integration:
    """One integration as the caller sees it from ``workspace_id`` (else its key's workspace)."""
    scope = info.context.scope
    spec = await catalog.get_integration(
        settings=info.context.settings,
        organization_id=scope.organization_id,
        workspace_id=workspace_id,
        name=name,
    )
    return Integration.from_spec(spec, info.context.settings.effective_public_url)


@strawberry.type
class IntegrationsQuery:
    @strawberry.field(
        description="The integrations you can connect: the catalog and your organization's custom "
        "integrations (with `workspaceId`, also that workspace's, with its endpoint overrides), "
        "optionally of one category or matching a search."
    )
    async def integrations(
        self,
        info: Info[Context, None],
        category: IntegrationCategory | None = None,  # type: ignore[valid-type]
        search: str | None = None,
        workspace_id: strawberry.ID | None = None,
    ) -> list[Integration]:
        scope = info.context.scope
        specs = await catalog.list_integrations(
            settings=info.context.settings,
            organization_id=scope.organization_id,
            workspace_id=await catalog.seen_from(scope=scope, workspace_id=_id(workspace_id)),
            category=category.value if category else None,
            search=search,
        )
        public_url = info.context.settings.effective_public_url
        return [Integration.from_spec(spec, public_url) for spec in specs]

    @strawberry.field(
        description="One integration by name, e.g. `hubspot`, or a custom integration of your "
        "organization (seen from `workspaceId` when given)."
    )
    async def integration(
        self, info: Info[Context, None], name: str, workspace_id: strawberry.ID | None = None
    ) -> Integration:
        scope = info.context.scope
        seen = await catalog.seen_from(scope=scope, workspace_id=_id(workspace_id))
        return await integration_spec(info, name, seen)


def _id(value: strawberry.ID | None) -> str | None:
    return None if value is None else str(value)
