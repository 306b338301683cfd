"""Webhook endpoints (create, change, rotate, delete, list), past events, deliveries, replay.

An endpoint's signing secret is generated here, returned once, and stored sealed by
``server.crypto`` with the endpoint's id as associated data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server import ids
from server.config import Settings
from server.crypto import KeyRing
from server.errors import FieldError, NotFound, ValidationFailed
from server.orgs import service as orgs
from server.pagination import Page, paginate
from server.scope import Scope
from server.unset import UNSET
from server.validation import check_http_url, check_text
from server.webhooks.addresses import AddressRefused, check_url
from server.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from server.webhooks.outbox import SHARED_WITH_WORKSPACES
from server.webhooks.payloads import EVENT_TYPES
from server.webhooks.signing import generate_secret

log = logging.getLogger("weir.webhooks")

DELIVERY_STATUSES = ("PENDING", "SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str


def _visible(scope: Scope) -> Q:
    """A workspace-restricted key sees its workspace's events and those of the
    organization-wide objects it can read (ORGANIZATION connections)."""
    if scope.workspace_id is None:
        return Q(organization_id=scope.organization_id)
    return Q(organization_id=scope.organization_id) & (
        Q(workspace_id=scope.workspace_id) | Q(workspace_id=None, type__in=list(SHARED_WITH_WORKSPACES))
    )


async def _check_url(settings: Settings, url: str, field: str = "input.url") -> str:
    url = url.strip()
    problem = check_http_url(field, url)
    if problem:
        raise ValidationFailed(problem)
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ValidationFailed.field(field, "must not contain credentials")
    if parts.fragment:
        raise ValidationFailed.field(field, "must not contain a fragment")
    try:
        await check_url(settings, url)
    except AddressRefused as exc:
        raise ValidationFailed.field(
            field,
            f"{exc}: webhooks may only target globally routable addresses "
            "(an operator can open networks or hosts with WEIR_OUTBOUND_ALLOW)",
        ) from None
    return url


def _check_event_types(event_types: list[str], field: str = "input.eventTypes") -> list[str]:
    if not event_types:
        raise ValidationFailed.field(field, "must name at least one event type")
    unknown = [name for name in event_types if name not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed.field(field, f"unknown event type {unknown[0]!r}")
    return list(dict.fromkeys(event_types))


def _check_description(description: str | None) -> None:
    if description is not None:
        problem = check_text("input.description", description, max_length=500, required=False)
        if problem:
            raise ValidationFailed(problem)


async def create_endpoint(
    *,
    scope: Scope,
    settings: Settings,
    key_ring: KeyRing,
    workspace_id: str,
    url: str,
    event_types: list[str],
    description: str | None = None,
) -> EndpointWithSecret:
    """A new endpoint of a workspace, with its signing secret (returned this once only)."""
    workspace = await orgs.get_workspace(scope=scope, workspace_id=workspace_id)
    types = _check_event_types(event_types)
    _check_description(description)
    url = await _check_url(settings, url)
    endpoint_id = ids.new_id("webhook_endpoint")
    secret = generate_secret()
    endpoint = await WebhookEndpoint.create(
        id=endpoint_id,
        organization_id=scope.organization_id,
        workspace_id=workspace.id,
        url=url,
        description=description,
        event_types=types,
        secret_encrypted=key_ring.encrypt(secret.encode(), associated_data=endpoint_id),
    )
    log.info("created webhook endpoint %s in workspace %s", endpoint.id, workspace.id)
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


async def get_endpoint(*, scope: Scope, endpoint_id: str) -> WebhookEndpoint:
    """One endpoint the caller may see, or ``NOT_FOUND``."""
    endpoint = await WebhookEndpoint.filter(**scope.filters(), id=endpoint_id).first()
    if endpoint is None:
        raise NotFound("webhook endpoint", endpoint_id)
    return endpoint


async def list_endpoints(
    *, scope: Scope, workspace_id: str | None, first: int | None, after: str | None, max_page_size: int
) -> Page[WebhookEndpoint]:
    """Endpoints, oldest first, of one workspace or of every workspace the caller sees."""
    queryset = WebhookEndpoint.filter(**scope.filters())
    if workspace_id is not None:
        scope.check_workspace(workspace_id)
        queryset = queryset.filter(workspace_id=workspace_id)
    return await paginate(queryset, first=first, after=after, max_page_size=max_page_size)


async def update_endpoint(
    *,
    scope: Scope,
    settings: Settings,
    endpoint_id: str,
    url: Any = UNSET,
    event_types: Any = UNSET,
    description: Any = UNSET,
    enabled: Any = UNSET,
    now: datetime | None = None,
) -> WebhookEndpoint:
    """Change an endpoint; enabling a disabled one sends what waited for it, right away."""
    endpoint = await get_endpoint(scope=scope, endpoint_id=endpoint_id)
    now = now or datetime.now(UTC)
    changes: dict[str, Any] = {}
    if url is not UNSET:
        if url is None:
            raise ValidationFailed.field("input.url", "must not be null")
        changes["url"] = await _check_url(settings, url)
    if event_types is not UNSET:
        changes["event_types"] = _check_event_types(list(event_types or []))
    if description is not UNSET:
        _check_description(description)
        changes["description"] = description
    resumed = False
    if enabled is not UNSET and enabled is not None and enabled != endpoint.enabled:
        changes["enabled"] = enabled
        if enabled:
            resumed = True
            changes.update(disabled_reason=None, disabled_at=None, failing_since=None, consecutive_failures=0)
        else:
            changes.update(disabled_reason="disabled with updateWebhookEndpoint", disabled_at=now)
    if not changes:
        return endpoint
    changes["updated_at"] = now
    async with in_transaction():
        await WebhookEndpoint.filter(id=endpoint.id).update(**changes)
        if resumed:
            # What waited is due now, with a fresh retry window.
            await WebhookDelivery.filter(endpoint_id=endpoint.id, status="PENDING").update(
                next_attempt_at=now, window_started_at=now
            )
    endpoint.update_from_dict(changes)
    log.info("updated webhook endpoint %s (%s)", endpoint.id, ", ".join(sorted(changes)))
    return endpoint


async def rotate_secret(
    *,
    scope: Scope,
    settings: Settings,
    key_ring: KeyRing,
    endpoint_id: str,
    grace_seconds: int | None = None,
    now: datetime | None = None,
) -> EndpointWithSecret:
    """A new signing secret; the old one keeps signing too for the grace period."""
    endpoint = await get_endpoint(scope=scope, endpoint_id=endpoint_id)
    grace = settings.webhooks_rotation_grace_seconds if grace_seconds is None else grace_seconds
    if grace < 0 or grace > 7 * 24 * 3600:
        raise ValidationFailed.field("input.graceSeconds", "must be between 0 and 604800")
    now = now or datetime.now(UTC)
    secret = generate_secret()
    changes: dict[str, Any] = {
        "secret_encrypted": key_ring.encrypt(secret.encode(), associated_data=endpoint.id),
        "previous_secret_encrypted": endpoint.secret_encrypted if grace else None,
        "previous_secret_expires_at": now + timedelta(seconds=grace) if grace else None,
        "updated_at": now,
    }
    await WebhookEndpoint.filter(id=endpoint.id).update(**changes)
    endpoint.update_from_dict(changes)
    log.info("rotated the signing secret of webhook endpoint %s", endpoint.id)
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


async def delete_endpoint(*, scope: Scope, endpoint_id: str) -> str:
    """Delete an endpoint and its deliveries; return its id."""
    endpoint = await get_endpoint(scope=scope, endpoint_id=endpoint_id)
    await endpoint.delete()
    log.info("deleted webhook endpoint %s", endpoint_id)
    return endpoint_id


async def list_deliveries(
    *,
    scope: Scope,
    endpoint_id: str,
    status: str | None,
    first: int | None,
    after: str | None,
    max_page_size: int,
) -> Page[WebhookDelivery]:
    """An endpoint's deliveries, oldest first, each with its attempts."""
    endpoint = await get_endpoint(scope=scope, endpoint_id=endpoint_id)
    queryset = WebhookDelivery.filter(endpoint_id=endpoint.id)
    if status is not None:
        if status not in DELIVERY_STATUSES:
            raise ValidationFailed.field("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
        queryset = queryset.filter(status=status)
    return await paginate(queryset, first=first, after=after, max_page_size=max_page_size)


async def list_events(
    *,
    scope: Scope,
    since: datetime | None,
    types: list[str] | None,
    workspace_id: str | None,
    first: int | None,
    after: str | None,
    max_page_size: int,
) -> Page[WebhookEvent]:
    """Past events, oldest first: for catching up after an outage."""
    queryset = WebhookEvent.filter(_visible(scope))
    if workspace_id is not None:
        await orgs.get_workspace(scope=scope, workspace_id=workspace_id)
        queryset = queryset.filter(Q(workspace_id=workspace_id) | Q(workspace_id=None))
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    if types:
        queryset = queryset.filter(type__in=_check_event_types(types, field="types"))
    return await paginate(queryset, first=first, after=after, max_page_size=max_page_size)


async def redeliver_event(
    *, scope: Scope, event_id: str, endpoint_id: str | None = None, now: datetime | None = None
) -> list[WebhookDelivery]:
    """Send an event again, as a new delivery, to one endpoint or to every one subscribed."""
    event = await WebhookEvent.filter(_visible(scope), id=event_id).first()
    if event is None:
        raise NotFound("webhook event", event_id)
    endpoints = WebhookEndpoint.filter(**scope.filters())
    if event.workspace_id is not None:
        endpoints = endpoints.filter(workspace_id=event.workspace_id)
    if endpoint_id is not None:
        targets = list(await endpoints.filter(id=endpoint_id))
        if not targets:
            raise NotFound("webhook endpoint", endpoint_id)
    else:
        targets = [row for row in await endpoints if event.type in (row.event_types or [])]
        if not targets:
            raise ValidationFailed(FieldError("eventId", "no endpoint subscribes to its type"))
    now = now or datetime.now(UTC)
    deliveries = [
        WebhookDelivery(
            id=ids.new_id("webhook_delivery"),
            organization_id=event.organization_id,
            endpoint_id=endpoint.id,
            event_id=event.id,
            object_id=event.object_id,
            event_type=event.type,
            next_attempt_at=now,
            window_started_at=now,
        )
        for endpoint in targets
    ]
    await WebhookDelivery.bulk_create(deliveries)
    log.info("redelivering event %s to %d endpoint(s)", event.id, len(deliveries))
    return await WebhookDelivery.filter(id__in=[d.id for d in deliveries]).order_by("id")
