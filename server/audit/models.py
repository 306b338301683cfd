"""One row per GraphQL mutation: who, what, on which object, how it ended; never a secret or an
input value."""

from __future__ import annotations

from tortoise import fields

from server.models import Created, OrganizationOwned


class AuditEntry(OrganizationOwned, Created):
    id = fields.CharField(max_length=32, primary_key=True)
    workspace_id = fields.CharField(max_length=32, null=True)
    # Who: API_KEY (actor_id is the key's id) | CONNECT_TOKEN (the connect session's id) |
    # OPERATOR (the command line); the end user the call was made for, when there is one.
    actor_kind = fields.CharField(max_length=16)
    actor_id = fields.CharField(max_length=32, null=True)
    end_user_id = fields.CharField(max_length=32, null=True)
    operation = fields.CharField(max_length=100)  # the mutation's field name
    object_type = fields.CharField(max_length=32, null=True)
    object_id = fields.CharField(max_length=64, null=True)
    outcome = fields.CharField(max_length=16)  # SUCCEEDED | FAILED
    error_code = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "audit_log"
        indexes = (("organization_id", "created_at"), ("created_at",))
