from datetime import datetime
from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import (
    ConnectionHealth,
    ConnectionStatus,
    DeleteDetection,
    SchemaChangePolicy,
    SyncMode,
    SyncRunStatus,
)


class ConnectionFilter(BaseModel):
    """Narrows `connections`; every given field must match."""

    integration_name: Optional[str] = Field(alias="integrationName", default=None)
    "Integration name."
    workspace_id: Optional[str] = Field(alias="workspaceId", default=None)
    "Workspace."
    end_user_id: Optional[str] = Field(alias="endUserId", default=None)
    "End user."
    external_id: Optional[str] = Field(alias="externalId", default=None)
    "Your external id."
    status: Optional[ConnectionStatus] = None
    "Status."
    health: Optional[ConnectionHealth] = None
    "Health."


class CreateConnectSessionInput(BaseModel):
    """A new connect session."""

    workspace_id: str = Field(alias="workspaceId")
    "Workspace of the session."
    integration_name: Optional[str] = Field(alias="integrationName", default=None)
    "Offer only this integration (skips the picker)."
    allowed_integrations: Optional[list[str]] = Field(
        alias="allowedIntegrations", default=None
    )
    "Offer these integrations; default: every usable one."
    end_user_id: Optional[str] = Field(alias="endUserId", default=None)
    "The end user connecting."
    end_user_external_id: Optional[str] = Field(alias="endUserExternalId", default=None)
    "The end user by the host's id; created if new."
    end_user_display_name: Optional[str] = Field(
        alias="endUserDisplayName", default=None
    )
    "Display name for an end user created here."
    connection_name: Optional[str] = Field(alias="connectionName", default=None)
    "Display name of the new connection."
    external_id: Optional[str] = Field(alias="externalId", default=None)
    "External id of the new connection."
    redirect_uri: Optional[str] = Field(alias="redirectUri", default=None)
    "Redirect flow: return here with `connection_id` and `session_id`; must be exactly one of the workspace's `allowedRedirectUris`."
    reconnect_connection_id: Optional[str] = Field(
        alias="reconnectConnectionId", default=None
    )
    "Re-authorise this existing connection (same id, syncs kept)."
    parameters: Optional[Any] = None
    'Preset some or all of the integration\'s parameters (`{"shop": "acme"}`), checked against its `parametersSchema`; needs `integrationName` (or a reconnect, which starts from the connection\'s). The page asks only for the others.'


class CreateEltSyncInput(BaseModel):
    """A new ELT sync; it starts disabled."""

    connection_id: str = Field(alias="connectionId")
    "The source connection."
    destination_schema_name: str = Field(alias="destinationSchemaName")
    "Lower-case SQL identifier of the destination schema."
    sync_interval: str = Field(alias="syncInterval")
    "Cron expression, e.g. `0 * * * *`."
    settings: Optional[Any] = None
    "ELT settings, valid for `connectionSettingsSchema`; omitted or null is `{}`."
    timezone: str = "UTC"
    "IANA timezone of the cron."
    schema_change_policy: SchemaChangePolicy = Field(
        alias="schemaChangePolicy", default=SchemaChangePolicy.ALLOW_ALL
    )
    "What to do with new source fields."
    source_streams: list["SourceStreamInput"] = Field(
        alias="sourceStreams", default_factory=lambda: []
    )
    "Streams to copy (more can be added later)."
    delete_detection: DeleteDetection = Field(
        alias="deleteDetection", default=DeleteDetection.OFF
    )
    "How rows deleted at the source are marked."
    reconcile_interval: Optional[str] = Field(alias="reconcileInterval", default=None)
    "Cron of the reconciliation pass (null: daily at 03:00)."


class EltSyncFilter(BaseModel):
    """Which syncs to list."""

    workspace_id: Optional[str] = Field(alias="workspaceId", default=None)
    "Only this workspace's."
    connection_id: Optional[str] = Field(alias="connectionId", default=None)
    "Only this connection's."
    enabled: Optional[bool] = None
    "Only (not) enabled ones."


class ExecuteActionInput(BaseModel):
    """One action to run. The connection is chosen as `resolveConnection` chooses it: `connectionId` or `connectionExternalId`, then the workspace integration's strategy, then the end user's connection, else `CONNECTION_REQUIRED`; integrations that need no connection (the built-ins) use none."""

    integration_name: str = Field(alias="integrationName")
    "The integration, e.g. `slack`."
    action: str
    "The action's name, from `Integration.actions`."
    input: Any
    "The action's input: a JSON object valid against its `inputSchema` (at most 256 KB as JSON, 32 levels deep)."
    workspace_id: str = Field(alias="workspaceId")
    "The workspace the call is made for."
    end_user_id: Optional[str] = Field(alias="endUserId", default=None)
    "The end user the call is made for, by id."
    end_user_external_id: Optional[str] = Field(alias="endUserExternalId", default=None)
    "The end user the call is made for, by your external id."
    connection_id: Optional[str] = Field(alias="connectionId", default=None)
    "An explicit connection; wins over every other rule."
    connection_external_id: Optional[str] = Field(
        alias="connectionExternalId", default=None
    )
    "An explicit connection by its external id; wins over the strategy."
    idempotency_key: Optional[str] = Field(alias="idempotencyKey", default=None)
    "At most 255 characters. For 24 hours, a repeat with this key and the same request returns the first result without calling the provider again (`replayed`); with a different request it is `CONFLICT`."


class ResolveConnectionInput(BaseModel):
    """What to resolve a connection for."""

    workspace_id: str = Field(alias="workspaceId")
    "The workspace asking."
    integration_name: str = Field(alias="integrationName")
    "The integration, e.g. `hubspot`."
    end_user_id: Optional[str] = Field(alias="endUserId", default=None)
    "The end user, by id."
    end_user_external_id: Optional[str] = Field(alias="endUserExternalId", default=None)
    "The end user, by your external id."
    external_id: Optional[str] = Field(alias="externalId", default=None)
    "An explicit connection external id; wins over the strategy."
    connection_id: Optional[str] = Field(alias="connectionId", default=None)
    "An explicit connection id; wins over every rule (another integration's, workspace's or end user's connection is rejected)."


class SourceStreamInput(BaseModel):
    """A stream to copy and how."""

    name: str
    "Stream name, from the integration's `streams`."
    sync_mode: SyncMode = Field(alias="syncMode")
    "Must be one the stream supports."
    excluded_columns: list[str] = Field(
        alias="excludedColumns", default_factory=lambda: []
    )
    "Columns never loaded."
    hashed_columns: list[str] = Field(alias="hashedColumns", default_factory=lambda: [])
    "Columns loaded as a salted SHA-256."


class SyncRunFilter(BaseModel):
    """Which runs to list; every field given narrows the list."""

    status: Optional[list[SyncRunStatus]] = None
    "Only runs in one of these statuses (e.g. `[FAILED]`)."
    workspace_id: Optional[str] = Field(alias="workspaceId", default=None)
    "Only this workspace's syncs."
    connection_id: Optional[str] = Field(alias="connectionId", default=None)
    "Only the syncs of this connection."
    since: Optional[datetime] = None
    "Queued at or after this time (UTC when no offset is given)."
    until: Optional[datetime] = None
    "Queued before this time (UTC when no offset is given)."


CreateEltSyncInput.model_rebuild()
