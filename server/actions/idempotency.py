"""``executeAction``'s idempotency keys: the first call with a key runs, the repeats replay it.

The first call with a key claims an ``ActionResult`` row (``IN_PROGRESS``; the unique key per
organization decides a race) and finishes it ``SUCCEEDED`` with the output or ``FAILED`` with
the error, kept ``RETENTION``. A repeat within that time:

- with the same request fingerprint gets the stored result back, without calling the provider
  again (a stored failure is raised again, with its code and extensions);
- with a different request is ``CONFLICT`` on ``input.idempotencyKey``: a key reused by mistake
  must not return another request's result;
- while the first still runs is ``CONFLICT`` too, unless the first was abandoned (its process
  died): after ``LEASE`` the next call takes the row over and runs.

A failure a retry could fix (rate limited, unreachable, reconnect needed) is not kept: the row is
released, so the retry runs. Expired rows are ignored here and deleted by the scheduler's
housekeeping (``server.actions.housekeeping.prune_expired_action_results``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from server import ids
from server.actions.inputs import canonical_json
from server.actions.models import ActionResult
from server.errors import Conflict, WeirError

RETENTION = timedelta(hours=24)
# Longer than any action may run (server.actions.service.ACTION_TIMEOUT_SECONDS plus a token
# refresh): an IN_PROGRESS row older than this belongs to a call that will never finish it.
LEASE = timedelta(minutes=5)
IN_PROGRESS, SUCCEEDED, FAILED = "IN_PROGRESS", "SUCCEEDED", "FAILED"
KEY_FIELD = "input.idempotencyKey"
MAX_STORED_MESSAGE = 2000
_CLAIM_ATTEMPTS = 3


class IdempotencyConflict(Conflict):
    """The key is taken by another request, or by one still running; names the field."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{KEY_FIELD}: {message}")

    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "field": KEY_FIELD}


class ReplayedFailure(WeirError):
    """The stored failure of the first call with a key, raised again as it was."""

    def __init__(self, code: str, message: str, extensions: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self._extensions = extensions

    def extensions(self) -> dict[str, object]:
        return {**self._extensions, "code": self.code, "replayed": True}


@dataclass(frozen=True)
class StoredResult:
    """What the first call with a key ended with."""

    succeeded: bool
    connection_id: str | None
    output: Any = None
    resolved_by: str | None = None
    error: ReplayedFailure | None = None


def fingerprint(request: dict[str, Any]) -> str:
    """sha256 of the request's canonical JSON: what tells a retry from another request."""
    return hashlib.sha256(canonical_json(request).encode("ascii")).hexdigest()


def provider_key(*, organization_id: str, key: str) -> str:
    """What an action hands its provider as the idempotency key (Stripe's ``Idempotency-Key``):
    stable for a host's key, so a retry after a lost answer is done once at the provider too,
    but never the host's own string (it may say more than it should), and never the same for
    two organizations that happen to choose the same key."""
    digest = hashlib.sha256(f"{organization_id}\x00{key}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"weir_{digest[:40]}"


def _now() -> datetime:
    return datetime.now(UTC)


def _envelope(value: dict[str, Any]) -> str:
    # Kept as JSON text inside the JSON column: Postgres refuses NUL (and lone surrogates) in
    # jsonb, which a provider's answer may hold; escaped inside a string they are plain text.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _storable_text(text: str) -> str:
    """``text`` as Postgres can keep it: no NUL, no lone surrogate, bounded."""
    cleaned = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return cleaned[:MAX_STORED_MESSAGE]


def _stored(row: ActionResult) -> StoredResult:
    envelope = json.loads(row.output) if isinstance(row.output, str) else (row.output or {})
    if row.status == SUCCEEDED:
        return StoredResult(
            succeeded=True,
            connection_id=row.connection_id,
            output=envelope.get("output"),
            resolved_by=envelope.get("resolvedBy"),
        )
    extensions = {k: v for k, v in (envelope.get("extensions") or {}).items() if k != "code"}
    failure = ReplayedFailure(row.error_code or "PROVIDER_ERROR", row.error_message or "", extensions)
    return StoredResult(succeeded=False, connection_id=row.connection_id, error=failure)


async def claim(*, organization_id: str, key: str, request_fingerprint: str) -> ActionResult | StoredResult:
    """The ``IN_PROGRESS`` row this call must finish, when it is the first with ``key``; else
    the first call's result to replay. ``CONFLICT`` for another request or one still running."""
    for _ in range(_CLAIM_ATTEMPTS):
        now = _now()
        row = await ActionResult.get_or_none(organization_id=organization_id, idempotency_key=key)
        if row is not None and row.expires_at <= now:
            await ActionResult.filter(id=row.id, expires_at__lte=now).delete()
            row = None
        if row is None:
            try:
                return await ActionResult.create(
                    id=ids.new_id("action_result"),
                    organization_id=organization_id,
                    idempotency_key=key,
                    fingerprint=request_fingerprint,
                    status=IN_PROGRESS,
                    expires_at=now + RETENTION,
                )
            except IntegrityError:
                continue  # another call with this key got there first: read what it claimed
        if row.fingerprint != request_fingerprint:
            raise IdempotencyConflict(
                "this key was already used for a different request in the last 24 hours; "
                "use a new key for a new request"
            )
        if row.status != IN_PROGRESS:
            return _stored(row)
        # Only one caller moves an abandoned row's start, so only one takes it over.
        taken = await ActionResult.filter(id=row.id, status=IN_PROGRESS, created_at__lte=now - LEASE).update(
            created_at=now
        )
        if taken:
            await row.refresh_from_db()
            return row
        break
    raise IdempotencyConflict(
        "a request with this key is still running; retry once it has finished to get its result"
    )


async def succeed(
    row: ActionResult, *, output: Any, resolved_by: str | None, connection_id: str | None
) -> None:
    """Keep the first call's output for the repeats."""
    await ActionResult.filter(id=row.id).update(
        status=SUCCEEDED,
        output=_envelope({"output": output, "resolvedBy": resolved_by}),
        connection_id=connection_id,
    )


async def fail(row: ActionResult, *, error: WeirError, connection_id: str | None) -> None:
    """Keep the first call's failure (its code, message and extensions) for the repeats."""
    extensions = {k: v for k, v in error.extensions().items() if k != "code"}
    await ActionResult.filter(id=row.id).update(
        status=FAILED,
        output=_envelope({"extensions": extensions}),
        error_code=error.code,
        error_message=_storable_text(error.message),
        connection_id=connection_id,
    )


async def release(row: ActionResult) -> None:
    """Forget the claim: the next call with the key runs (a retry that may now succeed)."""
    await ActionResult.filter(id=row.id, status=IN_PROGRESS).delete()
