"""Event types, and each object as its webhook payload: the GraphQL API's field names, no secret.

Connections carry their masked ``credentialPreview`` only, never credentials. Connect sessions
never carry their token, OAuth state or PKCE verifier. Syncs and their runs are shaped by
``server.syncs.webhook_events`` (syncs sit above webhooks and know their reserved settings).
Calls carry what the call log keeps: never a body, a query string or a header.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

EVENT_TYPES = (
    "connection.created",
    "connection.status_changed",
    "connection.health_changed",
    "connection.deleted",
    "connect_session.completed",
    "connect_session.failed",
    "sync_run.started",
    "sync_run.succeeded",
    "sync_run.failed",
    "sync_run.cancelled",
    "sync_run.stuck",
    "elt_sync.updated",
    "call.failed",
)


def timestamp(value: datetime | None) -> str | None:
    """A payload's date-time: ISO 8601, or null."""
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
        "health": connection.health,
        "healthReason": connection.health_reason,
        "lastCheckedAt": timestamp(connection.last_checked_at),
        "nextCheckAt": timestamp(connection.next_check_at),
        "credentialPreview": connection.credential_preview,
        "expiresAt": timestamp(connection.expires_at),
        "lastRefreshedAt": timestamp(connection.last_refreshed_at),
        "createdAt": timestamp(connection.created_at),
        "updatedAt": timestamp(connection.updated_at),
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
        "expiresAt": timestamp(session.expires_at),
        "createdAt": timestamp(session.created_at),
        "updatedAt": timestamp(session.updated_at),
    }


def call_payload(call: Any) -> dict[str, Any]:
    """A call-log row as the GraphQL ``CallLogEntry`` type shows it."""
    return {
        "id": call.id,
        "kind": call.kind,
        "integrationName": call.integration_name,
        "connectionId": call.connection_id,
        "workspaceId": call.workspace_id,
        "apiKeyId": call.api_key_id,
        "endUserId": call.end_user_id,
        "action": call.action,
        "method": call.method,
        "path": call.path,
        "status": call.status,
        "httpStatus": call.http_status,
        "errorCode": call.error_code,
        "durationMs": call.duration_ms,
        "createdAt": timestamp(call.created_at),
    }
