"""What the read paths of this domain return (see server/rows.py): the models' fields, no model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.orgs.models import ApiKey, EndUser, Workspace
from server.rows import RowReader


@dataclass(slots=True)
class WorkspaceRow:
    id: str
    organization_id: str
    name: str
    display_name: str | None
    logo_url: str | None
    primary_color: str | None
    theme: str
    allowed_origins: list[Any]
    allowed_redirect_uris: list[Any]
    warehouse_url_encrypted: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class EndUserRow:
    id: str
    organization_id: str
    workspace_id: str
    external_id: str
    display_name: str | None
    email: str | None
    created_at: datetime


@dataclass(slots=True)
class ApiKeyRow:
    """An API key without its secret's hash, which no read shows."""

    id: str
    organization_id: str
    workspace_id: str | None
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


workspaces = RowReader(Workspace, WorkspaceRow)
end_users = RowReader(EndUser, EndUserRow)
api_keys = RowReader(ApiKey, ApiKeyRow)
