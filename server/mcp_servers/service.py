"""MCP servers and their tokens: create, change, delete, mint (shown once), revoke, authenticate.

A token is ``weir_mcp_`` + 256 random bits; only its SHA-256 is kept (as for API keys: the
secret has too much entropy to brute-force, and a fast hash keeps each request cheap).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from server import ids
from server.config import Settings
from server.errors import FieldError, NotFound, Unauthenticated, ValidationFailed
from server.integrations import catalog
from server.mcp_servers.models import McpServer, McpToken
from server.orgs import service as orgs
from server.orgs.models import EndUser
from server.scope import Scope
from server.validation import check_text

TOKEN_PREFIX = "weir_mcp_"
VISIBLE_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6
MAX_TOKEN_LENGTH = 200
MAX_EXPOSED = 100
MAX_TTL_SECONDS = 366 * 24 * 3600


@dataclass(frozen=True)
class NewMcpToken:
    token: McpToken
    secret: str  # returned to the caller once, never stored


@dataclass(frozen=True)
class McpPrincipal:
    """Who an MCP request acts for: the token, its server, its end user (None: the workspace)."""

    token: McpToken
    server: McpServer
    end_user: EndUser | None

    @property
    def scope(self) -> Scope:
        return Scope(organization_id=self.token.organization_id, workspace_id=self.token.workspace_id)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _id_lookup(field: str, value: str) -> None:
    if len(value) > 32:
        raise ValidationFailed.field(field, "must be at most 32 characters")


async def _check_exposure(
    *, scope: Scope, settings: Settings, workspace_id: str, integrations: list[str], actions: list[str]
) -> tuple[list[str], list[str]]:
    """The exposed integrations and actions, each named and known to the workspace."""
    problems: list[FieldError] = []
    if len(integrations) > MAX_EXPOSED:
        raise ValidationFailed.field("input.integrations", f"at most {MAX_EXPOSED} integrations")
    if len(actions) > MAX_EXPOSED:
        raise ValidationFailed.field("input.actions", f"at most {MAX_EXPOSED} actions")
    names = list(dict.fromkeys(integrations))
    connectors: dict[str, Any] = {}
    for index, name in enumerate(names):
        if len(name) > 64 or not await catalog.is_visible(
            organization_id=scope.organization_id, workspace_id=workspace_id, name=name
        ):
            problems.append(
                FieldError(
                    f"input.integrations.{index}", f"{name[:64]!r} is not an integration of this workspace"
                )
            )
            continue
        connectors[name] = await catalog.connector_for(
            settings=settings, organization_id=scope.organization_id, workspace_id=workspace_id, name=name
        )
    for index, full in enumerate(dict.fromkeys(actions)):
        integration, _, action = full.partition(".")
        field = f"input.actions.{index}"
        if len(full) > 200 or not action:
            problems.append(FieldError(field, "must be integration.action, e.g. slack.send_message"))
        elif integration not in connectors:
            problems.append(FieldError(field, f"{integration[:64]!r} is not one of input.integrations"))
        elif connectors[integration].SPEC.action(action) is None:
            problems.append(FieldError(field, f"{integration} has no action named {action[:64]!r}"))
    if problems:
        raise ValidationFailed(problems)
    return names, list(dict.fromkeys(actions))


async def create_mcp_server(
    *,
    scope: Scope,
    settings: Settings,
    workspace_id: str,
    name: str,
    integrations: list[str],
    actions: list[str] | None = None,
    read_only: bool = False,
) -> McpServer:
    _id_lookup("input.workspaceId", workspace_id)
    problem = check_text("input.name", name, max_length=200)
    if problem:
        raise ValidationFailed(problem)
    workspace = await orgs.get_workspace(scope=scope, workspace_id=workspace_id)
    names, exposed = await _check_exposure(
        scope=scope,
        settings=settings,
        workspace_id=workspace.id,
        integrations=integrations,
        actions=actions or [],
    )
    return await McpServer.create(
        id=ids.new_id("mcp_server"),
        organization_id=scope.organization_id,
        workspace_id=workspace.id,
        name=name.strip(),
        integrations=names,
        actions=exposed,
        read_only=read_only,
    )


async def get_mcp_server(*, scope: Scope, server_id: str) -> McpServer:
    _id_lookup("id", server_id)
    found = await McpServer.filter(id=server_id, **scope.filters()).first()
    if found is None:
        raise NotFound("MCP server", server_id)
    return found


async def list_mcp_servers(*, scope: Scope, workspace_id: str | None = None) -> list[McpServer]:
    filters = scope.filters()
    if workspace_id is not None:
        _id_lookup("workspaceId", workspace_id)
        scope.check_workspace(workspace_id)
        filters["workspace_id"] = workspace_id
    return await McpServer.filter(**filters).order_by("id").limit(500)


async def update_mcp_server(
    *,
    scope: Scope,
    settings: Settings,
    server_id: str,
    name: str | None = None,
    integrations: list[str] | None = None,
    actions: list[str] | None = None,
    read_only: bool | None = None,
) -> McpServer:
    server = await get_mcp_server(scope=scope, server_id=server_id)
    if name is not None:
        problem = check_text("input.name", name, max_length=200)
        if problem:
            raise ValidationFailed(problem)
        server.name = name.strip()
    if integrations is not None or actions is not None:
        names, exposed = await _check_exposure(
            scope=scope,
            settings=settings,
            workspace_id=server.workspace_id,
            integrations=server.integrations if integrations is None else integrations,
            actions=(server.actions if integrations is None else []) if actions is None else actions,
        )
        server.integrations, server.actions = names, exposed
    if read_only is not None:
        server.read_only = read_only
    await server.save()
    return server


async def delete_mcp_server(*, scope: Scope, server_id: str) -> McpServer:
    server = await get_mcp_server(scope=scope, server_id=server_id)
    await McpToken.filter(organization_id=scope.organization_id, mcp_server_id=server.id).delete()
    await server.delete()
    return server


async def create_mcp_token(
    *,
    scope: Scope,
    server_id: str,
    name: str,
    end_user_id: str | None = None,
    end_user_external_id: str | None = None,
    ttl_seconds: int | None = None,
) -> NewMcpToken:
    """A token for the server, for one end user (by id or external id) or the workspace."""
    _id_lookup("input.mcpServerId", server_id)
    problems = [check_text("input.name", name, max_length=200)]
    if ttl_seconds is not None and not 60 <= ttl_seconds <= MAX_TTL_SECONDS:
        problems.append(FieldError("input.ttlSeconds", f"must be between 60 and {MAX_TTL_SECONDS}"))
    if end_user_id is not None and end_user_external_id is not None:
        problems.append(
            FieldError("input.endUserExternalId", "give endUserId or endUserExternalId, not both")
        )
    if end_user_id is not None and len(end_user_id) > 32:
        problems.append(FieldError("input.endUserId", "must be at most 32 characters"))
    if end_user_external_id is not None and len(end_user_external_id) > 255:
        problems.append(FieldError("input.endUserExternalId", "must be at most 255 characters"))
    found = [problem for problem in problems if problem]
    if found:
        raise ValidationFailed(found)
    server = await get_mcp_server(scope=scope, server_id=server_id)
    end_user: EndUser | None = None
    if end_user_id is not None:
        end_user = await EndUser.get_or_none(
            id=end_user_id, organization_id=scope.organization_id, workspace_id=server.workspace_id
        )
        if end_user is None:
            raise NotFound("end user", end_user_id)
    elif end_user_external_id is not None:
        end_user = await EndUser.get_or_none(
            external_id=end_user_external_id,
            organization_id=scope.organization_id,
            workspace_id=server.workspace_id,
        )
        if end_user is None:
            raise NotFound("end user", end_user_external_id)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = await McpToken.create(
        id=ids.new_id("mcp_token"),
        organization_id=scope.organization_id,
        mcp_server_id=server.id,
        workspace_id=server.workspace_id,
        end_user_id=end_user.id if end_user is not None else None,
        name=name.strip(),
        prefix=secret[:VISIBLE_PREFIX_LENGTH],
        secret_hash=hash_secret(secret),
        expires_at=None if ttl_seconds is None else _now() + timedelta(seconds=ttl_seconds),
    )
    return NewMcpToken(token=token, secret=secret)


async def list_mcp_tokens(*, scope: Scope, server_id: str) -> list[McpToken]:
    return await McpToken.filter(organization_id=scope.organization_id, mcp_server_id=server_id).order_by(
        "id"
    )


async def revoke_mcp_token(*, scope: Scope, token_id: str) -> McpToken:
    _id_lookup("id", token_id)
    token = await McpToken.filter(id=token_id, **scope.filters()).first()
    if token is None:
        raise NotFound("MCP token", token_id)
    if token.revoked_at is None:
        token.revoked_at = _now()
        await token.save(update_fields=["revoked_at"])
    return token


async def authenticate(secret: str | None) -> McpPrincipal:
    """The principal of a bearer token; ``UNAUTHENTICATED`` for anything but a live token."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("a valid MCP token is required")
    token = await McpToken.get_or_none(secret_hash=hash_secret(secret))
    if token is None or token.revoked_at is not None:
        raise Unauthenticated("a valid MCP token is required")
    if token.expires_at is not None and token.expires_at <= _now():
        raise Unauthenticated("the MCP token has expired")
    server = await McpServer.get_or_none(id=token.mcp_server_id, organization_id=token.organization_id)
    if server is None:
        raise Unauthenticated("a valid MCP token is required")
    end_user = None
    if token.end_user_id is not None:
        end_user = await EndUser.get_or_none(id=token.end_user_id, organization_id=token.organization_id)
        if end_user is None:
            raise Unauthenticated("a valid MCP token is required")
    return McpPrincipal(token=token, server=server, end_user=end_user)
