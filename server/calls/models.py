"""One row per action or proxy call: who made it, with which connection, and how it ended."""

from __future__ import annotations

from tortoise import fields

from server.models import Created, OrganizationOwned


class CallLog(OrganizationOwned, Created):
    """Never a request or response body, a query string or a header: they may hold secrets."""

    id = fields.CharField(max_length=32, primary_key=True)
    workspace_id = fields.CharField(max_length=32, null=True)
    kind = fields.CharField(max_length=16)  # ACTION | PROXY
    integration_name = fields.CharField(max_length=64)
    connection_id = fields.CharField(max_length=32, null=True)
    # Who called: the API key, and the end user the call was made for (when one was named).
    api_key_id = fields.CharField(max_length=32, null=True)
    end_user_id = fields.CharField(max_length=32, null=True)
    action = fields.CharField(max_length=100, null=True)  # ACTION calls
    method = fields.CharField(max_length=10, null=True)  # PROXY calls
    path = fields.CharField(max_length=1000, null=True)  # PROXY calls, without the query
    status = fields.CharField(max_length=16)  # SUCCEEDED | FAILED
    http_status = fields.IntField(null=True)  # the provider's answer, when there was one
    error_code = fields.CharField(max_length=64, null=True)
    duration_ms = fields.IntField()

    class Meta:
        table = "call_log"
        indexes = (
            ("organization_id", "created_at"),
            ("organization_id", "connection_id", "created_at"),
            ("created_at",),
        )
