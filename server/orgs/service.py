"""Organizations, workspaces and end users: every function is scoped to the caller's tenant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError

from server import ids
from server.crypto import KeyRing
from server.errors import Conflict, FieldError, NotFound, ValidationFailed
from server.events import EventBus, channel
from server.orgs import rows, warehouse
from server.orgs.models import EndUser, Organization, Workspace
from server.orgs.rows import EndUserRow, WorkspaceRow
from server.orgs.warehouse import check_warehouse_url
from server.pagination import Page, paginate_rows
from server.scope import Scope
from server.unset import UNSET
from server.validation import (
    check_color,
    check_http_url,
    check_origin,
    check_plain_text,
    check_redirect_uri,
    check_text,
    normalize_color,
)

THEMES = ("LIGHT", "DARK", "SYSTEM")


@dataclass
class WorkspaceChanges:
    """Fields a client may set on a workspace; ``UNSET`` leaves a field as it is."""

    name: Any = UNSET
    display_name: Any = UNSET
    logo_url: Any = UNSET
    primary_color: Any = UNSET
    theme: Any = UNSET
    allowed_origins: Any = UNSET
    allowed_redirect_uris: Any = UNSET
    warehouse_url: Any = UNSET  # sealed by the caller's key ring, never stored in plaintext

    def validated(self, prefix: str = "input") -> dict[str, Any]:
        """The changes as model fields; raise ``ValidationFailed`` listing every bad field."""
        problems: list[FieldError | None] = []
        values: dict[str, Any] = {}
        if self.name is not UNSET:
            problems.append(check_plain_text(f"{prefix}.name", self.name or "", max_length=200))
            values["name"] = (self.name or "").strip()
        if self.display_name is not UNSET:
            if self.display_name is not None:
                problems.append(check_plain_text(f"{prefix}.displayName", self.display_name, max_length=200))
            values["display_name"] = self.display_name
        if self.logo_url is not UNSET:
            if self.logo_url is not None:
                problems.append(check_http_url(f"{prefix}.logoUrl", self.logo_url))
            values["logo_url"] = self.logo_url
        if self.primary_color is not UNSET:
            if self.primary_color is not None:
                problem = check_color(f"{prefix}.primaryColor", self.primary_color)
                problems.append(problem)
                values["primary_color"] = None if problem else normalize_color(self.primary_color)
            else:
                values["primary_color"] = None
        if self.theme is not UNSET:
            if self.theme not in THEMES:
                problems.append(FieldError(f"{prefix}.theme", f"must be one of {', '.join(THEMES)}"))
            values["theme"] = self.theme
        if self.allowed_origins is not UNSET:
            origins = list(self.allowed_origins or [])
            for index, origin in enumerate(origins):
                problems.append(check_origin(f"{prefix}.allowedOrigins.{index}", origin))
            values["allowed_origins"] = list(dict.fromkeys(origins))
        if self.allowed_redirect_uris is not UNSET:
            uris = list(self.allowed_redirect_uris or [])
            for index, uri in enumerate(uris):
                problems.append(check_redirect_uri(f"{prefix}.allowedRedirectUris.{index}", uri))
            values["allowed_redirect_uris"] = list(dict.fromkeys(uris))
        if self.warehouse_url is not UNSET:
            url = self.warehouse_url
            if url is not None:
                problem = check_warehouse_url(f"{prefix}.warehouseUrl", url)
                problems.append(problem)
                url = url if problem else warehouse.normalized(url)
            values["warehouse_url"] = url
        found = [problem for problem in problems if problem is not None]
        if found:
            raise ValidationFailed(found)
        return values


# -- organizations --------------------------------------------------------------------------


async def get_organization(*, scope: Scope) -> Organization:
    """The caller's organization."""
    organization = await Organization.get_or_none(id=scope.organization_id)
    if organization is None:
        raise NotFound("organization", scope.organization_id)
    return organization


# -- workspaces -----------------------------------------------------------------------------


async def list_workspaces(
    *, scope: Scope, first: int | None, after: str | None, max_page_size: int
) -> Page[WorkspaceRow]:
    """The workspaces the caller may see, oldest first."""
    where = [("organization_id", scope.organization_id)]
    if scope.workspace_id is not None:
        where.append(("id", scope.workspace_id))
    return await paginate_rows(rows.workspaces, where, first=first, after=after, max_page_size=max_page_size)


async def get_workspace(*, scope: Scope, workspace_id: str) -> Workspace:
    """One workspace of the caller's organization, or ``NOT_FOUND``."""
    scope.check_workspace(workspace_id)
    workspace = await Workspace.get_or_none(id=workspace_id, organization_id=scope.organization_id)
    if workspace is None:
        raise NotFound("workspace", workspace_id)
    return workspace


async def get_workspaces_by_ids(*, scope: Scope, workspace_ids: list[str]) -> dict[str, WorkspaceRow]:
    """Many workspaces in one query (for DataLoaders), keyed by id; missing ids are left out."""
    found = await rows.workspaces.select([("organization_id", scope.organization_id)], ids=workspace_ids)
    return {row.id: row for row in found}


def _sealed(values: dict[str, Any], *, key_ring: KeyRing, workspace_id: str) -> dict[str, Any]:
    """``values`` with a plaintext warehouse URL replaced by its ciphertext."""
    if "warehouse_url" not in values:
        return values
    url = values.pop("warehouse_url")
    values["warehouse_url_encrypted"] = (
        None if url is None else warehouse.seal(key_ring=key_ring, workspace_id=workspace_id, url=url)
    )
    return values


async def create_workspace(*, scope: Scope, key_ring: KeyRing, changes: WorkspaceChanges) -> Workspace:
    """A new workspace; its name is unique within the organization."""
    scope.require_unrestricted("create workspaces")
    if changes.name is UNSET:
        raise ValidationFailed.field("input.name", "is required")
    workspace_id = ids.new_id("workspace")
    values = _sealed(changes.validated(), key_ring=key_ring, workspace_id=workspace_id)
    try:
        workspace = await Workspace.create(id=workspace_id, organization_id=scope.organization_id, **values)
    except IntegrityError:
        raise Conflict(f"a workspace named {values['name']!r} already exists") from None
    return workspace


async def update_workspace(
    *,
    scope: Scope,
    key_ring: KeyRing,
    workspace_id: str,
    changes: WorkspaceChanges,
    bus: EventBus | None = None,
) -> Workspace:
    """Change branding, origins, redirect URIs or warehouse; publishes ``workspace.updated``."""
    workspace = await get_workspace(scope=scope, workspace_id=workspace_id)
    if changes.warehouse_url is not UNSET:
        # Where a workspace's data goes is the organization's decision, not one workspace's.
        scope.require_unrestricted("set a workspace's warehouse URL")
    values = _sealed(changes.validated(), key_ring=key_ring, workspace_id=workspace.id)
    if not values:
        return workspace
    workspace.update_from_dict(values)
    try:
        await workspace.save()
    except IntegrityError:
        raise Conflict(f"a workspace named {values.get('name')!r} already exists") from None
    if bus is not None:
        await bus.publish(
            channel(scope.organization_id, "workspace", workspace.id),
            {"type": "workspace.updated", "workspaceId": workspace.id},
        )
    return workspace


# -- end users ------------------------------------------------------------------------------


async def list_end_users(
    *,
    scope: Scope,
    workspace_id: str | None,
    external_id: str | None,
    first: int | None,
    after: str | None,
    max_page_size: int,
) -> Page[EndUserRow]:
    """End users the caller may see, optionally of one workspace or with one external id."""
    where = list(scope.filters().items())
    if workspace_id is not None:
        scope.check_workspace(workspace_id)
        where.append(("workspace_id", workspace_id))
    if external_id is not None:
        where.append(("external_id", external_id))
    return await paginate_rows(rows.end_users, where, first=first, after=after, max_page_size=max_page_size)


async def get_end_user(*, scope: Scope, end_user_id: str) -> EndUser:
    """One end user, or ``NOT_FOUND``."""
    end_user = await EndUser.get_or_none(id=end_user_id, **scope.filters())
    if end_user is None:
        raise NotFound("end user", end_user_id)
    return end_user


async def get_end_users_by_ids(*, scope: Scope, end_user_ids: list[str]) -> dict[str, EndUserRow]:
    """Many end users in one query (for DataLoaders), keyed by id; missing ids are left out."""
    found = await rows.end_users.select(scope.filters().items(), ids=end_user_ids)
    return {row.id: row for row in found}


async def create_end_user(
    *,
    scope: Scope,
    workspace_id: str,
    external_id: str,
    display_name: str | None = None,
    email: str | None = None,
) -> EndUser:
    """A new end user; ``external_id`` is unique within the workspace (``CONFLICT``)."""
    problems = [
        check_text("input.externalId", external_id, max_length=255),
        check_text("input.displayName", display_name, max_length=255) if display_name else None,
        FieldError("input.email", f"{email[:64]!r} is not an email address")
        if email is not None and ("@" not in email or len(email) > 320)
        else None,
    ]
    found = [problem for problem in problems if problem]
    if found:
        raise ValidationFailed(found)
    workspace = await get_workspace(scope=scope, workspace_id=workspace_id)
    try:
        return await EndUser.create(
            id=ids.new_id("end_user"),
            organization_id=scope.organization_id,
            workspace=workspace,
            external_id=external_id,
            display_name=display_name,
            email=email,
        )
    except IntegrityError:
        raise Conflict(
            f"an end user with externalId {external_id!r} already exists in this workspace"
        ) from None


async def workspace_updates(*, scope: Scope, workspace_id: str, bus: EventBus):  # type: ignore[no-untyped-def]
    """The workspace now, then again after every change (for ``workspaceUpdated``)."""
    await get_workspace(scope=scope, workspace_id=workspace_id)
    async with bus.subscribe(channel(scope.organization_id, "workspace", workspace_id)) as events:
        yield await get_workspace(scope=scope, workspace_id=workspace_id)
        async for _ in events:
            yield await get_workspace(scope=scope, workspace_id=workspace_id)
