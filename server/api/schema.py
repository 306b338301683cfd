"""The GraphQL schema, composed from one query/mutation/subscription class per domain."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import DisableIntrospection, SchemaExtension

from server.api.actions import ActionsMutation
from server.api.audit import AuditMutations, AuditQuery
from server.api.calls import CallsQuery
from server.api.connect import ConnectMutation, ConnectQuery, ConnectSubscription
from server.api.connections import ConnectionsMutation, ConnectionsQuery, ConnectionsSubscription
from server.api.custom_integrations import CustomIntegrationsMutation, CustomIntegrationsQuery
from server.api.documents import DocumentCache, DocumentLimits, Documents
from server.api.errors import WeirErrorFormatter
from server.api.execution import EventExecutor, FastExecutor
from server.api.inputs import InputChecks
from server.api.integrations import IntegrationsQuery
from server.api.mcp import McpMutation, McpQuery
from server.api.orgs import OrgsMutation, OrgsQuery, OrgsSubscription
from server.api.syncs import SyncsMutation, SyncsQuery, SyncsSubscription
from server.api.webhooks import WebhooksMutation, WebhooksQuery
from server.api.workspace_integrations import (
    WorkspaceIntegrationsMutation,
    WorkspaceIntegrationsQuery,
)
from server.config import Settings


@strawberry.type(description="Everything a client can read.")
class Query(
    OrgsQuery,
    McpQuery,
    IntegrationsQuery,
    CustomIntegrationsQuery,
    ConnectionsQuery,
    WorkspaceIntegrationsQuery,
    ConnectQuery,
    SyncsQuery,
    WebhooksQuery,
    CallsQuery,
    AuditQuery,
):
    pass


@strawberry.type(description="Everything a client can change.")
class Mutation(
    OrgsMutation,
    McpMutation,
    ActionsMutation,
    ConnectionsMutation,
    WorkspaceIntegrationsMutation,
    CustomIntegrationsMutation,
    ConnectMutation,
    SyncsMutation,
    WebhooksMutation,
):
    pass


@strawberry.type(description="Live updates over WebSocket (graphql-transport-ws).")
class Subscription(OrgsSubscription, ConnectionsSubscription, ConnectSubscription, SyncsSubscription):
    pass


class WeirSchema(strawberry.Schema):
    # The one way in for documents (server.api.documents): set by build_schema, used by the
    # HTTP and WebSocket handlers before anything else reads a document.
    documents: DocumentCache

    def process_errors(self, errors, execution_context=None):  # type: ignore[no-untyped-def]
        # Errors a client caused are reported to that client only; unexpected ones were
        # already logged with their request id by server.api.errors.
        return None


def build_schema(
    settings: Settings | None = None,
    extra_extensions: list[type[SchemaExtension]] | None = None,
    *,
    fast_execution: bool | None = None,
) -> strawberry.Schema:
    """The schema with Weir's extensions. ``fast_execution`` (default: the
    ``WEIR_FAST_EXECUTION`` setting) runs queries through the compiled executor of
    server.api.execution (same results); off, graphql-core executes everything."""
    settings = settings or Settings()
    if fast_execution is None:
        fast_execution = settings.fast_execution
    # Depth, aliases and fields are measured by the cache before validation (not as rules).
    cache = DocumentCache(
        limits=DocumentLimits.from_settings(settings), max_bytes=settings.graphql_cache_bytes
    )
    hide_suggestions = not settings.introspection
    extensions: list[Any] = [
        lambda: WeirErrorFormatter(hide_suggestions=hide_suggestions),
        lambda: Documents(cache=cache, rules=()),
        InputChecks,
        AuditMutations,
        *(extra_extensions or []),
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    schema = WeirSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        # Either way, each subscription event gets fresh DataLoaders (execution/events.py).
        execution_context_class=FastExecutor if fast_execution else EventExecutor,
    )
    schema.documents = cache
    return schema


def schema_sdl() -> str:
    """The SDL committed as ``schema.graphql`` (``weir schema`` prints it)."""
    return build_schema().as_str() + "\n"
