"""A stored set of credentials for one integration."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from server.models import OrganizationOwned, Timestamped


class Connection(OrganizationOwned, Timestamped):
    workspace_id: str | None  # the foreign key's column (typed for mypy only)
    end_user_id: str | None  # likewise
    id = fields.CharField(max_length=32, primary_key=True)
    workspace = fields.ForeignKeyField(
        "weir.Workspace", related_name="connections", null=True, on_delete=fields.CASCADE
    )
    end_user = fields.ForeignKeyField(
        "weir.EndUser", related_name="connections", null=True, on_delete=fields.CASCADE
    )
    integration_name = fields.CharField(max_length=64)
    auth_type = fields.CharField(max_length=32)
    scope = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=255, null=True)
    display_name = fields.CharField(max_length=255, null=True)
    status = fields.CharField(max_length=16, default="ACTIVE")
    status_reason = fields.TextField(null=True)
    # AES-GCM ciphertext from server.crypto (key id inside, this row's id as associated data).
    credentials_encrypted = fields.TextField(null=True)
    credential_preview = fields.CharField(max_length=64, null=True)
    expires_at = fields.DatetimeField(null=True)
    last_refreshed_at = fields.DatetimeField(null=True)
    # Held by the one process refreshing the OAuth token (server.integrations.refresh), until
    # then at the latest: a refresh token rotated by two processes at once can end the grant.
    refresh_lease_until = fields.DatetimeField(null=True)
    # Per-connection parameters (a Shopify shop, a Zendesk subdomain, Salesforce's instance_url):
    # not secret, so plain JSON, shown in the API; they fill the integration's {placeholders}.
    parameters: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict, db_default={})
    # Health (issue #17): WORKING | DEGRADED (transient: network, timeouts, 5xx) |
    # NEEDS_REAUTHORIZATION | MISSING_SCOPES, why, and when it was and will next be checked.
    health = fields.CharField(max_length=32, default="WORKING", db_default="WORKING")
    health_reason = fields.TextField(null=True)
    health_changed_at = fields.DatetimeField(null=True)
    last_checked_at = fields.DatetimeField(null=True)
    next_check_at = fields.DatetimeField(null=True)
    # Transient failures in a row (the backoff of a DEGRADED connection's next check).
    check_failures = fields.IntField(default=0, db_default=0)
    # The scopes the provider granted (OAuth), when it said; None when unknown.
    granted_scopes: fields.JSONField[list[str] | None] = fields.JSONField(null=True)
    # The reconnect session kept ready while the connection NEEDS_REAUTHORIZATION.
    reconnect_session_id = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "connections"
        indexes = (
            ("organization_id", "integration_name"),
            ("workspace_id", "integration_name", "external_id"),
            ("end_user_id", "integration_name"),
            ("expires_at",),
            ("next_check_at",),
        )
