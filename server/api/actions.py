"""GraphQL for actions: ``executeAction`` runs one declared action of an integration with a
resolved connection (``server.actions.service``); ``Integration.actions`` lists them."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.actions import service
from server.api.connections import ResolutionSource
from server.api.context import Context
from server.errors import Forbidden


@strawberry.input(
    description="One action to run. The connection is chosen as `resolveConnection` chooses it: "
    "`connectionId` or `connectionExternalId`, then the workspace integration's strategy, then "
    "the end user's connection, else `CONNECTION_REQUIRED`; integrations that need no "
    "connection (the built-ins) use none."
)
class ExecuteActionInput:
    integration_name: str = strawberry.field(description="The integration, e.g. `slack`.")
    action: str = strawberry.field(description="The action's name, from `Integration.actions`.")
    input: JSON = strawberry.field(
        description="The action's input: a JSON object valid against its `inputSchema` "
        "(at most 256 KB as JSON, 32 levels deep)."
    )
    workspace_id: strawberry.ID = strawberry.field(description="The workspace the call is made for.")
    end_user_id: strawberry.ID | None = strawberry.field(
        default=None, description="The end user the call is made for, by id."
    )
    end_user_external_id: str | None = strawberry.field(
        default=None, description="The end user the call is made for, by your external id."
    )
    connection_id: strawberry.ID | None = strawberry.field(
        default=None, description="An explicit connection; wins over every other rule."
    )
    connection_external_id: str | None = strawberry.field(
        default=None, description="An explicit connection by its external id; wins over the strategy."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="At most 255 characters. For 24 hours, a repeat with this key and the same "
        "request returns the first result without calling the provider again (`replayed`); "
        "with a different request it is `CONFLICT`.",
    )


@strawberry.type(description="The outcome of `executeAction`.")
class ActionExecution:
    output: JSON | None = strawberry.field(
        description="What the action returned (its `outputSchema` describes it)."
    )
    connection_id: strawberry.ID | None = strawberry.field(
        description="The connection used; null for an integration that needs none."
    )
    resolved_by: ResolutionSource | None = strawberry.field(
        description="Which rule chose the connection; null when none was needed."
    )
    replayed: bool = strawberry.field(
        description="True when this is the stored result of an earlier call with the same "
        "idempotency key: the provider was not called again."
    )
    duration_ms: int = strawberry.field(description="How long Weir took, provider included.")


def _id(value: strawberry.ID | None) -> str | None:
    return None if value is None else str(value)


@strawberry.type
class ActionsMutation:
    @strawberry.mutation(
        description="Run an action of an integration with a resolved connection and return its "
        "output. Errors: `VALIDATION_FAILED` (the input against the action's schema, with the "
        "path), `CONNECTION_REQUIRED`, `RATE_LIMITED` (with `retryAfter`), `PROVIDER_ERROR` (with "
        "`providerStatus`), `PROVIDER_UNREACHABLE`, `REAUTHORIZATION_REQUIRED`, `CONFLICT` "
        "(idempotency key). API keys only."
    )
    async def execute_action(self, info: Info[Context, None], input: ExecuteActionInput) -> ActionExecution:
        scope = info.context.scope
        # Actions use a tenant's credentials: a host's back end with its key, nothing else (a
        # connect token is already refused before execution; this holds for any other scope).
        if scope.api_key_id is None:
            raise Forbidden("only an API key may execute actions")
        services = info.context.services
        done = await service.execute_action(
            scope=scope,
            settings=services.settings,
            key_ring=services.key_ring,
            bus=services.bus,
            recorder=services.calls,
            request=service.ActionRequest(
                integration_name=input.integration_name,
                action=input.action,
                input=input.input,
                workspace_id=str(input.workspace_id),
                end_user_id=_id(input.end_user_id),
                end_user_external_id=input.end_user_external_id,
                connection_id=_id(input.connection_id),
                connection_external_id=input.connection_external_id,
                idempotency_key=input.idempotency_key,
            ),
        )
        return ActionExecution(
            output=done.output,
            connection_id=strawberry.ID(done.connection_id) if done.connection_id else None,
            resolved_by=ResolutionSource(done.resolved_by) if done.resolved_by else None,
            replayed=done.replayed,
            duration_ms=done.duration_ms,
        )
