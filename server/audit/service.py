"""The audit log: who changed what, when, and how it ended.

Entries are written by the GraphQL layer (``server.api.audit``: one per mutation field) and by
the command line (``record_operator``), read with ``list_entries`` and forgotten after
``WEIR_AUDIT_LOG_RETENTION_DAYS`` by the scheduler's housekeeping (``prune_audit_log``).
An entry names an operation and an object id, never an input value: nothing secret can reach it.
Writing is best effort: an audit row that cannot be written is logged, and the change it
describes stands (it already committed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server import ids
from server.audit.models import AuditEntry
from server.errors import FieldError, ValidationFailed
from server.pagination import Page, paginate
from server.scope import Scope
from server.validation import assume_utc, refuse_over_long_lookups

log = logging.getLogger("weir.audit")

API_KEY, CONNECT_TOKEN, OPERATOR = "API_KEY", "CONNECT_TOKEN", "OPERATOR"
ACTOR_KINDS = (API_KEY, CONNECT_TOKEN, OPERATOR)
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"
OUTCOMES = (SUCCEEDED, FAILED)


@dataclass(frozen=True)
class Actor:
    """Who made a change: an API key, a connect session (for its end user), or the operator."""

    kind: str
    organization_id: str
    id: str | None = None
    workspace_id: str | None = None
    end_user_id: str | None = None


@dataclass(frozen=True)
class Change:
    """One change to record: the operation, its object, and how it ended."""

    operation: str
    outcome: str
    object_id: str | None = None
    workspace_id: str | None = None
    error_code: str | None = None
    end_user_id: str | None = None  # the end user it was made for, when the change names one


def entry(actor: Actor, change: Change, *, at: datetime | None = None) -> AuditEntry:
    """The row for ``change`` made by ``actor`` (not saved)."""
    object_id = change.object_id if change.object_id and len(change.object_id) <= 64 else None
    return AuditEntry(
        id=ids.new_id("audit_entry"),
        organization_id=actor.organization_id,
        workspace_id=change.workspace_id or actor.workspace_id,
        actor_kind=actor.kind,
        actor_id=actor.id,
        end_user_id=change.end_user_id or actor.end_user_id,
        operation=change.operation[:100],
        object_type=ids.kind_of(object_id) if object_id else None,
        object_id=object_id,
        outcome=change.outcome,
        error_code=(change.error_code or None) and change.error_code[:64],
        created_at=at or datetime.now(UTC),
    )


async def record(actor: Actor, changes: list[Change]) -> None:
    """Write one entry per change; a failure is logged, never raised."""
    if not changes:
        return
    try:
        await AuditEntry.bulk_create([entry(actor, change) for change in changes])
    except Exception as exc:
        log.error(
            "audit entries not written for %s %s of organization %s (%s: %s)",
            actor.kind,
            actor.id,
            actor.organization_id,
            exc.__class__.__name__,
            exc,
        )


async def record_operator(
    *, organization_id: str, operation: str, object_id: str | None, workspace_id: str | None = None
) -> None:
    """An operator's change made on the command line (``weir keys create``...)."""
    await record(
        Actor(OPERATOR, organization_id),
        [Change(operation, SUCCEEDED, object_id=object_id, workspace_id=workspace_id)],
    )


async def list_entries(
    *,
    scope: Scope,
    workspace_id: str | None = None,
    actor_id: str | None = None,
    operation: str | None = None,
    object_id: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    first: int | None,
    after: str | None,
    max_page_size: int,
) -> Page[AuditEntry]:
    """Entries the caller may see, oldest first, narrowed by every filter given; ``since`` is
    inclusive and ``until`` exclusive."""
    refuse_over_long_lookups(
        {
            "filter.workspaceId": (workspace_id, 32),
            "filter.actorId": (actor_id, 32),
            "filter.operation": (operation, 100),
            "filter.objectId": (object_id, 64),
        }
    )
    since, until = assume_utc(since), assume_utc(until)
    problems = []
    if outcome is not None and outcome not in OUTCOMES:
        problems.append(FieldError("filter.outcome", f"must be one of {', '.join(OUTCOMES)}"))
    if since is not None and until is not None and since > until:
        problems.append(FieldError("filter.since", "must not be after filter.until"))
    if problems:
        raise ValidationFailed(problems)
    queryset = AuditEntry.filter(**scope.filters())
    if workspace_id is not None:
        scope.check_workspace(workspace_id)
    narrowing = {
        "workspace_id": workspace_id,
        "actor_id": actor_id,
        "operation": operation,
        "object_id": object_id,
        "outcome": outcome,
        "created_at__gte": since,
        "created_at__lt": until,
    }
    queryset = queryset.filter(**{name: value for name, value in narrowing.items() if value is not None})
    return await paginate(queryset, first=first, after=after, max_page_size=max_page_size)


async def prune_audit_log(*, now: datetime, retention_days: int, limit: int) -> int:
    """Delete at most ``limit`` entries older than ``retention_days``, oldest first."""
    doomed = list(
        await AuditEntry.filter(created_at__lt=now - timedelta(days=retention_days))
        .order_by("created_at")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not doomed:
        return 0
    return int(await AuditEntry.filter(id__in=doomed).delete())
