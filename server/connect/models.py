"""One run of the hosted connect flow, reachable only through its short-lived token."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from server.models import OrganizationOwned, Timestamped


class ConnectSession(OrganizationOwned, Timestamped):
    workspace_id: str  # the foreign key's column (typed for mypy only)
    id = fields.CharField(max_length=32, primary_key=True)
    workspace = fields.ForeignKeyField(
        "weir.Workspace", related_name="connect_sessions", on_delete=fields.CASCADE
    )
    end_user = fields.ForeignKeyField(
        "weir.EndUser", related_name="connect_sessions", null=True, on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    status = fields.CharField(max_length=16, default="PENDING")
    allowed_integrations = fields.JSONField(default=list)
    integration_name = fields.CharField(max_length=64, null=True)
    connection_name = fields.CharField(max_length=255, null=True)
    external_id = fields.CharField(max_length=255, null=True)
    redirect_uri = fields.CharField(max_length=2000, null=True)
    reconnect_connection = fields.ForeignKeyField(
        "weir.Connection", related_name=None, null=True, on_delete=fields.SET_NULL
    )
    connection = fields.ForeignKeyField(
        "weir.Connection", related_name="connect_sessions", null=True, on_delete=fields.SET_NULL
    )
    connection_id: str | None  # the foreign key's column (typed for mypy only)
    error_code = fields.CharField(max_length=64, null=True)
    error_message = fields.TextField(null=True)
    # OAuth2 in flight: a hash of the single-use state, and the PKCE verifier encrypted.
    oauth_state_hash = fields.CharField(max_length=64, null=True, unique=True)
    oauth_verifier_encrypted = fields.TextField(null=True)
    # Parameters the host app preset (the end user may not change them), and those of the
    # OAuth flow in flight (presets and what the end user typed, as startOAuth checked them).
    parameters: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict, db_default={})
    oauth_parameters: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "connect_sessions"
        indexes = (("organization_id", "workspace_id"),)
