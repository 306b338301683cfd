"""GraphQL for the integration catalog."""

from __future__ import annotations

from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.api.context import Context
from server.api.domain import domain_enum
from server.connectors.base import AUTH_TYPES, CATEGORIES, SYNC_MODES, ConnectorSpec, StreamSpec
from server.integrations import catalog

AuthType = domain_enum(
    "AuthType", AUTH_TYPES, description="How a connection proves who it is to the provider."
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


@strawberry.type(description="A connector of the catalog: what it connects to and how.")
class Integration:
    name: str = strawberry.field(description="Stable identifier, e.g. `hubspot`.")
    display_name: str = strawberry.field(description="Human name, e.g. `HubSpot`.")
    description: str = strawberry.field(description="One sentence on what it connects.")
    category: IntegrationCategory = strawberry.field(description="Kind of product.")  # type: ignore[valid-type]
    auth_types: list[AuthType] = strawberry.field(description="Supported authentication types.")  # type: ignore[valid-type]
    logo_url: str = strawberry.field(description="URL of the SVG logo served by Weir.")
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

    @classmethod
    def from_spec(cls, spec: ConnectorSpec, public_url: str) -> Integration:
        return cls(
            name=spec.name,
            display_name=spec.display_name,
            description=spec.description,
            category=IntegrationCategory[spec.category],
            auth_types=[AuthType[name] for name in spec.auth_types],
            logo_url=f"{public_url}/logos/{spec.name}.svg",
            docs_url=spec.docs_url,
            oauth=OAuthEndpoints(
                authorize_url=spec.oauth.authorize_url,
                token_url=spec.oauth.token_url,
                default_scopes=list(spec.oauth.default_scopes),
            )
            if spec.oauth
            else None,
            auth_fields_schema=spec.auth_fields_schema,
            parameters_schema=cast(JSON, spec.parameters_schema),
            settings_schema=spec.settings_schema,
            streams=[IntegrationStream.from_spec(stream) for stream in spec.streams],
        )


@strawberry.type
class IntegrationsQuery:
    @strawberry.field(description="The catalog, optionally of one category or matching a search.")
    def integrations(
        self,
        info: Info[Context, None],
        category: IntegrationCategory | None = None,  # type: ignore[valid-type]
        search: str | None = None,
    ) -> list[Integration]:
        specs = catalog.list_integrations(category=category.value if category else None, search=search)
        public_url = info.context.settings.effective_public_url
        return [Integration.from_spec(spec, public_url) for spec in specs]

    @strawberry.field(description="One integration by name, e.g. `hubspot`.")
    def integration(self, info: Info[Context, None], name: str) -> Integration:
        spec = catalog.get_integration(name=name)
        return Integration.from_spec(spec, info.context.settings.effective_public_url)
