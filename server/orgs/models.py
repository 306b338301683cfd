"""Tenants and who may act for them: organizations, workspaces, API keys and end users."""

from __future__ import annotations

from tortoise import fields

from server.ids import new_id
from server.models import Created, OrganizationOwned, Timestamped


class Organization(Created):
    id = fields.CharField(max_length=32, primary_key=True)
    name = fields.CharField(max_length=200)

    class Meta:
        table = "organizations"

    @classmethod
    def fresh_id(cls) -> str:
        return new_id("organization")


class Workspace(OrganizationOwned, Timestamped):
    """An environment inside an organization, with the branding of its connect flow."""

    id = fields.CharField(max_length=32, primary_key=True)
    name = fields.CharField(max_length=200)
    display_name = fields.CharField(max_length=200, null=True)
    logo_url = fields.CharField(max_length=2000, null=True)
    primary_color = fields.CharField(max_length=7, null=True)
    theme = fields.CharField(max_length=8, default="LIGHT")
    allowed_origins = fields.JSONField(default=list)
    allowed_redirect_uris = fields.JSONField(default=list)
    # This workspace's own warehouse (AES-GCM ciphertext from server.crypto, this row's id as
    # associated data: the URL holds a password); unset means the deployment's warehouse.
    warehouse_url_encrypted = fields.TextField(null=True)

    class Meta:
        table = "workspaces"
        unique_together = (("organization", "name"),)


class ApiKey(OrganizationOwned, Created):
    """A secret for the GraphQL API. Only a SHA-256 of the secret is kept, plus a visible prefix."""

    id = fields.CharField(max_length=32, primary_key=True)
    workspace: fields.ForeignKeyNullableRelation[Workspace] = fields.ForeignKeyField(
        "weir.Workspace", related_name="api_keys", null=True, on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    prefix = fields.CharField(max_length=16)
    secret_hash = fields.CharField(max_length=64, unique=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"


class EndUser(OrganizationOwned, Created):
    """A customer of the host app, known by the host's own ``external_id``."""

    workspace_id: str  # the foreign key's column (typed for mypy only)
    id = fields.CharField(max_length=32, primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "weir.Workspace", related_name="end_users", on_delete=fields.CASCADE
    )
    external_id = fields.CharField(max_length=255)
    display_name = fields.CharField(max_length=255, null=True)
    email = fields.CharField(max_length=320, null=True)

    class Meta:
        table = "end_users"
        unique_together = (("workspace", "external_id"),)
        indexes = (("organization_id", "id"),)
