from datetime import datetime
from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import (
    AuthType,
    ConnectionHealth,
    ConnectionScope,
    ConnectionStatus,
    ConnectSessionStatus,
    SchemaChangePolicy,
    SyncMode,
    SyncRunStatus,
    SyncRunTrigger,
)


class ConnectSessionFields(BaseModel):
    id: str
    status: ConnectSessionStatus
    allowed_integrations: list[str] = Field(alias="allowedIntegrations")
    integration_name: Optional[str] = Field(alias="integrationName")
    connection_id: Optional[str] = Field(alias="connectionId")
    error_code: Optional[str] = Field(alias="errorCode")
    error_message: Optional[str] = Field(alias="errorMessage")
    expires_at: datetime = Field(alias="expiresAt")


class ConnectionFields(BaseModel):
    id: str
    integration_name: str = Field(alias="integrationName")
    auth_type: AuthType = Field(alias="authType")
    scope: ConnectionScope
    external_id: Optional[str] = Field(alias="externalId")
    display_name: Optional[str] = Field(alias="displayName")
    status: ConnectionStatus
    status_reason: Optional[str] = Field(alias="statusReason")
    health: ConnectionHealth
    credential_preview: Optional[str] = Field(alias="credentialPreview")
    expires_at: Optional[datetime] = Field(alias="expiresAt")
    parameters: Any
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")
    workspace: Optional["ConnectionFieldsWorkspace"]
    end_user: Optional["ConnectionFieldsEndUser"] = Field(alias="endUser")


class ConnectionFieldsWorkspace(BaseModel):
    id: str


class ConnectionFieldsEndUser(BaseModel):
    id: str
    external_id: str = Field(alias="externalId")


class SyncRunFields(BaseModel):
    id: str
    sync_id: str = Field(alias="syncId")
    trigger: SyncRunTrigger
    status: SyncRunStatus
    full_refresh: bool = Field(alias="fullRefresh")
    attempt: int
    error: Optional[str]
    queued_at: datetime = Field(alias="queuedAt")
    started_at: Optional[datetime] = Field(alias="startedAt")
    finished_at: Optional[datetime] = Field(alias="finishedAt")
    rows_loaded: int = Field(alias="rowsLoaded")
    rows_inserted: int = Field(alias="rowsInserted")
    rows_updated: int = Field(alias="rowsUpdated")


class EltSyncFields(BaseModel):
    id: str
    connection_id: str = Field(alias="connectionId")
    workspace_id: Optional[str] = Field(alias="workspaceId")
    destination_schema_name: str = Field(alias="destinationSchemaName")
    settings: Any
    sync_interval: str = Field(alias="syncInterval")
    timezone: str
    schema_change_policy: SchemaChangePolicy = Field(alias="schemaChangePolicy")
    enabled: bool
    next_run_at: Optional[datetime] = Field(alias="nextRunAt")
    source_streams: list["EltSyncFieldsSourceStreams"] = Field(alias="sourceStreams")
    last_run: Optional["EltSyncFieldsLastRun"] = Field(alias="lastRun")


class EltSyncFieldsSourceStreams(BaseModel):
    name: str
    sync_mode: SyncMode = Field(alias="syncMode")


class EltSyncFieldsLastRun(SyncRunFields):
    pass


class PageInfoFields(BaseModel):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: Optional[str] = Field(alias="endCursor")


ConnectSessionFields.model_rebuild()
ConnectionFields.model_rebuild()
SyncRunFields.model_rebuild()
EltSyncFields.model_rebuild()
PageInfoFields.model_rebuild()
