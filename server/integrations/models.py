"""How one workspace uses one integration (its OAuth app, its endpoints, its resolution rule),
and the custom integrations an organization registered."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from server.models import OrganizationOwned, Timestamped


class WorkspaceIntegration(OrganizationOwned, Timestamped):
    workspace_id: str  # the foreign key's column (typed for mypy only)
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
    # Endpoint overrides (GitHub Enterprise, self-hosted GitLab, a provider's sandbox): NULL
    # keeps the integration's own. They may use the same {placeholders} as the originals.
    authorization_url = fields.CharField(max_length=2000, null=True)
    token_url = fields.CharField(max_length=2000, null=True)
    revocation_url = fields.CharField(max_length=2000, null=True)
    api_base_url = fields.CharField(max_length=2000, null=True)
    # The proxy policy: which HTTP methods and which path prefixes (under the API base URL)
    # ``/proxy`` may use with this integration in this workspace; NULL allows every one.
    proxy_methods: Any = fields.JSONField(null=True)
    proxy_path_prefixes: Any = fields.JSONField(null=True)

    class Meta:
        table = "workspace_integrations"
        unique_together = (("workspace", "integration_name"),)


class CustomIntegration(OrganizationOwned, Timestamped):
    """An integration a host registered through the API, in the declarative connector format.

    Visible to its organization only: to one workspace, or (workspace NULL) to every workspace
    of the organization. Its name is unique in the organization and never a catalog name, so
    a connection's ``integration_name`` still names exactly one integration.
    """

    workspace_id: str | None  # the foreign key's column (typed for mypy only)
    id = fields.CharField(max_length=32, primary_key=True)
    workspace: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "weir.Workspace", related_name="custom_integrations", null=True, on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=64)
    # The definition as the host sent it (validated by server.connectors.definition).
    definition: Any = fields.JSONField()

    class Meta:
        table = "custom_integrations"
        unique_together = (("organization", "name"),)
