"""Claiming due deliveries, so that each is sent by one dispatcher at a time.

Claiming is ``SELECT ... FOR UPDATE SKIP LOCKED`` on Postgres, and on SQLite (one writer) a
conditional ``UPDATE`` that only takes rows nobody holds; either way the claim is a lease
(``claimed_until``) plus a token. A dispatcher that dies mid-delivery leaves a claim that
expires, and the next pass sends the delivery again.

Order: only the head of each (endpoint, object) queue is claimed, the PENDING delivery with the
lowest event id, so event N+1 of an object never leaves while event N is pending there.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q, RawSQL
from tortoise.transactions import in_transaction

from server.config import Settings
from server.db import is_postgres
from server.webhooks.models import WebhookDelivery


def lease_seconds(settings: Settings) -> float:
    return max(float(settings.webhooks_claim_seconds), settings.webhooks_timeout_seconds + 30)


@dataclass(frozen=True)
class Claim:
    delivery: WebhookDelivery
    token: str


# True when an earlier event of the same object is still PENDING for the same endpoint.
_BLOCKED = RawSQL(
    "EXISTS (SELECT 1 FROM webhook_deliveries AS earlier"
    " WHERE earlier.endpoint_id = webhook_deliveries.endpoint_id"
    " AND earlier.object_id = webhook_deliveries.object_id"
    " AND earlier.status = 'PENDING'"
    " AND earlier.event_id < webhook_deliveries.event_id)"
)


def _unclaimed(now: datetime) -> Q:
    return Q(claimed_until=None) | Q(claimed_until__lt=now)


async def claim_due(*, settings: Settings, now: datetime, limit: int) -> list[Claim]:
    """Claim up to ``limit`` due deliveries of enabled endpoints, heads of their queues only."""
    token = secrets.token_hex(16)
    until = now + timedelta(seconds=lease_seconds(settings))
    async with in_transaction():
        query = (
            WebhookDelivery.filter(status="PENDING", next_attempt_at__lte=now, endpoint__enabled=True)
            .filter(_unclaimed(now))
            # Blocked rows are left out in SQL, so a long queue behind a failing head never
            # crowds out the other objects' deliveries.
            .annotate(blocked=_BLOCKED)
            .filter(blocked=False)
            .order_by("next_attempt_at", "event_id")
            .limit(limit)
        )
        if is_postgres(settings.effective_database_url):
            # Other dispatchers skip the rows this one is claiming instead of waiting for them.
            query = query.select_for_update(skip_locked=True, of=("webhook_deliveries",))
        chosen = [row.id for row in await query]  # (values_list would drop FOR UPDATE)
        if not chosen:
            return []
        # Conditional: on SQLite this is the claim itself (it only takes rows nobody holds);
        # the token then says which rows this dispatcher got.
        await WebhookDelivery.filter(Q(id__in=chosen, status="PENDING") & _unclaimed(now)).update(
            claimed_until=until, claim_token=token
        )
        rows = await WebhookDelivery.filter(claim_token=token).order_by("next_attempt_at", "event_id")
    return [Claim(delivery=row, token=token) for row in rows]
