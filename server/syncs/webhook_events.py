"""A sync's and a sync run's webhook events: what they carry and when they are written.

Both go through the webhooks outbox (``server.webhooks.outbox.record_event``), inside the
transaction of the change. Payloads use the GraphQL API's field names and never carry Weir's
reserved settings (such as the salt of hashed columns).
"""

from __future__ import annotations

from typing import Any

from server.syncs.settings import connector_settings
from server.webhooks.models import WebhookEvent
from server.webhooks.outbox import record_event
from server.webhooks.payloads import timestamp

# Which status of a sync run is worth an event, and which.
SYNC_RUN_EVENTS = {
    "RUNNING": "sync_run.started",
    "SUCCEEDED": "sync_run.succeeded",
    "FAILED": "sync_run.failed",
    "CANCELLED": "sync_run.cancelled",
}


def sync_run_payload(run: Any) -> dict[str, Any]:
    """A sync run as the GraphQL ``SyncRun`` type shows it, per-stream counts included."""
    streams = [
        {
            "name": name,
            "status": stats.get("status", "PENDING"),
            "rowsLoaded": int(stats.get("rowsLoaded", 0)),
            "rowsInserted": int(stats.get("rowsInserted", 0)),
            "rowsUpdated": int(stats.get("rowsUpdated", 0)),
            "rowsDeleted": int(stats.get("rowsDeleted", 0)),
            "batches": int(stats.get("batches", 0)),
            "error": stats.get("error"),
            "widenedColumns": list(stats.get("widenedColumns", [])),
            "blockedColumns": list(stats.get("blockedColumns", [])),
        }
        for name, stats in (run.stream_stats or {}).items()
    ]
    return {
        "id": run.id,
        "syncId": run.sync_id,
        "trigger": run.trigger,
        "status": run.status,
        "fullRefresh": run.full_refresh,
        "attempt": run.attempt,
        "error": run.error,
        "cancelRequested": run.cancel_requested,
        "queuedAt": timestamp(run.queued_at),
        "startedAt": timestamp(run.started_at),
        "finishedAt": timestamp(run.finished_at),
        "heartbeatAt": timestamp(run.heartbeat_at),
        "stuckAt": timestamp(run.stuck_at),
        "streams": streams,
        "rowsLoaded": sum(stream["rowsLoaded"] for stream in streams),
        "rowsInserted": sum(stream["rowsInserted"] for stream in streams),
        "rowsUpdated": sum(stream["rowsUpdated"] for stream in streams),
        "rowsDeleted": sum(stream["rowsDeleted"] for stream in streams),
    }


def elt_sync_payload(sync: Any) -> dict[str, Any]:
    """An ELT sync as the GraphQL ``EltSync`` type shows it (never Weir's reserved settings)."""
    return {
        "id": sync.id,
        "connectionId": sync.connection_id,
        "workspaceId": sync.workspace_id,
        "destinationSchemaName": sync.destination_schema,
        "settings": connector_settings(sync.settings),
        "syncInterval": sync.sync_interval,
        "timezone": sync.timezone,
        "schemaChangePolicy": sync.schema_change_policy,
        "enabled": sync.enabled,
        "nextRunAt": timestamp(sync.next_run_at),
        "deleteDetection": sync.delete_detection,
        "reconcileInterval": sync.reconcile_interval,
        "nextReconcileAt": timestamp(sync.next_reconcile_at),
        "createdAt": timestamp(sync.created_at),
        "updatedAt": timestamp(sync.updated_at),
    }


async def record_sync_run(run: Any, *, workspace_id: str | None) -> WebhookEvent | None:
    """``sync_run.started`` / ``.succeeded`` / ``.failed`` / ``.cancelled`` for a run now there."""
    event_type = SYNC_RUN_EVENTS.get(run.status)
    if event_type is None:
        return None
    return await record_event(
        organization_id=run.organization_id,
        workspace_id=workspace_id,
        type=event_type,
        payload=sync_run_payload(run),
        object_id=run.id,
    )


async def record_sync_run_stuck(run: Any, *, workspace_id: str | None) -> WebhookEvent:
    """``sync_run.stuck``, once, when the stuck scan marks a run."""
    return await record_event(
        organization_id=run.organization_id,
        workspace_id=workspace_id,
        type="sync_run.stuck",
        payload=sync_run_payload(run),
        object_id=run.id,
    )


async def record_elt_sync_updated(sync: Any) -> WebhookEvent:
    """``elt_sync.updated`` with the sync as it is now."""
    return await record_event(
        organization_id=sync.organization_id,
        workspace_id=sync.workspace_id,
        type="elt_sync.updated",
        payload=elt_sync_payload(sync),
        object_id=sync.id,
    )
