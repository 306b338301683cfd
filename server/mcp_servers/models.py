"""An MCP server (which actions of a workspace it exposes) and its tokens (hashed, like API keys)."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from server.models import Created, OrganizationOwned, Timestamped


class McpServer(OrganizationOwned, Timestamped):
    """What one MCP endpoint exposes: ``integrations`` (names), optionally narrowed to
    ``actions`` (``integration.action``; empty means every action of those integrations), and
    ``read_only`` (only actions declared read-only)."""

    id = fields.CharField(max_length=32, primary_key=True)
    workspace_id = fields.CharField(max_length=32)
    name = fields.CharField(max_length=200)
    integrations: Any = fields.JSONField(default=list)
    actions: Any = fields.JSONField(default=list)
    read_only = fields.BooleanField(default=False)

    class Meta:
        table = "mcp_servers"
        indexes = (("organization_id", "workspace_id"),)


class McpToken(OrganizationOwned, Created):
    """A bearer token for one MCP server, for one end user (or the workspace when none).
    Only a SHA-256 of the secret is kept, plus a visible prefix."""

    id = fields.CharField(max_length=32, primary_key=True)
    mcp_server_id = fields.CharField(max_length=32)
    workspace_id = fields.CharField(max_length=32)
    end_user_id = fields.CharField(max_length=32, null=True)
    name = fields.CharField(max_length=200)
    prefix = fields.CharField(max_length=16)
    secret_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mcp_tokens"
        indexes = (("organization_id", "mcp_server_id"),)
