"""How one workspace uses one integration of the catalog (its OAuth app, its resolution rule)."""

from __future__ import annotations

from tortoise import fields

from server.models import OrganizationOwned, Timestamped


class WorkspaceIntegration(OrganizationOwned, Timestamped):
    id = fields.CharField(max_length=32, primary_key=True)
    workspace = fields.ForeignKeyField(
        "weir.Workspace", related_name="integrations", on_delete=fields.CASCADE
    )
    integration_name = fields.CharField(max_length=64)
    enabled = fields.BooleanField(default=True)
    strategy = fields.CharField(max_length=32, default="PER_USER")
    fixed_connection = fields.ForeignKeyField(
        "weir.Connection", related_name=None, null=True, on_delete=fields.SET_NULL
    )
    oauth_client_id = fields.CharField(max_length=500, null=True)
    # AES-GCM ciphertext from server.crypto; never the plaintext secret.
    oauth_client_secret_encrypted = fields.TextField(null=True)
    scopes = fields.JSONField(null=True)

    class Meta:
        table = "workspace_integrations"
        unique_together = (("workspace", "integration_name"),)
