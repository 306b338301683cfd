"""Asking a provider whether credentials work, through its connector's ``check``.

Which connector an integration name means (the catalog, an organization's custom integration,
deployment and workspace endpoint overrides) is decided above this package, by
``server.integrations.catalog.connector_for``: callers hand it in, as a connector or as a
``ConnectorResolver``. Without one, only the catalog with the deployment's overrides is known
(``catalog_connector``). Connectors get an HTTP client and the base URL of their spec and
nothing else. A provider's message may echo what it was sent, so every secret is
scrubbed from it before it reaches an error, a status reason or a log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

import httpx

from server import http as http_clients
from server import outbound
from server.config import Settings
from server.connections import credentials as creds
from server.connectors.base import CheckResult, ConnectorContext, ConnectorSpec
from server.connectors.endpoints import Endpoints, with_endpoints
from server.connectors.registry import get_connector
from server.errors import CheckFailed, NotFound, ValidationFailed


class ConnectorResolver(Protocol):
    """``server.integrations.catalog.connector_for`` with the settings bound: the connector an
    integration name means for one organization and workspace, or ``NOT_FOUND``."""

    def __call__(self, *, organization_id: str, workspace_id: str | None, name: str) -> Awaitable[Any]: ...


def deployment_endpoints(settings: Settings, name: str) -> Endpoints:
    """The deployment's ``WEIR_CONNECTOR_<NAME>_*_URL`` overrides of one integration."""
    return Endpoints(
        authorization_url=settings.connector_authorize_urls.get(name),
        token_url=settings.connector_token_urls.get(name),
        revocation_url=settings.connector_revocation_urls.get(name),
        api_base_url=settings.connector_base_urls.get(name),
    )


def catalog_connector(*, settings: Settings, name: str, field: str = "input.integrationName") -> Any:
    """A catalog integration with the deployment's overrides, or ``VALIDATION_FAILED`` on
    ``field``: for callers that have no resolver (it knows no custom integration)."""
    module = get_connector(name)
    if module is None:
        raise ValidationFailed.field(field, f"no integration named {name!r}")
    return with_endpoints(module, deployment_endpoints(settings, name))


async def resolve_connector(
    connectors: ConnectorResolver | None,
    *,
    settings: Settings,
    organization_id: str,
    workspace_id: str | None,
    name: str,
    field: str = "input.integrationName",
) -> Any:
    """The connector ``name`` means here, or ``VALIDATION_FAILED`` on ``field``."""
    if connectors is None:
        return catalog_connector(settings=settings, name=name, field=field)
    try:
        return await connectors(organization_id=organization_id, workspace_id=workspace_id, name=name)
    except NotFound:
        raise ValidationFailed.field(field, f"no integration named {name!r}") from None


def spec_of(integration_name: str, field: str = "input.integrationName") -> ConnectorSpec:
    """A catalog integration's own spec, or ``VALIDATION_FAILED`` on ``field``."""
    module = get_connector(integration_name)
    if module is None:
        raise ValidationFailed.field(field, f"no integration named {integration_name!r}")
    return module.SPEC


def connector_context(
    *,
    settings: Settings,
    http: httpx.AsyncClient,
    credentials: dict[str, Any],
    connector: Any | None = None,
    integration_name: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> ConnectorContext:
    """What a connector needs to talk to its provider: its spec's base URL (with every
    override already applied by whoever resolved ``connector``; a bare ``integration_name``
    is a catalog integration with the deployment's overrides), and the connection's
    parameters for the {placeholders} of its URLs."""
    if connector is None:
        if integration_name is None:
            raise TypeError("connector_context needs a connector or an integration name")
        connector = catalog_connector(settings=settings, name=integration_name, field="integrationName")
    return ConnectorContext(
        http=http,
        base_url=connector.SPEC.base_url,
        credentials=credentials,
        outbound=outbound.Policy.from_settings(settings),
        parameters=dict(parameters or {}),
    )


def check_failed(spec: ConnectorSpec, result: CheckResult) -> CheckFailed:
    """The error for a failed check: the provider's refusal, or that it could not be reached."""
    if not result.reachable:
        return CheckFailed(
            f"could not reach {spec.display_name}: {result.message or 'no answer'}", reachable=False
        )
    return CheckFailed(f"{spec.display_name} refused the credentials: {result.message or 'no reason given'}")


async def run_check(
    *,
    settings: Settings,
    spec: ConnectorSpec,
    auth_type: str,
    credentials: dict[str, Any],
    http: httpx.AsyncClient | None = None,
    connector: Any | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> CheckResult:
    """Ask the provider whether ``credentials`` work; a message never carries a secret.

    ``connector`` is the resolved integration (its ``SPEC`` is ``spec``); without it, the
    catalog integration named by ``spec``."""
    module = connector or catalog_connector(settings=settings, name=spec.name, field="integrationName")
    secrets = creds.secret_values(auth_type, credentials, spec)
    client = http or http_clients.tenant_client(settings, http_clients.CONNECTOR_CHECK)
    try:
        context = connector_context(
            settings=settings,
            connector=module,
            http=client,
            credentials=credentials,
            parameters=parameters,
        )
        result = await module.check(context, credentials)
    except (httpx.HTTPError, OSError, TimeoutError) as exc:
        detail = creds.scrub(str(exc), secrets) or exc.__class__.__name__
        return CheckResult(
            ok=False, message=f"could not reach {spec.display_name}: {detail}", reachable=False
        )
    finally:
        if http is None:
            await client.aclose()
    message = creds.scrub(result.message or "", secrets)
    label = creds.scrub(result.account_label, secrets) if result.account_label else None
    return CheckResult(ok=result.ok, message=message, account_label=label, reachable=result.reachable)
