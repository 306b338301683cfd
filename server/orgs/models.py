"""Tenants and who may act for them: organizations, workspaces, API keys and end users."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from server.ids import new_id


class Organization(Model):
    id = fields.CharField(max_length=32, primary_key=True)
    name = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organizations"

    @classmethod
    def fresh_id(cls) -> str:
        return new_id("organization")


class Workspace(Model):
    """An environment inside an organization, with the branding of its connect flow."""

    id = fields.CharField(max_length=32, primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "weir.Organization", related_name="workspaces", on_delete=fields.CASCADE
    )
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
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "workspaces"
        unique_together = (("organization", "name"),)


class ApiKey(Model):
    """A secret for the GraphQL API. Only a SHA-256 of the secret is kept, plus a visible prefix."""

    id = fields.CharField(max_length=32, primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "weir.Organization", related_name="api_keys", on_delete=fields.CASCADE
    )
    workspace: fields.ForeignKeyNullableRelation[Workspace] = fields.ForeignKeyField(
        "weir.Workspace", related_name="api_keys", null=True, on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    prefix = fields.CharField(max_length=16)
    secret_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"


class EndUser(Model):
    """A customer of the host app, known by the host's own ``external_id``."""

    id = fields.CharField(max_length=32, primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "weir.Organization", related_name="end_users", on_delete=fields.CASCADE
    )
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "weir.Workspace", related_name="end_users", on_delete=fields.CASCADE
    )
    external_id = fields.CharField(max_length=255)
    display_name = fields.CharField(max_length=255, null=True)
    email = fields.CharField(max_length=320, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "end_users"
        unique_together = (("workspace", "external_id"),)
        indexes = (("organization_id", "id"),)
