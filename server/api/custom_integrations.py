"""GraphQL for custom integrations: an organization's own connectors in the declarative format.

Resolvers only translate; ``server.integrations.custom`` validates, scopes and stores.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.api.context import Context
from server.api.domain import from_row
from server.api.integrations import Integration
from server.api.org_types import DeletePayload
from server.api.pagination import Connection as Page
from server.api.pagination import to_connection
from server.integrations import catalog, custom
from server.integrations.models import CustomIntegration as Row


@strawberry.type(
    description="An integration your organization registered, in the declarative connector "
    "format (server/connectors/connector.schema.json); visible to your organization only."
)
class CustomIntegration:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `ci_`.")
    workspace_id: strawberry.ID | None = strawberry.field(
        description="The one workspace that sees it; null: every workspace of the organization."
    )
    name: str = strawberry.field(description="Its name (from the definition); never changes.")
    definition: JSON = strawberry.field(description="The definition, as registered.")
    created_at: datetime = strawberry.field(description="When it was registered.")
    updated_at: datetime = strawberry.field(description="When its definition last changed.")
    row: strawberry.Private[Row]

    @strawberry.field(description="The integration it defines, as clients and the widget see it.")
    def integration(self, info: Info[Context, None]) -> Integration:
        spec = catalog.custom_connector(self.row).SPEC
        return Integration.from_spec(spec, info.context.settings.effective_public_url)

    @classmethod
    def from_model(cls, row: Row) -> CustomIntegration:
        return from_row(cls, row, row=row)


@strawberry.input(description="Register a custom integration.")
class CreateCustomIntegrationInput:
    workspace_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The one workspace that sees it; null (an unrestricted key only): every "
        "workspace of the organization.",
    )
    definition: JSON = strawberry.field(
        description="The connector definition (JSON, at most 256 KB serialized and 32 levels "
        "deep). Its `name` may not be a catalog integration's or another of yours."
    )


@strawberry.input(description="Replace a custom integration's definition.")
class UpdateCustomIntegrationInput:
    id: strawberry.ID = strawberry.field(description="The custom integration.")
    definition: JSON = strawberry.field(description="The new definition; its `name` must stay the same.")


@strawberry.type
class CustomIntegrationsQuery:
    @strawberry.field(
        description="Your organization's custom integrations; with `workspaceId`, those that "
        "workspace sees (its own and the organization-wide ones)."
    )
    async def custom_integrations(
        self,
        info: Info[Context, None],
        workspace_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Page[CustomIntegration]:
        page = await custom.list_custom_integrations(
            scope=info.context.scope,
            workspace_id=None if workspace_id is None else str(workspace_id),
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
        )
        return to_connection(page, CustomIntegration.from_model)


@strawberry.type
class CustomIntegrationsMutation:
    @strawberry.mutation(
        description="Register a custom integration; a bad definition is VALIDATION_FAILED naming "
        "each field as `input.definition.<path>`."
    )
    async def create_custom_integration(
        self, info: Info[Context, None], input: CreateCustomIntegrationInput
    ) -> CustomIntegration:
        row = await custom.create_custom_integration(
            scope=info.context.scope,
            workspace_id=None if input.workspace_id is None else str(input.workspace_id),
            definition=input.definition,
        )
        return CustomIntegration.from_model(row)

    @strawberry.mutation(description="Replace a custom integration's definition (its name stays).")
    async def update_custom_integration(
        self, info: Info[Context, None], input: UpdateCustomIntegrationInput
    ) -> CustomIntegration:
        row = await custom.update_custom_integration(
            scope=info.context.scope, custom_integration_id=str(input.id), definition=input.definition
        )
        return CustomIntegration.from_model(row)

    @strawberry.mutation(description="Delete a custom integration; CONFLICT while connections to it exist.")
    async def delete_custom_integration(self, info: Info[Context, None], id: strawberry.ID) -> DeletePayload:
        deleted = await custom.delete_custom_integration(
            scope=info.context.scope, custom_integration_id=str(id)
        )
        return DeletePayload(deleted_id=strawberry.ID(deleted))
