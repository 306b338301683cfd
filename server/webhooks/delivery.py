"""Delivering webhook events: claim due deliveries, POST them signed, record, retry or give up.

At-least-once: a delivery is claimed (``server.webhooks.claims``: a lease of
``webhooks_claim_seconds``, at least the timeout plus a margin, and only the head of its
object's queue, so one object's events go out in order) before it is sent. A dispatcher that
dies mid-delivery leaves a claim that expires, and the next pass sends it again; receivers
de-duplicate on ``Weir-Event-Id``.

Outcomes of one attempt:
- 2xx: SUCCEEDED.
- timeout, connection error, refused address, 5xx, 429: retried with exponential backoff and
  jitter (``Retry-After`` honoured) until the retry window (a day) would be exceeded: FAILED.
- 410 Gone: the receiver says the URL is gone for good, so the endpoint is disabled at once;
  the delivery waits (PENDING) and goes out if the endpoint is enabled again.
- any other status (3xx, 4xx): FAILED, not retried.
Any non-2xx counts against the endpoint: failing continuously for
``webhooks_disable_after_seconds`` (three days) disables it with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tortoise.expressions import F

from server import http as http_clients
from server import outbound
from server.config import Settings
from server.crypto import KeyRing
from server.webhooks import addresses
from server.webhooks.addresses import AddressRefused, check_url
from server.webhooks.claims import Claim, claim_due
from server.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from server.webhooks.outbox import prune_events
from server.webhooks.signing import signature_header

log = logging.getLogger("weir.webhooks")

Clock = Callable[[], datetime]

RETRY_BASE_SECONDS = 30
RETRY_FACTOR = 4
RETRY_MAX_DELAY_SECONDS = 6 * 3600
JITTER = 0.2
EXCERPT_CHARS = 500
USER_AGENT = "Weir-Webhooks/1"
PRUNE_EVERY = timedelta(hours=1)
_random = random.SystemRandom()


def system_clock() -> datetime:
    return datetime.now(UTC)


def retry_delay(attempt: int) -> float:
    """Seconds before retrying after failed attempt number ``attempt`` (1-based), jittered."""
    base = min(RETRY_BASE_SECONDS * RETRY_FACTOR ** (attempt - 1), RETRY_MAX_DELAY_SECONDS)
    return base * _random.uniform(1 - JITTER, 1 + JITTER)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    return None


# -- sending --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int | None
    excerpt: str | None
    error: str | None
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410

    @property
    def retryable(self) -> bool:
        code = self.status_code
        return code is None or code == 429 or code >= 500


def event_body(event: WebhookEvent) -> bytes:
    """The JSON body of an event: the same bytes at every attempt."""
    document = {
        "id": event.id,
        "type": event.type,
        "createdAt": event.created_at.astimezone(UTC).isoformat(),
        "workspaceId": event.workspace_id,
        "data": event.payload,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def signing_secrets(key_ring: KeyRing, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    found = [key_ring.decrypt(endpoint.secret_encrypted, associated_data=endpoint.id).decode()]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > now:
        found.append(
            key_ring.decrypt(endpoint.previous_secret_encrypted, associated_data=endpoint.id).decode()
        )
    return found


async def _read_excerpt(response: httpx.Response) -> str:
    collected = b""
    async for chunk in response.aiter_bytes():
        collected += chunk
        if len(collected) >= EXCERPT_CHARS * 4:
            break
    return collected.decode("utf-8", errors="replace")[:EXCERPT_CHARS]


async def post(
    http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], limit_seconds: float
) -> Outcome:
    """One POST, within ``limit_seconds`` overall (the client's guard picks the address)."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit_seconds):
            async with http.stream(
                "POST", url, content=body, headers=headers, timeout=limit_seconds, follow_redirects=False
            ) as response:
                excerpt = await _read_excerpt(response)
    except (TimeoutError, httpx.TimeoutException):
        return Outcome(None, _elapsed(started), None, f"timed out after {limit_seconds:g}s")
    except httpx.HTTPError as exc:
        if outbound.refused(exc):
            return Outcome(None, _elapsed(started), None, f"refused: {exc}")
        return Outcome(None, _elapsed(started), None, f"connection failed ({exc.__class__.__name__})")
    return Outcome(
        response.status_code,
        _elapsed(started),
        excerpt,
        None,
        retry_after=response.headers.get("retry-after"),
    )


def _elapsed(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


async def _attempt(
    *,
    settings: Settings,
    key_ring: KeyRing,
    http: httpx.AsyncClient,
    endpoint: WebhookEndpoint,
    event: WebhookEvent,
    sent_at: datetime,
) -> Outcome:
    body = event_body(event)
    timestamp = int(sent_at.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Weir-Event-Id": event.id,
        "Weir-Event-Type": event.type,
        "Weir-Timestamp": str(timestamp),
        "Weir-Signature": signature_header(signing_secrets(key_ring, endpoint, sent_at), timestamp, body),
    }
    try:
        # Checked again now, under today's settings (the client checks once more to connect).
        await check_url(settings, endpoint.url)
    except AddressRefused as exc:
        return Outcome(None, None, None, f"refused: {exc}")
    return await post(http, endpoint.url, body, headers, settings.webhooks_timeout_seconds)


# -- recording ------------------------------------------------------------------------------


async def _record(
    *,
    settings: Settings,
    claim: Claim,
    endpoint: WebhookEndpoint,
    outcome: Outcome,
    sent_at: datetime,
    now: datetime,
) -> None:
    delivery = claim.delivery
    attempts = [
        *list(delivery.attempts or []),
        {
            "at": sent_at.isoformat(),
            "statusCode": outcome.status_code,
            "latencyMs": outcome.latency_ms,
            "responseExcerpt": outcome.excerpt,
            "error": outcome.error,
        },
    ]
    count = delivery.attempt_count + 1
    error = outcome.error or (None if outcome.succeeded else f"HTTP {outcome.status_code}")
    changes: dict[str, Any] = {
        "attempts": attempts,
        "attempt_count": count,
        "last_error": error,
        "claimed_until": None,
        "claim_token": None,
    }
    if outcome.succeeded:
        changes.update(status="SUCCEEDED", completed_at=now)
    elif outcome.gone:
        changes.update(next_attempt_at=now)  # waits for the endpoint to be enabled again
    elif outcome.retryable:
        waited = retry_after_seconds(outcome.retry_after, now)
        delay = min(waited, RETRY_MAX_DELAY_SECONDS) if waited is not None else retry_delay(count)
        next_at = now + timedelta(seconds=delay)
        window_end = delivery.window_started_at + timedelta(seconds=settings.webhooks_retry_window_seconds)
        if next_at > window_end:
            changes.update(
                status="FAILED", completed_at=now, last_error=f"gave up after {count} attempts; last: {error}"
            )
        else:
            changes.update(next_attempt_at=next_at)
    else:
        changes.update(status="FAILED", completed_at=now)
    updated = await WebhookDelivery.filter(id=delivery.id, claim_token=claim.token).update(**changes)
    if not updated:
        log.warning("webhook delivery %s: claim expired before its result was recorded", delivery.id)
    await _endpoint_health(settings=settings, endpoint=endpoint, outcome=outcome, now=now, error=error)


async def _endpoint_health(
    *, settings: Settings, endpoint: WebhookEndpoint, outcome: Outcome, now: datetime, error: str | None
) -> None:
    if outcome.succeeded:
        if endpoint.failing_since is not None or endpoint.consecutive_failures:
            await WebhookEndpoint.filter(id=endpoint.id).update(failing_since=None, consecutive_failures=0)
            endpoint.failing_since, endpoint.consecutive_failures = None, 0
        return
    await WebhookEndpoint.filter(id=endpoint.id, failing_since=None).update(failing_since=now)
    await WebhookEndpoint.filter(id=endpoint.id).update(consecutive_failures=F("consecutive_failures") + 1)
    fresh = await WebhookEndpoint.get(id=endpoint.id)
    endpoint.failing_since = fresh.failing_since
    reason = None
    if outcome.gone:
        reason = "the endpoint answered 410 Gone"
    elif fresh.failing_since is not None and (now - fresh.failing_since).total_seconds() >= (
        settings.webhooks_disable_after_seconds
    ):
        reason = (
            f"failing since {fresh.failing_since.isoformat()} "
            f"({fresh.consecutive_failures} failed attempts; last: {error})"
        )
    if reason and fresh.enabled:
        await WebhookEndpoint.filter(id=endpoint.id, enabled=True).update(
            enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now
        )
        log.warning("disabled webhook endpoint %s: %s", endpoint.id, reason)


# -- the loop -------------------------------------------------------------------------------


async def _deliver_one(
    *,
    settings: Settings,
    key_ring: KeyRing,
    http: httpx.AsyncClient,
    now: Clock,
    claim: Claim,
    endpoint: WebhookEndpoint,
    event: WebhookEvent,
) -> None:
    sent_at = now()
    outcome = await _attempt(
        settings=settings, key_ring=key_ring, http=http, endpoint=endpoint, event=event, sent_at=sent_at
    )
    await _record(
        settings=settings, claim=claim, endpoint=endpoint, outcome=outcome, sent_at=sent_at, now=now()
    )
    log.info(
        "webhook %s %s to endpoint %s: %s",
        event.type,
        event.id,
        endpoint.id,
        outcome.status_code or outcome.error,
    )


async def deliver_due(
    *,
    settings: Settings,
    key_ring: KeyRing,
    http: httpx.AsyncClient,
    now: Clock = system_clock,
    limit: int = 50,
) -> int:
    """Claim and send up to ``limit`` due deliveries; return how many were attempted."""
    claims = await claim_due(settings=settings, now=now(), limit=limit)
    if not claims:
        return 0
    endpoints = {
        row.id: row
        for row in await WebhookEndpoint.filter(id__in=list({c.delivery.endpoint_id for c in claims}))
    }
    events = {
        row.id: row for row in await WebhookEvent.filter(id__in=list({c.delivery.event_id for c in claims}))
    }
    # An endpoint deleted since the claim took its deliveries with it: nothing to send.
    claims = [c for c in claims if c.delivery.endpoint_id in endpoints and c.delivery.event_id in events]
    results = await asyncio.gather(
        *(
            _deliver_one(
                settings=settings,
                key_ring=key_ring,
                http=http,
                now=now,
                claim=claim,
                endpoint=endpoints[claim.delivery.endpoint_id],
                event=events[claim.delivery.event_id],
            )
            for claim in claims
        ),
        return_exceptions=True,
    )
    for claim, result in zip(claims, results, strict=True):
        if isinstance(result, BaseException):
            # The claim expires and another pass sends it again.
            log.error(
                "webhook delivery %s failed unexpectedly",
                claim.delivery.id,
                exc_info=(type(result), result, result.__traceback__),
            )
    return len(claims)


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    # Guarded at connect time, without proxies: the address checked is the one connected to.
    return http_clients.client(addresses.policy(settings), http_clients.WEBHOOKS)


async def run_dispatcher(
    *,
    settings: Settings,
    key_ring: KeyRing,
    stop_event: asyncio.Event,
    interval: float,
    http: httpx.AsyncClient | None = None,
    now: Clock = system_clock,
    limit: int = 50,
) -> None:
    """Deliver due webhooks until ``stop_event`` is set, polling every ``interval`` seconds."""
    client = http or build_http_client(settings)
    pruned_at: datetime | None = None
    try:
        while not stop_event.is_set():
            attempted = 0
            try:
                if pruned_at is None or now() - pruned_at >= PRUNE_EVERY:
                    pruned_at = now()
                    await prune_events(now=pruned_at, retention_days=settings.webhooks_retention_days)
                attempted = await deliver_due(
                    settings=settings, key_ring=key_ring, http=client, now=now, limit=limit
                )
            except Exception:
                log.exception("webhook dispatcher pass failed; retrying")
            if attempted >= limit:
                continue  # more may be due: no pause
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=interval)
    finally:
        if http is None:
            await client.aclose()
