"""Event types, and each object as its webhook payload: the GraphQL API's field names, no secret.

Connections carry their masked ``credentialPreview`` only, never credentials. Connect sessions
never carry their token, OAuth state or PKCE verifier. Syncs never carry Weir's reserved
settings (such as the salt of hashed columns).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.syncs.settings import connector_settings

EVENT_TYPES = (
    "connection.created",
    "connection.status_changed",
    "connection.deleted",
    "connect_session.completed",
    "connect_session.failed",
    "sync_run.started",
    "sync_run.succeeded",
    "sync_run.failed",
    "sync_run.cancelled",
    "elt_sync.updated",
)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def connection_payload(connection: Any) -> dict[str, Any]:
    """A connection as the GraphQL ``Connection`` type shows it."""
    return {
        "id": connection.id,
        "integrationName": connection.integration_name,
        "authType": connection.auth_type,
        "scope": connection.scope,
        "externalId": connection.external_id,
        "displayName": connection.display_name,
        "status": connection.status,
        "statusReason": connection.status_reason,
        "credentialPreview": connection.credential_preview,
        "expiresAt": _time(connection.expires_at),
        "lastRefreshedAt": _time(connection.last_refreshed_at),
        "createdAt": _time(connection.created_at),
        "updatedAt": _time(connection.updated_at),
        "workspaceId": connection.workspace_id,
        "endUserId": connection.end_user_id,
    }


def connect_session_payload(session: Any) -> dict[str, Any]:
    """A connect session without its token, OAuth state or verifier."""
    return {
        "id": session.id,
        "status": session.status,
        "workspaceId": session.workspace_id,
        "endUserId": session.end_user_id,
        "allowedIntegrations": list(session.allowed_integrations or []),
        "integrationName": session.integration_name,
        "connectionName": session.connection_name,
        "externalId": session.external_id,
        "redirectUri": session.redirect_uri,
        "connectionId": session.connection_id,
        "errorCode": session.error_code,
        "errorMessage": session.error_message,
        "expiresAt": _time(session.expires_at),
        "createdAt": _time(session.created_at),
        "updatedAt": _time(session.updated_at),
    }


def sync_run_payload(run: Any) -> dict[str, Any]:
    """A sync run as the GraphQL ``SyncRun`` type shows it, per-stream counts included."""
    streams = [
        {"name": name, "status": stats.get("status", "PENDING"),
         "rowsLoaded": int(stats.get("rowsLoaded", 0)), "batches": int(stats.get("batches", 0)),
         "error": stats.get("error"), "widenedColumns": list(stats.get("widenedColumns", [])),
         "blockedColumns": list(stats.get("blockedColumns", []))}
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
        "queuedAt": _time(run.queued_at),
        "startedAt": _time(run.started_at),
        "finishedAt": _time(run.finished_at),
        "heartbeatAt": _time(run.heartbeat_at),
        "streams": streams,
        "rowsLoaded": sum(stream["rowsLoaded"] for stream in streams),
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
        "nextRunAt": _time(sync.next_run_at),
        "createdAt": _time(sync.created_at),
        "updatedAt": _time(sync.updated_at),
    }
