"""GraphQL for webhooks: endpoints and their secrets, past events, deliveries, replay.

A signing secret is returned by ``createWebhookEndpoint`` and ``rotateWebhookSecret`` only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.api.context import Context
from server.api.domain import domain_enum, from_row
from server.api.org_types import DeletePayload, Workspace
from server.api.pagination import Connection as Page
from server.api.pagination import to_connection
from server.api.unset import given as _given
from server.unset import UNSET
from server.webhooks import models, service
from server.webhooks.payloads import EVENT_TYPES

WebhookEventType = domain_enum(
    "WebhookEventType",
    EVENT_TYPES,
    description="What happened. In a webhook body `type` is the dotted name: "
    "`CONNECTION_CREATED` is sent as `connection.created`.",
    member_name=lambda dotted: dotted.replace(".", "_").upper(),
    described={
        "connection.created": "A connection was stored (API or connect flow).",
        "connection.status_changed": "A connection became ACTIVE or ERROR.",
        "connection.health_changed": "A connection's health (WORKING, DEGRADED, "
        "NEEDS_REAUTHORIZATION, MISSING_SCOPES) or its reason changed.",
        "connection.deleted": "A connection was deleted; `data` is its last state.",
        "connect_session.completed": "An end user finished the connect flow.",
        "connect_session.failed": "A connect flow ended in an error.",
        "sync_run.started": "A sync run began reading.",
        "sync_run.succeeded": "A sync run finished.",
        "sync_run.failed": "A sync run failed.",
        "sync_run.cancelled": "A sync run was cancelled.",
        "sync_run.stuck": "A running sync run loaded no batch for WEIR_RUN_STUCK_SECONDS "
        "(sent once per run; its heartbeat is alive, so it is not recovered).",
        "elt_sync.updated": "A sync's configuration, schedule or streams changed.",
        "call.failed": "An action or proxy call failed; `data` is its call-log entry.",
    },
)
WebhookDeliveryStatus = domain_enum(
    "WebhookDeliveryStatus",
    service.DELIVERY_STATUSES,
    description="Where a delivery of one event to one endpoint stands.",
    described={
        "PENDING": "Not delivered yet; will be tried.",
        "SUCCEEDED": "The endpoint answered 2xx.",
        "FAILED": "Given up: a 4xx that is not retried, or retries ran out.",
    },
)


def _event_type(name: str) -> WebhookEventType:  # type: ignore[valid-type]
    return WebhookEventType(name)


@strawberry.type(description="A URL of the host app's back end that receives signed events.")
class WebhookEndpoint:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `whep_`.")
    url: str = strawberry.field(description="Where events are POSTed (http or https).")
    description: str | None = strawberry.field(description="What it is for.")
    event_types: list[WebhookEventType] = strawberry.field(  # type: ignore[valid-type]
        description="The event types it receives."
    )
    enabled: bool = strawberry.field(
        description="False while disabled; its events wait and are sent when enabled again."
    )
    disabled_reason: str | None = strawberry.field(
        description="Why it was disabled (continuous failures, 410 Gone, or by the API)."
    )
    disabled_at: datetime | None = strawberry.field(description="When it was disabled.")
    failing_since: datetime | None = strawberry.field(
        description="Start of the current run of failed attempts; null when healthy."
    )
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until when the secret before the last rotation still signs too."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    workspace_id: strawberry.Private[str]

    @strawberry.field(description="The workspace whose events it receives.")
    async def workspace(self, info: Info[Context, None]) -> Workspace | None:
        return await info.context.loaders.workspace.load(self.workspace_id)

    @classmethod
    def from_model(cls, row: models.WebhookEndpoint) -> WebhookEndpoint:
        return from_row(cls, row, event_types=[_event_type(name) for name in row.event_types or []])


@strawberry.type(description="An endpoint with its signing secret, shown this once only.")
class WebhookEndpointWithSecret:
    endpoint: WebhookEndpoint = strawberry.field(description="The endpoint.")
    secret: str = strawberry.field(
        description="The signing secret (`whsec_...`). Store it now: it is never shown again."
    )


@strawberry.type(description="One HTTP attempt of a delivery.")
class WebhookAttempt:
    at: datetime = strawberry.field(description="When it was sent.")
    status_code: int | None = strawberry.field(
        description="The HTTP status answered; null on timeout, connection error or refusal."
    )
    latency_ms: int | None = strawberry.field(description="Milliseconds until the answer.")
    response_excerpt: str | None = strawberry.field(
        description="The first 500 characters of the response body."
    )
    error: str | None = strawberry.field(
        description="Why no status was received (timeout, connection error, refused address)."
    )


@strawberry.type(description="One event to one endpoint, with every attempt.")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `whdl_`.")
    event_id: strawberry.ID = strawberry.field(
        description="The event; also the `Weir-Event-Id` header, for de-duplication."
    )
    event_type: WebhookEventType = strawberry.field(  # type: ignore[valid-type]
        description="The event's type."
    )
    status: WebhookDeliveryStatus = strawberry.field(description="Where it stands.")  # type: ignore[valid-type]
    attempt_count: int = strawberry.field(description="How many attempts were made.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When it will be tried next; null once it succeeded or failed."
    )
    last_error: str | None = strawberry.field(description="What went wrong last.")
    completed_at: datetime | None = strawberry.field(description="When it succeeded or failed.")
    created_at: datetime = strawberry.field(description="When it was queued.")
    attempts: list[WebhookAttempt] = strawberry.field(description="Every attempt, oldest first.")

    @classmethod
    def from_model(cls, row: models.WebhookDelivery) -> WebhookDelivery:
        return from_row(
            cls,
            row,
            event_type=_event_type(row.event_type),
            status=WebhookDeliveryStatus(row.status),
            next_attempt_at=row.next_attempt_at if row.status == "PENDING" else None,
            attempts=[
                WebhookAttempt(
                    at=datetime.fromisoformat(item["at"]),
                    status_code=item.get("statusCode"),
                    latency_ms=item.get("latencyMs"),
                    response_excerpt=item.get("responseExcerpt"),
                    error=item.get("error"),
                )
                for item in row.attempts or []
            ],
        )


@strawberry.type(description="Something that happened, as sent to webhook endpoints.")
class WebhookEvent:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `evt_`; time-ordered.")
    type: WebhookEventType = strawberry.field(description="What happened.")  # type: ignore[valid-type]
    object_id: strawberry.ID = strawberry.field(description="The object it is about.")
    workspace_id: strawberry.ID | None = strawberry.field(
        description="Its workspace; null for an organization-wide object."
    )
    created_at: datetime = strawberry.field(description="When it happened.")
    data: JSON = strawberry.field(
        description="The object as this API returns it (never a secret), as in the body's `data`."
    )

    @classmethod
    def from_model(cls, row: models.WebhookEvent) -> WebhookEvent:
        return from_row(cls, row, type=_event_type(row.type), data=row.payload)


@strawberry.input(description="A new webhook endpoint.")
class CreateWebhookEndpointInput:
    workspace_id: strawberry.ID = strawberry.field(description="Whose events it receives.")
    url: str = strawberry.field(
        description="http(s) URL. In production it may not resolve to a private, loopback or "
        "link-local address (unless WEIR_WEBHOOKS_ALLOW_PRIVATE)."
    )
    event_types: list[WebhookEventType] = strawberry.field(  # type: ignore[valid-type]
        description="The event types to receive (at least one)."
    )
    description: str | None = strawberry.field(default=None, description="What it is for.")


@strawberry.input(description="Changes to an endpoint; omitted fields stay as they are.")
class UpdateWebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description="The endpoint to change.")
    url: str | None = strawberry.field(default=strawberry.UNSET, description="New URL.")
    event_types: list[WebhookEventType] | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="Replaces the event types."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="New description; null clears it."
    )
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="False pauses it; true enables it again and sends what waited, in order.",
    )


@strawberry.input(description="Replace an endpoint's signing secret.")
class RotateWebhookSecretInput:
    id: strawberry.ID = strawberry.field(description="The endpoint.")
    grace_seconds: int | None = strawberry.field(
        default=None,
        description="How long the old secret keeps signing too (both signatures are sent); "
        "default a day (WEIR_WEBHOOKS_ROTATION_GRACE_SECONDS), 0 ends it now.",
    )


def _types(values: list[Any] | None) -> list[str] | None:
    return None if values is None else [value.value for value in values]


@strawberry.type
class WebhooksQuery:
    @strawberry.field(description="Webhook endpoints, oldest first, of one workspace or all.")
    async def webhook_endpoints(
        self,
        info: Info[Context, None],
        workspace_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Page[WebhookEndpoint]:
        page = await service.list_endpoints(
            scope=info.context.scope,
            workspace_id=None if workspace_id is None else str(workspace_id),
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
        )
        return to_connection(page, WebhookEndpoint.from_model)

    @strawberry.field(description="One webhook endpoint by id.")
    async def webhook_endpoint(self, info: Info[Context, None], id: strawberry.ID) -> WebhookEndpoint:
        row = await service.get_endpoint(scope=info.context.scope, endpoint_id=str(id))
        return WebhookEndpoint.from_model(row)

    @strawberry.field(description="An endpoint's deliveries, oldest first, with every attempt.")
    async def webhook_deliveries(
        self,
        info: Info[Context, None],
        endpoint_id: strawberry.ID,
        status: WebhookDeliveryStatus | None = None,
        first: int | None = None,  # type: ignore[valid-type]
        after: str | None = None,
    ) -> Page[WebhookDelivery]:
        page = await service.list_deliveries(
            scope=info.context.scope,
            endpoint_id=str(endpoint_id),
            status=status.value if status else None,
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
        )
        return to_connection(page, WebhookDelivery.from_model)

    @strawberry.field(description="Past events, oldest first, to catch up after an outage.")
    async def webhook_events(
        self,
        info: Info[Context, None],
        since: datetime | None = None,
        types: list[WebhookEventType] | None = None,  # type: ignore[valid-type]
        workspace_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Page[WebhookEvent]:
        page = await service.list_events(
            scope=info.context.scope,
            since=since,
            types=_types(types),
            workspace_id=None if workspace_id is None else str(workspace_id),
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
        )
        return to_connection(page, WebhookEvent.from_model)


@strawberry.type
class WebhooksMutation:
    @strawberry.mutation(description="A new webhook endpoint; its signing secret is returned this once only.")
    async def create_webhook_endpoint(
        self, info: Info[Context, None], input: CreateWebhookEndpointInput
    ) -> WebhookEndpointWithSecret:
        services = info.context.services
        created = await service.create_endpoint(
            scope=info.context.scope,
            settings=services.settings,
            key_ring=services.key_ring,
            workspace_id=str(input.workspace_id),
            url=input.url,
            event_types=_types(input.event_types) or [],
            description=input.description,
        )
        return WebhookEndpointWithSecret(
            endpoint=WebhookEndpoint.from_model(created.endpoint), secret=created.secret
        )

    @strawberry.mutation(description="Change an endpoint; enabling it sends what waited.")
    async def update_webhook_endpoint(
        self, info: Info[Context, None], input: UpdateWebhookEndpointInput
    ) -> WebhookEndpoint:
        event_types = _given(input.event_types)
        row = await service.update_endpoint(
            scope=info.context.scope,
            settings=info.context.settings,
            endpoint_id=str(input.id),
            url=_given(input.url),
            description=_given(input.description),
            event_types=event_types if event_types is UNSET else _types(event_types),
            enabled=_given(input.enabled),
        )
        return WebhookEndpoint.from_model(row)

    @strawberry.mutation(
        description="A new signing secret, returned once; the old one keeps signing too for the grace period."
    )
    async def rotate_webhook_secret(
        self, info: Info[Context, None], input: RotateWebhookSecretInput
    ) -> WebhookEndpointWithSecret:
        services = info.context.services
        rotated = await service.rotate_secret(
            scope=info.context.scope,
            settings=services.settings,
            key_ring=services.key_ring,
            endpoint_id=str(input.id),
            grace_seconds=input.grace_seconds,
        )
        return WebhookEndpointWithSecret(
            endpoint=WebhookEndpoint.from_model(rotated.endpoint), secret=rotated.secret
        )

    @strawberry.mutation(description="Delete an endpoint and its deliveries.")
    async def delete_webhook_endpoint(self, info: Info[Context, None], id: strawberry.ID) -> DeletePayload:
        deleted = await service.delete_endpoint(scope=info.context.scope, endpoint_id=str(id))
        return DeletePayload(deleted_id=strawberry.ID(deleted))

    @strawberry.mutation(
        description="Send a past event again, as a new delivery, to one "
        "endpoint or to every endpoint subscribed to its type."
    )
    async def redeliver_webhook_event(
        self,
        info: Info[Context, None],
        event_id: strawberry.ID,
        endpoint_id: strawberry.ID | None = None,
    ) -> list[WebhookDelivery]:
        rows = await service.redeliver_event(
            scope=info.context.scope,
            event_id=str(event_id),
            endpoint_id=None if endpoint_id is None else str(endpoint_id),
        )
        return [WebhookDelivery.from_model(row) for row in rows]
