"""Custom integrations: an organization's own connectors, registered through the API in the
declarative connector format (``server/connectors/connector.schema.json``).

A custom integration belongs to one organization, and to one workspace or (workspace NULL) to
all of them. Every lookup filters by the caller's organization, so another tenant's is
``NOT_FOUND``, and a name another organization uses is free here: names are unique in an
organization only. A name may never be a catalog name, so a connection's integration name
means one integration. A definition is checked for size and depth before it is parsed
(``parse_definition``), and each problem the parser finds becomes a ``VALIDATION_FAILED``
field ``input.definition.<path>``.
"""

from __future__ import annotations

import json
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server import ids
from server.connections.models import Connection
from server.connectors.definition import DefinitionError, parse_definition
from server.errors import Conflict, FieldError, NotFound, ValidationFailed
from server.integrations import catalog
from server.integrations.models import CustomIntegration, WorkspaceIntegration
from server.orgs import service as orgs
from server.pagination import Page, paginate
from server.scope import Scope

MAX_DEFINITION_BYTES = 256 * 1024
MAX_DEFINITION_DEPTH = 32
FIELD = "input.definition"


def _depth(value: Any) -> int:
    """How deeply ``value`` nests objects and arrays (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > MAX_DEFINITION_DEPTH:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def parse(definition: Any) -> Any:
    """The connector of a definition a client sent, or ``VALIDATION_FAILED`` naming each bad
    field as ``input.definition.<path>``."""
    if not isinstance(definition, dict):
        raise ValidationFailed.field(FIELD, "must be an object (a connector definition)")
    if _depth(definition) > MAX_DEFINITION_DEPTH:
        raise ValidationFailed.field(FIELD, f"nests deeper than {MAX_DEFINITION_DEPTH} levels")
    try:
        size = len(json.dumps(definition, separators=(",", ":"), ensure_ascii=False).encode())
    except (TypeError, ValueError):
        raise ValidationFailed.field(FIELD, "must be plain JSON") from None
    if size > MAX_DEFINITION_BYTES:
        raise ValidationFailed.field(
            FIELD, f"is {size} bytes serialized; at most {MAX_DEFINITION_BYTES} are allowed"
        )
    try:
        return parse_definition(definition)
    except DefinitionError as exc:
        problems = [
            FieldError(f"{FIELD}.{path}" if path else FIELD, message) for path, message in exc.problems
        ]
        raise ValidationFailed(problems or [FieldError(FIELD, "is not a valid definition")]) from None


def _visible(scope: Scope) -> Q:
    """A workspace-restricted key sees its workspace's and the organization-wide ones."""
    if scope.workspace_id is None:
        return Q(organization_id=scope.organization_id)
    return Q(organization_id=scope.organization_id) & (
        Q(workspace_id=scope.workspace_id) | Q(workspace_id=None)
    )


def _name_taken(name: str) -> ValidationFailed:
    return ValidationFailed.field(
        f"{FIELD}.name", f"{name!r} is already the name of an integration in this organization"
    )


async def create_custom_integration(
    *, scope: Scope, workspace_id: str | None, definition: Any
) -> CustomIntegration:
    """Register a custom integration for one workspace, or (no workspace) the organization."""
    if workspace_id is not None:
        workspace_id = (await orgs.get_workspace(scope=scope, workspace_id=workspace_id)).id
    else:
        scope.require_unrestricted("register organization-wide custom integrations")
    name = parse(definition).SPEC.name
    if catalog.is_catalog_name(name):
        raise ValidationFailed.field(f"{FIELD}.name", f"{name!r} is the name of a catalog integration")
    # Only this organization's rows are looked at: another tenant's names neither collide
    # nor show through.
    if await CustomIntegration.filter(organization_id=scope.organization_id, name=name).exists():
        raise _name_taken(name)
    try:
        async with in_transaction():
            return await CustomIntegration.create(
                id=ids.new_id("custom_integration"),
                organization_id=scope.organization_id,
                workspace_id=workspace_id,
                name=name,
                definition=definition,
            )
    except IntegrityError:
        raise _name_taken(name) from None  # a concurrent request took it a moment ago


async def get_custom_integration(*, scope: Scope, custom_integration_id: str) -> CustomIntegration:
    """One custom integration the caller may see, or ``NOT_FOUND``."""
    if len(custom_integration_id) > 64:
        raise NotFound("custom integration", custom_integration_id[:64])
    row = await CustomIntegration.filter(_visible(scope), id=custom_integration_id).first()
    if row is None:
        raise NotFound("custom integration", custom_integration_id)
    return row


async def _changeable(*, scope: Scope, custom_integration_id: str, action: str) -> CustomIntegration:
    row = await get_custom_integration(scope=scope, custom_integration_id=custom_integration_id)
    if row.workspace_id is None:
        scope.require_unrestricted(f"{action} organization-wide custom integrations")
    return row


async def update_custom_integration(
    *, scope: Scope, custom_integration_id: str, definition: Any
) -> CustomIntegration:
    """Replace a custom integration's definition; its name stays (connections refer to it)."""
    row = await _changeable(scope=scope, custom_integration_id=custom_integration_id, action="change")
    name = parse(definition).SPEC.name
    if name != row.name:
        raise ValidationFailed.field(f"{FIELD}.name", f"cannot change (it is {row.name!r})")
    row.definition = definition
    await row.save(update_fields=["definition", "updated_at"])
    return row


async def delete_custom_integration(*, scope: Scope, custom_integration_id: str) -> str:
    """Delete a custom integration no connection uses (``CONFLICT`` otherwise), with the
    workspaces' configurations of it."""
    row = await _changeable(scope=scope, custom_integration_id=custom_integration_id, action="delete")
    async with in_transaction():
        if await Connection.filter(organization_id=row.organization_id, integration_name=row.name).exists():
            raise Conflict(f"connections to {row.name!r} exist; delete them before the custom integration")
        await WorkspaceIntegration.filter(
            organization_id=row.organization_id, integration_name=row.name
        ).delete()
        await row.delete()
    return row.id


async def list_custom_integrations(
    *, scope: Scope, workspace_id: str | None, first: int | None, after: str | None, max_page_size: int
) -> Page[CustomIntegration]:
    """The custom integrations the caller sees; with a workspace, those that workspace sees."""
    queryset = CustomIntegration.filter(_visible(scope))
    if workspace_id is not None:
        workspace = await orgs.get_workspace(scope=scope, workspace_id=workspace_id)
        queryset = queryset.filter(Q(workspace_id=workspace.id) | Q(workspace_id=None))
    return await paginate(queryset, first=first, after=after, max_page_size=max_page_size)
