"""Webhook endpoints, the outbox of events, and each event's delivery to each endpoint."""

from __future__ import annotations

from tortoise import fields

from server.models import Created, OrganizationOwned, Timestamped


class WebhookEndpoint(OrganizationOwned, Timestamped):
    id = fields.CharField(max_length=32, primary_key=True)
    workspace = fields.ForeignKeyField(
        "weir.Workspace", related_name="webhook_endpoints", on_delete=fields.CASCADE
    )
    url = fields.CharField(max_length=2000)
    description = fields.CharField(max_length=500, null=True)
    event_types = fields.JSONField(default=list)
    enabled = fields.BooleanField(default=True)
    disabled_reason = fields.TextField(null=True)
    disabled_at = fields.DatetimeField(null=True)
    # AES-GCM ciphertexts from server.crypto, this row's id as associated data.
    secret_encrypted = fields.TextField()
    previous_secret_encrypted = fields.TextField(null=True)
    previous_secret_expires_at = fields.DatetimeField(null=True)
    # Continuous failure, reset by any successful delivery; long enough and it is disabled.
    failing_since = fields.DatetimeField(null=True)
    consecutive_failures = fields.IntField(default=0)

    class Meta:
        table = "webhook_endpoints"
        indexes = (("organization_id", "workspace_id"),)


class WebhookEvent(OrganizationOwned):
    """One row of the outbox, written in the transaction of the change it describes."""

    id = fields.CharField(max_length=32, primary_key=True)
    # Null for organization-wide objects (an ORGANIZATION connection): every workspace hears it.
    workspace = fields.ForeignKeyField(
        "weir.Workspace", related_name="webhook_events", null=True, on_delete=fields.CASCADE
    )
    type = fields.CharField(max_length=64)
    object_id = fields.CharField(max_length=32)
    payload = fields.JSONField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "webhook_events"
        indexes = (("organization_id", "created_at"), ("organization_id", "type"))


class WebhookDelivery(OrganizationOwned, Created):
    """One event to one endpoint: PENDING until it succeeds or is given up (FAILED)."""

    id = fields.CharField(max_length=32, primary_key=True)
    endpoint = fields.ForeignKeyField(
        "weir.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    event = fields.ForeignKeyField("weir.WebhookEvent", related_name="deliveries", on_delete=fields.CASCADE)
    # Copied from the event: the ordering key (one object's events go out in event-id order).
    object_id = fields.CharField(max_length=32)
    event_type = fields.CharField(max_length=64)
    status = fields.CharField(max_length=16, default="PENDING")
    attempt_count = fields.IntField(default=0)
    # [{"at", "statusCode", "latencyMs", "responseExcerpt", "error"}], oldest first.
    attempts = fields.JSONField(default=list)
    next_attempt_at = fields.DatetimeField()
    # When the retry window started (creation, or re-enabling the endpoint).
    window_started_at = fields.DatetimeField()
    # A dispatcher's claim: nobody else sends it until the claim expires.
    claimed_until = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=32, null=True)
    last_error = fields.TextField(null=True)
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_deliveries"
        indexes = (
            ("status", "next_attempt_at"),
            ("endpoint_id", "object_id", "status"),
            ("endpoint_id", "status"),
        )
