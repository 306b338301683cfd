"""What actions keep: the first result of each idempotency key, and the key-value store."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from server.models import Created, OrganizationOwned, Timestamped


class ActionResult(OrganizationOwned, Created):
    """The outcome of the first ``executeAction`` with an idempotency key, kept 24 hours.

    Keys are per organization; the request's fingerprint (integration, action, input, context)
    tells a retry from a different request that reuses a key by mistake.
    """

    id = fields.CharField(max_length=32, primary_key=True)
    idempotency_key = fields.CharField(max_length=255)
    fingerprint = fields.CharField(max_length=64)  # sha256 hex of the request
    # IN_PROGRESS while the first call runs; then SUCCEEDED (output kept) or FAILED (error kept).
    status = fields.CharField(max_length=16)
    output: Any = fields.JSONField(null=True)
    error_code = fields.CharField(max_length=64, null=True)
    error_message = fields.TextField(null=True)
    connection_id = fields.CharField(max_length=32, null=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "action_results"
        unique_together = (("organization", "idempotency_key"),)
        indexes = (("expires_at",),)


class KeyValueEntry(OrganizationOwned, Timestamped):
    """One key of the built-in key-value store, scoped to a workspace and (optionally) an end
    user: ``end_user_id`` is "" for the workspace's own keys, so the unique key holds."""

    id = fields.CharField(max_length=32, primary_key=True)
    workspace_id = fields.CharField(max_length=32)
    end_user_id = fields.CharField(max_length=32, default="")
    key = fields.CharField(max_length=255)
    value: Any = fields.JSONField()
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "key_value_entries"
        unique_together = (("organization", "workspace_id", "end_user_id", "key"),)
