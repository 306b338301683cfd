"""The integrations an organization and workspace see, and the connector a name means there.

``connector_for`` is the one resolver every caller goes through. In order:

1. the catalog entry, or the organization's custom integration of that name (a custom
   integration of the workspace, else an organization-wide one; names are unique in the
   organization and never a catalog name, so at most one matches);
2. the deployment's ``WEIR_CONNECTOR_<NAME>_*_URL`` overrides;
3. the workspace's overrides (``configureWorkspaceIntegration``: authorization, token and
   revocation URLs, API base URL).

The result is the connector (a module or a ``DeclarativeConnector``), seen through
``registry.with_spec`` when its spec changed. ``install_catalog`` in the tests replaces
``CONNECTORS`` here and in the registry.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from tortoise.expressions import Q

from server.config import Settings
from server.connections.checks import ConnectorResolver, deployment_endpoints
from server.connectors.base import ConnectorSpec
from server.connectors.definition import DefinitionError, parse_definition
from server.connectors.endpoints import Endpoints, with_endpoints
from server.connectors.registry import CONNECTORS, with_spec
from server.errors import Conflict, NotFound
from server.integrations.models import CustomIntegration, WorkspaceIntegration
from server.orgs import service as orgs
from server.scope import Scope

log = logging.getLogger("weir.integrations")

# Parsed custom definitions by (row id, updated_at): parsing validates against the JSON
# Schema, which every connect page and sync would otherwise repeat. Bounded by MAX_CACHED.
_parsed: dict[tuple[str, str], Any] = {}
MAX_CACHED = 512


def is_catalog_name(name: str) -> bool:
    return name in CONNECTORS


def custom_connector(row: CustomIntegration) -> Any:
    """The connector of a custom integration's stored definition, marked ``CUSTOM``."""
    key = (row.id, row.updated_at.isoformat() if row.updated_at else "")
    found = _parsed.get(key)
    if found is not None:
        return found
    try:
        connector = parse_definition(row.definition)
    except DefinitionError:
        # Stored after validation, so only a format change in an upgrade gets here.
        log.warning("custom integration %s no longer validates", row.id)
        raise Conflict(
            f"the definition of custom integration {row.name!r} no longer validates; update it"
        ) from None
    spec = replace(connector.SPEC, source="CUSTOM")
    found = with_spec(connector, spec)
    if len(_parsed) >= MAX_CACHED:
        _parsed.clear()
    _parsed[key] = found
    return found


def _visible_custom(organization_id: str, workspace_id: str | None) -> Q:
    """An organization's custom integrations seen from one workspace (or, without one, its
    organization-wide ones)."""
    if workspace_id is None:
        return Q(organization_id=organization_id, workspace_id=None)
    return Q(organization_id=organization_id) & (Q(workspace_id=workspace_id) | Q(workspace_id=None))


def workspace_endpoints(row: WorkspaceIntegration | None) -> Endpoints:
    if row is None:
        return Endpoints()
    return Endpoints(
        authorization_url=row.authorization_url,
        token_url=row.token_url,
        revocation_url=row.revocation_url,
        api_base_url=row.api_base_url,
    )


async def base_connector(
    *, settings: Settings, organization_id: str | None, workspace_id: str | None, name: str
) -> Any:
    """Steps 1 and 2 of ``connector_for``: without the workspace's overrides."""
    module = CONNECTORS.get(name)
    if module is None and organization_id is not None and len(name) <= 64:
        rows = await CustomIntegration.filter(_visible_custom(organization_id, workspace_id), name=name)
        # Workspace-specific first (names are unique in the organization, so this is defence).
        rows.sort(key=lambda row: row.workspace_id is None)
        module = custom_connector(rows[0]) if rows else None
    if module is None:
        raise NotFound("integration", name)
    return with_endpoints(module, deployment_endpoints(settings, name))


async def connector_for(
    *, settings: Settings, organization_id: str | None, workspace_id: str | None, name: str
) -> Any:
    """The connector ``name`` means for this organization and workspace, every override applied,
    or ``NOT_FOUND`` (another organization's custom integration is not found either)."""
    connector = await base_connector(
        settings=settings, organization_id=organization_id, workspace_id=workspace_id, name=name
    )
    if workspace_id is None or organization_id is None:
        return connector
    row = await WorkspaceIntegration.get_or_none(
        organization_id=organization_id, workspace_id=workspace_id, integration_name=name
    )
    return with_endpoints(connector, workspace_endpoints(row))


async def connector_with_config(
    *,
    settings: Settings,
    organization_id: str,
    workspace_id: str | None,
    name: str,
    config: WorkspaceIntegration | None,
) -> Any:
    """``connector_for`` when the caller already read the workspace's row for the integration
    (``config``; None when the workspace has none): one query fewer on a hot path (the proxy)."""
    if config is not None and (config.organization_id, config.workspace_id, config.integration_name) != (
        organization_id,
        workspace_id,
        name,
    ):
        raise ValueError("the workspace integration row is another workspace's or integration's")
    connector = await base_connector(
        settings=settings, organization_id=organization_id, workspace_id=workspace_id, name=name
    )
    if workspace_id is None:
        return connector
    return with_endpoints(connector, workspace_endpoints(config))


async def seen_from(*, scope: Scope, workspace_id: str | None) -> str | None:
    """The workspace a caller looks at integrations from: the one it names (``NOT_FOUND`` if it
    may not see it), else its key's workspace, else none (organization-wide ones only)."""
    if workspace_id is None:
        return scope.workspace_id
    return (await orgs.get_workspace(scope=scope, workspace_id=workspace_id)).id


def logo_url(spec: ConnectorSpec, public_url: str) -> str:
    """A catalog entry's SVG served by Weir; a custom integration's own https logo, else
    Weir's generic one (``logos/custom.svg``). Clients show it only as an image."""
    if spec.source == "CUSTOM":
        if spec.logo_url and spec.logo_url.startswith("https://"):
            return spec.logo_url
        return f"{public_url}/logos/custom.svg"
    return f"{public_url}/logos/{spec.name}.svg"


async def is_visible(*, organization_id: str, workspace_id: str | None, name: str) -> bool:
    """Whether ``name`` is an integration of the catalog or one this workspace's organization
    registered (and the workspace sees)."""
    if name in CONNECTORS:
        return True
    if len(name) > 64:
        return False
    return await CustomIntegration.filter(_visible_custom(organization_id, workspace_id), name=name).exists()


def is_built_in(name: str) -> bool:
    """Whether ``name`` is a built-in (date and time, hash and encode, key-value store): its
    actions run without a connection, so nothing may create one or offer it in the connect flow."""
    connector = CONNECTORS.get(name)
    return connector is not None and not connector.SPEC.requires_connection


def resolver(settings: Settings) -> ConnectorResolver:
    """``connector_for`` with ``settings`` bound, for the services below this package."""

    async def resolve(*, organization_id: str, workspace_id: str | None, name: str) -> Any:
        return await connector_for(
            settings=settings, organization_id=organization_id, workspace_id=workspace_id, name=name
        )

    return resolve


async def list_integrations(
    *,
    settings: Settings,
    organization_id: str | None = None,
    workspace_id: str | None = None,
    category: str | None = None,
    search: str | None = None,
) -> list[ConnectorSpec]:
    """Every integration visible here (the catalog and the organization's custom ones), with
    their overrides, optionally of one category and matching a search text, by name."""
    connectors = [
        with_endpoints(module, deployment_endpoints(settings, name)) for name, module in CONNECTORS.items()
    ]
    if organization_id is not None:
        for row in await CustomIntegration.filter(_visible_custom(organization_id, workspace_id)):
            try:
                connectors.append(
                    with_endpoints(custom_connector(row), deployment_endpoints(settings, row.name))
                )
            except Conflict:
                continue  # listed again once its owner fixes it
    if organization_id is not None and workspace_id is not None:
        rows = await WorkspaceIntegration.filter(organization_id=organization_id, workspace_id=workspace_id)
        overrides = {row.integration_name: workspace_endpoints(row) for row in rows}
        connectors = [with_endpoints(c, overrides.get(c.SPEC.name, Endpoints())) for c in connectors]
    specs = [connector.SPEC for connector in connectors]
    if category:
        specs = [spec for spec in specs if spec.category == category]
    if search:
        needle = search.strip().lower()
        specs = [
            spec
            for spec in specs
            if needle in spec.name
            or needle in spec.display_name.lower()
            or needle in spec.description.lower()
        ]
    return sorted(specs, key=lambda spec: spec.name)


async def get_integration(
    *, settings: Settings, name: str, organization_id: str | None = None, workspace_id: str | None = None
) -> ConnectorSpec:
    """One integration by its name (``hubspot``), as ``connector_for`` sees it, or ``NOT_FOUND``."""
    connector = await connector_for(
        settings=settings, organization_id=organization_id, workspace_id=workspace_id, name=name
    )
    return connector.SPEC
