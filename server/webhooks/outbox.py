"""The outbox: an event row written in the transaction of the change that caused it.

``record_event`` must be awaited inside the ``in_transaction()`` block of the change, so the
change and its event commit together or not at all; a process dying right after the commit
loses nothing, because the dispatcher finds the event's deliveries in the database.

It also fans the event out: one ``WebhookDelivery`` per endpoint of the workspace subscribed to
the type, disabled endpoints included (their deliveries wait until they are enabled again).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from server import ids
from server.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from server.webhooks.payloads import EVENT_TYPES, connect_session_payload

# Which status of a connect session is worth an event, and which (a sync run's:
# ``server.syncs.webhook_events``).
CONNECT_SESSION_EVENTS = {"COMPLETED": "connect_session.completed", "FAILED": "connect_session.failed"}
# Events of an organization-wide object (no workspace) that every workspace may hear: those of
# ORGANIZATION connections, which workspace-restricted keys can read. Other workspace-less
# objects (syncs of an ORGANIZATION connection, their runs) are invisible to such keys, so their
# events reach no endpoint (every endpoint belongs to a workspace) and are listed in
# ``webhookEvents`` for unrestricted keys only.
SHARED_WITH_WORKSPACES = frozenset(
    {"connection.created", "connection.status_changed", "connection.health_changed", "connection.deleted"}
)

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_last_event_id = ""
_lock = threading.Lock()


def _successor(body: str) -> str:
    """The next Crockford base32 string of the same length (``...0z`` -> ``...10``)."""
    digits = list(body)
    for position in range(len(digits) - 1, -1, -1):
        index = _ALPHABET.index(digits[position])
        if index < len(_ALPHABET) - 1:
            digits[position] = _ALPHABET[index + 1]
            return "".join(digits)
        digits[position] = _ALPHABET[0]
    raise OverflowError("event id space exhausted")


def new_event_id() -> str:
    """A fresh event id, strictly greater than every earlier one of this process.

    Ids order one object's events; two in the same millisecond must not swap places.
    """
    global _last_event_id
    with _lock:
        candidate = ids.new_id("webhook_event")
        if candidate <= _last_event_id:
            prefix, body = _last_event_id.split("_", 1)
            candidate = f"{prefix}_{_successor(body)}"
        _last_event_id = candidate
        return candidate


async def record_event(
    *, organization_id: str, workspace_id: str | None, type: str, payload: dict[str, Any], object_id: str
) -> WebhookEvent:
    """Write an event and its deliveries; call inside the transaction of the change."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    now = datetime.now(UTC)
    event = await WebhookEvent.create(
        id=new_event_id(),
        organization_id=organization_id,
        workspace_id=workspace_id,
        type=type,
        object_id=object_id,
        payload=payload,
        created_at=now,
    )
    endpoints = WebhookEndpoint.filter(organization_id=organization_id)
    if workspace_id is not None:
        endpoints = endpoints.filter(workspace_id=workspace_id)
    subscribed = (
        []
        if workspace_id is None and type not in SHARED_WITH_WORKSPACES
        else [row for row in await endpoints.only("id", "event_types") if type in (row.event_types or [])]
    )
    if subscribed:
        await WebhookDelivery.bulk_create(
            [
                WebhookDelivery(
                    id=ids.new_id("webhook_delivery"),
                    organization_id=organization_id,
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    object_id=object_id,
                    event_type=type,
                    next_attempt_at=now,
                    window_started_at=now,
                )
                for endpoint in subscribed
            ]
        )
    return event


# -- one call per event source (each inside the transaction of its change) -----------------


async def record_connect_session(session: Any) -> WebhookEvent | None:
    """``connect_session.completed`` / ``.failed`` for a session now in that status."""
    event_type = CONNECT_SESSION_EVENTS.get(session.status)
    if event_type is None:
        return None
    return await record_event(
        organization_id=session.organization_id,
        workspace_id=session.workspace_id,
        type=event_type,
        payload=connect_session_payload(session),
        object_id=session.id,
    )


async def prune_events(*, now: datetime, retention_days: int, batch: int = 1000) -> int:
    """Delete events older than the retention (and their deliveries) unless one still waits."""
    cutoff = now - timedelta(days=retention_days)
    deleted, after = 0, ""
    while True:
        old = list(
            await WebhookEvent.filter(created_at__lt=cutoff, id__gt=after)
            .order_by("id")
            .limit(batch)
            .values_list("id", flat=True)
        )
        if not old:
            return deleted
        waiting = set(
            await WebhookDelivery.filter(event_id__in=old, status="PENDING").values_list(
                "event_id", flat=True
            )
        )
        doomed = [event_id for event_id in old if event_id not in waiting]
        if doomed:
            # (The count is ours: a driver may include the cascaded delivery rows in its own.)
            await WebhookEvent.filter(id__in=doomed).delete()
            deleted += len(doomed)
        after = str(old[-1])
