"""The call log: recording calls (one ``CallLog`` row each, ``call.failed`` events) and listing
them for the organization, or the one workspace of a restricted key."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from server import ids
from server.calls.metrics import CallMetrics
from server.calls.models import CallLog
from server.calls.records import FAILED, KINDS, STATUSES, Call
from server.errors import FieldError, ValidationFailed
from server.pagination import Page, paginate
from server.scope import Scope
from server.validation import assume_utc, refuse_over_long_lookups
from server.webhooks.outbox import record_event
from server.webhooks.payloads import call_payload

log = logging.getLogger("weir.calls")

# Free-text columns and their sizes (server.calls.models): a longer value is cut to fit rather
# than lose the row (Postgres refuses an over-long value; SQLite would keep it whole).
_CLIPPED = {"integration_name": 64, "action": 100, "method": 10, "path": 1000, "error_code": 64}


async def record(call: Call, *, metrics: CallMetrics | None = None) -> None:
    """Log one finished call at once (and, when it failed, its ``call.failed`` event); never
    raises. The API process goes through ``server.calls.recorder.CallRecorder``, which batches
    succeeded calls and comes here for the rest.

    The call already happened: a failure to record it is logged here, never handed back to
    the caller, whose result must not change because the log could not be written.
    """
    if metrics is not None:
        try:
            metrics.observe(call)
        except Exception:
            log.exception("could not count a %s call of %s", call.kind, call.integration_name)
    try:
        await _write(call)
    except Exception:
        log.exception(
            "could not record a %s call of %s (organization %s)",
            call.kind,
            call.integration_name,
            call.organization_id,
        )


def row(call: Call, *, at: datetime | None = None) -> CallLog:
    """The unsaved ``CallLog`` row of ``call``, ended at ``at`` (now when not given)."""
    values: dict[str, Any] = {
        "organization_id": call.organization_id,
        "workspace_id": call.workspace_id,
        "kind": call.kind,
        "integration_name": call.integration_name,
        "connection_id": call.connection_id,
        "api_key_id": call.api_key_id,
        "end_user_id": call.end_user_id,
        "action": call.action,
        "method": call.method,
        "path": call.path,
        "status": call.status,
        "http_status": call.http_status,
        "error_code": call.error_code,
        "duration_ms": call.duration_ms,
    }
    if isinstance(values["path"], str):
        # The caller should already have dropped the query string; it may hold a secret
        # (``?api_key=...``), so the log makes sure.
        values["path"] = values["path"].split("?", 1)[0].split("#", 1)[0]
    for name, limit in _CLIPPED.items():
        if isinstance(values[name], str):
            values[name] = values[name][:limit]
    return CallLog(id=ids.new_id("call"), created_at=at or datetime.now(UTC), **values)


async def write_succeeded(rows: list[CallLog]) -> None:
    """Insert rows of succeeded calls (no events) in one statement."""
    await CallLog.bulk_create(rows)


async def _write(call: Call) -> None:
    logged = row(call)
    # The row and its event commit together: an event never names a call that is not logged.
    async with in_transaction():
        await logged.save(force_create=True)
        if logged.status == FAILED:
            await record_event(
                organization_id=logged.organization_id,
                workspace_id=logged.workspace_id,
                type="call.failed",
                payload=call_payload(logged),
                object_id=logged.id,
            )


# -- listing --------------------------------------------------------------------------------


async def list_calls(
    *,
    scope: Scope,
    workspace_id: str | None = None,
    connection_id: str | None = None,
    integration_name: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    action: str | None = None,
    end_user_id: str | None = None,
    api_key_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    first: int | None,
    after: str | None,
    max_page_size: int,
) -> Page[CallLog]:
    """Calls the caller may see, oldest first, narrowed by every filter given; ``since`` is
    inclusive and ``until`` exclusive (on ``created_at``)."""
    refuse_over_long_lookups(
        {
            "filter.workspaceId": (workspace_id, 32),
            "filter.connectionId": (connection_id, 32),
            "filter.integrationName": (integration_name, 64),
            "filter.action": (action, 100),
            "filter.endUserId": (end_user_id, 32),
            "filter.apiKeyId": (api_key_id, 32),
        }
    )
    problems = [
        FieldError(field, f"must be one of {', '.join(allowed)}")
        for field, value, allowed in (("filter.kind", kind, KINDS), ("filter.status", status, STATUSES))
        if value is not None and value not in allowed
    ]
    since, until = assume_utc(since), assume_utc(until)
    if since is not None and until is not None and since > until:
        problems.append(FieldError("filter.since", "must not be after filter.until"))
    if problems:
        raise ValidationFailed(problems)
    # A restricted key sees its own workspace only; naming another is NOT_FOUND, as elsewhere.
    queryset = CallLog.filter(**scope.filters())
    if workspace_id is not None:
        scope.check_workspace(workspace_id)
    narrowing = {
        "workspace_id": workspace_id,
        "connection_id": connection_id,
        "integration_name": integration_name,
        "kind": kind,
        "status": status,
        "action": action,
        "end_user_id": end_user_id,
        "api_key_id": api_key_id,
        "created_at__gte": since,
        "created_at__lt": until,
    }
    queryset = queryset.filter(**{name: value for name, value in narrowing.items() if value is not None})
    return await paginate(queryset, first=first, after=after, max_page_size=max_page_size)
