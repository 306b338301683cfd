"""The GraphQL schema, composed from one query/mutation/subscription class per domain."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from server.api.errors import WeirErrorFormatter
from server.api.integrations import IntegrationsQuery
from server.api.orgs import OrgsMutation, OrgsQuery, OrgsSubscription
from server.api.syncs import SyncsMutation, SyncsQuery, SyncsSubscription
from server.config import Settings


@strawberry.type(description="Everything a client can read.")
class Query(OrgsQuery, IntegrationsQuery, SyncsQuery):
    pass


@strawberry.type(description="Everything a client can change.")
class Mutation(OrgsMutation, SyncsMutation):
    pass


@strawberry.type(description="Live updates over WebSocket (graphql-transport-ws).")
class Subscription(OrgsSubscription, SyncsSubscription):
    pass


class WeirSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None):  # type: ignore[no-untyped-def]
        # Errors a client caused are reported to that client only; unexpected ones were
        # already logged with their request id by server.api.errors.
        return None


def build_schema(
    settings: Settings | None = None, extra_extensions: list[type[SchemaExtension]] | None = None
) -> strawberry.Schema:
    settings = settings or Settings()
    limits = settings
    extensions: list[Any] = [
        WeirErrorFormatter,
        lambda: QueryDepthLimiter(max_depth=limits.graphql_max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=limits.graphql_max_aliases),
        lambda: MaxTokensLimiter(max_token_count=limits.graphql_max_tokens),
        *(extra_extensions or []),
    ]
    if not settings.graphql_introspection:
        extensions.append(DisableIntrospection)
    return WeirSchema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )


def schema_sdl() -> str:
    """The SDL committed as ``schema.graphql`` (``weir schema`` prints it)."""
    return build_schema().as_str() + "\n"
