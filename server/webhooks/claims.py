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

from tortoise.expressions import Q
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


async def _queue_heads(candidates: list[WebhookDelivery]) -> dict[tuple[str, str], str]:
    """The lowest PENDING event id of each (endpoint, object) queue the candidates are in."""
    rows = await WebhookDelivery.filter(
        status="PENDING",
        endpoint_id__in=list({c.endpoint_id for c in candidates}),
        object_id__in=list({c.object_id for c in candidates}),
    ).values_list("endpoint_id", "object_id", "event_id")
    heads: dict[tuple[str, str], str] = {}
    for endpoint_id, object_id, event_id in rows:
        key = (endpoint_id, object_id)
        if key not in heads or event_id < heads[key]:
            heads[key] = event_id
    return heads


def _unclaimed(now: datetime) -> Q:
    return Q(claimed_until=None) | Q(claimed_until__lt=now)


async def claim_due(*, settings: Settings, now: datetime, limit: int) -> list[Claim]:
    """Claim up to ``limit`` due deliveries of enabled endpoints, heads of their queues only."""
    candidates = await (
        WebhookDelivery.filter(status="PENDING", next_attempt_at__lte=now, endpoint__enabled=True)
        .filter(_unclaimed(now))
        .order_by("next_attempt_at", "event_id")
        .limit(limit * 4)
    )
    if not candidates:
        return []
    heads = await _queue_heads(candidates)
    # Not the head: an earlier event of the same object is still pending for that endpoint.
    eligible = [c.id for c in candidates
                if heads.get((c.endpoint_id, c.object_id)) == c.event_id]
    token = secrets.token_hex(16)
    until = now + timedelta(seconds=lease_seconds(settings))
    claimed: list[Claim] = []
    async with in_transaction():
        query = (
            WebhookDelivery.filter(id__in=eligible, status="PENDING")
            .filter(_unclaimed(now))
            .order_by("next_attempt_at", "event_id")
            .limit(limit)
        )
        if is_postgres(settings.effective_database_url):
            # Other dispatchers skip the rows this one is claiming instead of waiting for them.
            query = query.select_for_update(skip_locked=True)
        chosen = [row.id for row in await query]  # (values_list would drop FOR UPDATE)
        if chosen:
            # Conditional: on SQLite this is the claim itself (it only takes rows nobody holds);
            # the token then says which rows this dispatcher got.
            await WebhookDelivery.filter(
                Q(id__in=chosen, status="PENDING") & _unclaimed(now)
            ).update(claimed_until=until, claim_token=token)
            rows = await WebhookDelivery.filter(claim_token=token).order_by(
                "next_attempt_at", "event_id")
            claimed = [Claim(delivery=row, token=token) for row in rows]
    return claimed
