"""How a workspace uses an integration: enabled or not, its OAuth app, its endpoints (OAuth
URLs and API base URL moved to a sandbox or a self-hosted server), its resolution strategy.

The OAuth client secret is sealed by ``server.crypto`` with the row's id as associated data and
is only opened by ``load_oauth_client_secret`` (for the connect flow's code exchange).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server import ids
from server.config import Settings
from server.connections import service as connections
from server.connectors import templates
from server.connectors.base import ConnectorSpec
from server.connectors.builtins import no_connection_needed
from server.crypto import KeyRing
from server.errors import FieldError, NotFound, ValidationFailed
from server.integrations import catalog, proxy_policy
from server.integrations.models import WorkspaceIntegration
from server.orgs import service as orgs
from server.pagination import Page, paginate
from server.scope import Scope
from server.unset import UNSET
from server.validation import check_http_url, check_text

STRATEGIES = ("FIXED", "PER_USER", "PER_USER_WITH_FALLBACK")
MAX_SCOPES = 100


@dataclass
class IntegrationSettings:
    """What ``configureWorkspaceIntegration`` may set; ``UNSET`` leaves a field as it is."""

    enabled: Any = UNSET
    strategy: Any = UNSET
    fixed_connection_id: Any = UNSET
    oauth_client_id: Any = UNSET
    oauth_client_secret: Any = UNSET
    scopes: Any = UNSET
    authorization_url: Any = UNSET
    token_url: Any = UNSET
    revocation_url: Any = UNSET
    api_base_url: Any = UNSET
    # The proxy policy (server.integrations.proxy_policy); null allows every method and path.
    proxy_methods: Any = UNSET
    proxy_path_prefixes: Any = UNSET


# Each endpoint override: its input name, and what it replaces in the spec.
ENDPOINTS = (
    ("authorization_url", "authorizationUrl", lambda spec: spec.oauth and spec.oauth.authorize_url),
    ("token_url", "tokenUrl", lambda spec: spec.oauth and spec.oauth.token_url),
    ("revocation_url", "revocationUrl", lambda spec: spec.oauth and spec.oauth.revocation_url),
    ("api_base_url", "apiBaseUrl", lambda spec: spec.base_url),
)


def _check_endpoints(settings: IntegrationSettings, spec: ConnectorSpec) -> list[FieldError]:
    """An override is an http(s) URL of at most 2000 characters whose {placeholders} are the
    ones the integration fills there: those of the URL it replaces and its parameters."""
    parameters = set(((spec.parameters_schema or {}).get("properties") or {}).keys())
    problems: list[FieldError | None] = []
    for attribute, name, original in ENDPOINTS:
        value = getattr(settings, attribute)
        field = f"input.{name}"
        if value is UNSET or value is None:
            continue
        if attribute != "api_base_url" and spec.oauth is None:
            problems.append(FieldError(field, "this integration does not use OAuth"))
            continue
        if not isinstance(value, str) or len(value) > 2000:
            problems.append(FieldError(field, "must be a URL of at most 2000 characters"))
            continue
        allowed = parameters | set(templates.names(original(spec) or ""))
        used = templates.names(value)
        unknown = [placeholder for placeholder in used if placeholder not in allowed]
        if unknown:
            problems.append(
                FieldError(
                    field,
                    f"{{{unknown[0]}}} is not a parameter of this integration"
                    + (f" (it has {', '.join(sorted(allowed))})" if allowed else ""),
                )
            )
            continue
        # Checked as a URL with each placeholder filled by a plain host label.
        sample = templates.PLACEHOLDER.sub(lambda m: "x" if m.group(1) else m.group(0)[0], value)
        problem = check_http_url(field, sample)
        if problem is not None:
            problems.append(FieldError(field, problem.message.replace(repr(sample), repr(value))))
    return [problem for problem in problems if problem]


def _check_plain(settings: IntegrationSettings, has_oauth: bool) -> list[FieldError]:
    problems: list[FieldError | None] = []
    if settings.strategy is not UNSET and settings.strategy not in STRATEGIES:
        problems.append(FieldError("input.strategy", f"must be one of {', '.join(STRATEGIES)}"))
    if settings.enabled is not UNSET and not isinstance(settings.enabled, bool):
        problems.append(FieldError("input.enabled", "must be true or false"))
    for name, value in (
        ("oauthClientId", settings.oauth_client_id),
        ("oauthClientSecret", settings.oauth_client_secret),
    ):
        if value is UNSET or value is None:
            continue
        if not has_oauth:
            problems.append(FieldError(f"input.{name}", "this integration does not use OAuth"))
        else:
            problems.append(check_text(f"input.{name}", value, max_length=500))
    if settings.scopes not in (UNSET, None):
        if not has_oauth:
            problems.append(FieldError("input.scopes", "this integration does not use OAuth"))
        if len(settings.scopes) > MAX_SCOPES:
            problems.append(FieldError("input.scopes", f"must have at most {MAX_SCOPES} scopes"))
        for index, item in enumerate(settings.scopes):
            problems.append(check_text(f"input.scopes.{index}", item, max_length=200))
    return [problem for problem in problems if problem]


# What only an integration with connections uses: how to pick one, the app and URLs that make one.
CONNECTION_SETTINGS = (
    ("strategy", "strategy"),
    ("fixed_connection_id", "fixedConnectionId"),
    ("oauth_client_id", "oauthClientId"),
    ("oauth_client_secret", "oauthClientSecret"),
    ("scopes", "scopes"),
    ("authorization_url", "authorizationUrl"),
    ("token_url", "tokenUrl"),
    ("revocation_url", "revocationUrl"),
    ("api_base_url", "apiBaseUrl"),
)


def _refuse_connection_settings(settings: IntegrationSettings, spec: ConnectorSpec) -> None:
    """A built-in takes only ``enabled``: it has no connection to resolve, create or call."""
    given = [
        name for attribute, name in CONNECTION_SETTINGS if getattr(settings, attribute) not in (UNSET, None)
    ]
    if given:
        raise ValidationFailed.field(
            "input.integrationName",
            f"{no_connection_needed(spec.name)}; of the workspace settings it takes only enabled "
            f"(not {', '.join(given)})",
        )


async def _check_fixed(*, scope: Scope, workspace_id: str, integration_name: str, connection_id: str) -> None:
    try:
        connection = await connections.get_connection(scope=scope, connection_id=connection_id)
    except NotFound:
        raise ValidationFailed.field("input.fixedConnectionId", "no such connection") from None
    if connection.integration_name != integration_name:
        raise ValidationFailed.field(
            "input.fixedConnectionId",
            f"is a connection to {connection.integration_name}, not {integration_name}",
        )
    if connection.scope == "USER" or connection.workspace_id not in (None, workspace_id):
        raise ValidationFailed.field(
            "input.fixedConnectionId",
            "must be a WORKSPACE connection of this workspace or an ORGANIZATION connection",
        )


async def configure_workspace_integration(
    *,
    scope: Scope,
    key_ring: KeyRing,
    workspace_id: str,
    integration_name: str,
    settings: IntegrationSettings,
    deployment: Settings | None = None,
) -> WorkspaceIntegration:
    """Create or change a workspace's configuration of one integration (of the catalog, or a
    custom integration the workspace sees)."""
    workspace = await orgs.get_workspace(scope=scope, workspace_id=workspace_id)
    try:
        connector = await catalog.base_connector(
            # Without the deployment's settings, its overrides are not checked against.
            settings=deployment or Settings(),
            organization_id=scope.organization_id,
            workspace_id=workspace.id,
            name=integration_name,
        )
    except NotFound:
        raise ValidationFailed.field(
            "input.integrationName", f"no integration named {integration_name!r}"
        ) from None
    spec = connector.SPEC
    if not spec.requires_connection:
        _refuse_connection_settings(settings, spec)
    problems = _check_plain(settings, has_oauth=spec.oauth is not None) + _check_endpoints(settings, spec)
    proxy_methods, proxy_path_prefixes = settings.proxy_methods, settings.proxy_path_prefixes
    if proxy_methods is not UNSET:
        proxy_methods, found = proxy_policy.check_methods(proxy_methods, "input.proxyMethods")
        problems += found
    if proxy_path_prefixes is not UNSET:
        proxy_path_prefixes, found = proxy_policy.check_prefixes(
            proxy_path_prefixes, "input.proxyPathPrefixes"
        )
        problems += found
    if problems:
        raise ValidationFailed(problems)
    row = await WorkspaceIntegration.get_or_none(workspace_id=workspace.id, integration_name=integration_name)
    creating = row is None
    if row is None:
        row = WorkspaceIntegration(
            id=ids.new_id("workspace_integration"),
            organization_id=scope.organization_id,
            workspace_id=workspace.id,
            integration_name=integration_name,
        )
    if settings.fixed_connection_id not in (UNSET, None):
        await _check_fixed(
            scope=scope,
            workspace_id=workspace.id,
            integration_name=integration_name,
            connection_id=settings.fixed_connection_id,
        )
    changes: dict[str, Any] = {
        "enabled": settings.enabled,
        "strategy": settings.strategy,
        "fixed_connection_id": settings.fixed_connection_id,
        "oauth_client_id": settings.oauth_client_id,
        "scopes": None
        if settings.scopes is None
        else (UNSET if settings.scopes is UNSET else list(dict.fromkeys(settings.scopes))),
        "authorization_url": settings.authorization_url,
        "token_url": settings.token_url,
        "revocation_url": settings.revocation_url,
        "api_base_url": settings.api_base_url,
        "proxy_methods": proxy_methods,
        "proxy_path_prefixes": proxy_path_prefixes,
    }
    for name, value in changes.items():
        if value is not UNSET:
            setattr(row, name, value)
    if settings.oauth_client_secret is not UNSET:
        row.oauth_client_secret_encrypted = (
            None
            if settings.oauth_client_secret is None
            else key_ring.encrypt(settings.oauth_client_secret.encode(), associated_data=row.id)
        )
    if row.strategy == "FIXED" and row.fixed_connection_id is None:
        raise ValidationFailed.field("input.fixedConnectionId", "is required when strategy is FIXED")
    try:
        async with in_transaction():
            await row.save(force_create=creating)
    except IntegrityError:
        if not creating:
            raise
        # Another request configured it first; apply these settings to that row instead.
        return await configure_workspace_integration(
            scope=scope,
            key_ring=key_ring,
            workspace_id=workspace_id,
            integration_name=integration_name,
            settings=settings,
            deployment=deployment,
        )
    return row


async def get_workspace_integration(
    *, scope: Scope, workspace_id: str, integration_name: str
) -> WorkspaceIntegration | None:
    """The workspace's configuration of one integration, or None if it has none."""
    workspace = await orgs.get_workspace(scope=scope, workspace_id=workspace_id)
    return await WorkspaceIntegration.get_or_none(
        workspace_id=workspace.id,
        integration_name=integration_name,
        organization_id=scope.organization_id,
    )


async def list_workspace_integrations(
    *, scope: Scope, workspace_id: str, first: int | None, after: str | None, max_page_size: int
) -> Page[WorkspaceIntegration]:
    """Every integration a workspace has configured."""
    workspace = await orgs.get_workspace(scope=scope, workspace_id=workspace_id)
    queryset = WorkspaceIntegration.filter(workspace_id=workspace.id, organization_id=scope.organization_id)
    return await paginate(queryset, first=first, after=after, max_page_size=max_page_size)


def load_oauth_client_secret(*, key_ring: KeyRing, integration: WorkspaceIntegration) -> str | None:
    """The workspace's OAuth client secret, decrypted; None when it has not set one."""
    if integration.oauth_client_secret_encrypted is None:
        return None
    return key_ring.decrypt(
        integration.oauth_client_secret_encrypted, associated_data=integration.id
    ).decode()
