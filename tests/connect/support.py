"""Test-only connectors and set-up for the connect flow (no dependence on real providers).

``testoauth`` (OAUTH2 against the loopback emulator), ``testkey`` (SECRET_TEXT: only
``sk_good`` passes its check) and ``testdb`` (CUSTOM_AUTH with an enum and a secret field).
``testshop`` and ``testdesk`` have per-connection parameters (``install_parameter_connectors``).
``install_tenant_connector`` adds ``testtenant``: per-connection parameters (``tenant``, a
host-name label, and ``region``, ``eu`` or ``us``) that fill its OAuth URLs and base URL, the
emulator's ``/t/<tenant>/`` routes; OAUTH2, or SECRET_TEXT (``sk_good``) for the form.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from server import ids
from server.connectors.base import CheckResult, ConnectorContext, ConnectorSpec, OAuthSpec
from server.connectors.schemas import form
from server.connectors.templates import Where, render
from server.crypto import load_key_ring
from server.integrations.models import WorkspaceIntegration
from server.orgs.models import Workspace


async def _no_read(context: Any, stream: str, settings: Any, state: Any):  # pragma: no cover
    if False:
        yield None


def oauth_connector(provider_url: str) -> SimpleNamespace:
    async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
        response = await context.http.get(
            f"{context.base_url}/api/me", headers={"Authorization": f"Bearer {credentials['access_token']}"}
        )
        return CheckResult(ok=response.status_code == 200, message=f"HTTP {response.status_code}")

    spec = ConnectorSpec(
        name="testoauth",
        display_name="Test OAuth",
        category="CRM",
        auth_types=("OAUTH2",),
        description="An OAuth2 provider emulated on loopback.",
        base_url=provider_url,
        oauth=OAuthSpec(
            authorize_url=f"{provider_url}/authorize",
            token_url=f"{provider_url}/token",
            revocation_url=f"{provider_url}/revoke",
            default_scopes=("read", "write"),
            issuer=provider_url,
        ),
    )
    return SimpleNamespace(SPEC=spec, check=check, read=_no_read)


def secret_connector() -> SimpleNamespace:
    async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
        if credentials.get("secret_text") == "sk_good":
            return CheckResult(ok=True, account_label="acct_1")
        return CheckResult(ok=False, message="The provider rejected this API key (401).")

    spec = ConnectorSpec(
        name="testkey",
        display_name="Test Key",
        category="PAYMENTS",
        auth_types=("SECRET_TEXT",),
        description="An API-key service.",
    )
    return SimpleNamespace(SPEC=spec, check=check, read=_no_read)


def custom_connector() -> SimpleNamespace:
    async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
        return CheckResult(ok=True)

    spec = ConnectorSpec(
        name="testdb",
        display_name="Test Database",
        category="DATABASE",
        auth_types=("CUSTOM_AUTH",),
        description="A database with a host and a password.",
        auth_fields_schema={
            "type": "object",
            "required": ["host", "password"],
            "properties": {
                "host": {"type": "string", "title": "Host", "description": "Server name"},
                "port": {"type": "integer", "title": "Port", "default": 5432},
                "sslmode": {
                    "type": "string",
                    "title": "SSL mode",
                    "enum": ["disable", "require"],
                    "default": "require",
                },
                "password": {"type": "string", "title": "Password", "format": "password", "writeOnly": True},
            },
        },
    )
    return SimpleNamespace(SPEC=spec, check=check, read=_no_read)


SHOP_PARAMETERS = {
    "type": "object",
    "required": ["shop"],
    "properties": {
        "shop": {
            "type": "string",
            "title": "Shop name",
            "description": "The name in your shop's address, before .shop.test",
            "pattern": "^[a-z0-9][a-z0-9-]{0,59}$",
            "examples": ["acme-store"],
        }
    },
}


def parameters_oauth_connector(provider_url: str) -> SimpleNamespace:
    """``testshop``: OAUTH2 against the loopback emulator, with a ``shop`` parameter."""
    spec = ConnectorSpec(
        name="testshop",
        display_name="Test Shop",
        category="ECOMMERCE",
        auth_types=("OAUTH2",),
        description="A shop platform with one host per shop.",
        base_url=provider_url,
        oauth=OAuthSpec(
            authorize_url=f"{provider_url}/authorize",
            token_url=f"{provider_url}/token",
            default_scopes=("read",),
            issuer=provider_url,
        ),
        parameters_schema=SHOP_PARAMETERS,
    )
    return SimpleNamespace(SPEC=spec, check=oauth_connector(provider_url).check, read=_no_read)


def parameters_key_connector() -> SimpleNamespace:
    """``testdesk``: a custom SECRET_TEXT integration with a ``subdomain`` parameter and an https
    logo that never loads (``.invalid`` does not resolve), so the page shows its lettermark."""

    async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
        if credentials.get("secret_text") == "sk_good":
            return CheckResult(ok=True, account_label=str(context.parameters.get("subdomain")))
        return CheckResult(ok=False, message="The provider rejected this API key (401).")

    spec = ConnectorSpec(
        name="testdesk",
        display_name="Test Desk",
        category="COMMUNICATION",
        auth_types=("SECRET_TEXT",),
        description="A help desk with one subdomain per account.",
        parameters_schema={
            "type": "object",
            "required": ["subdomain"],
            "properties": {
                "subdomain": {
                    "type": "string",
                    "title": "Subdomain",
                    "description": "The first part of your help desk's address",
                    "pattern": "^[a-z0-9-]+$",
                    "examples": ["acme"],
                }
            },
        },
        source="CUSTOM",
        logo_url="https://logo.invalid/testdesk.svg",
    )
    return SimpleNamespace(SPEC=spec, check=check, read=_no_read)


def install_parameter_connectors(monkeypatch: Any, provider_url: str, *more: Any) -> None:
    """Adds ``testshop``, ``testdesk`` (and any ``more`` modules) to the installed test catalog."""
    from server.connectors import registry
    from server.integrations import catalog

    added = (parameters_oauth_connector(provider_url), parameters_key_connector(), *more)
    modules = {**registry.CONNECTORS, **{module.SPEC.name: module for module in added}}
    monkeypatch.setattr(registry, "CONNECTORS", modules)
    monkeypatch.setattr(catalog, "CONNECTORS", modules)


async def add_oauth_app(settings: Any, workspace_id: str, integration_name: str) -> None:
    """The workspace's OAuth app for another test integration (the emulator accepts any name)."""
    workspace = await Workspace.get(id=workspace_id)
    row_id = ids.new_id("workspace_integration")
    sealed = load_key_ring(settings).encrypt(b"weir-test-secret", associated_data=row_id)
    await WorkspaceIntegration.create(
        id=row_id,
        organization_id=workspace.organization_id,
        workspace_id=workspace.id,
        integration_name=integration_name,
        oauth_client_id="weir-test-client",
        oauth_client_secret_encrypted=sealed,
    )


TENANT_PARAMETERS = form(
    {
        "tenant": {"type": "string", "title": "Workspace", "description": "acme in acme.example.com"},
        "region": {"type": "string", "title": "Region", "pattern": "eu|us", "default": "eu"},
    },
    required=["tenant"],
)


def tenant_connector(provider_url: str) -> SimpleNamespace:
    """``testtenant``; ``checked`` records the parameters each check's context had."""
    checked: list[dict[str, Any]] = []

    async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
        checked.append(dict(context.parameters))
        if "secret_text" in credentials:
            ok = credentials["secret_text"] == "sk_good"
            return CheckResult(ok=ok, message="" if ok else "The provider rejected this API key (401).")
        base_url = render(context.base_url or "", context.parameters, Where.URL)
        response = await context.http.get(
            f"{base_url}/api/me", headers={"Authorization": f"Bearer {credentials['access_token']}"}
        )
        return CheckResult(ok=response.status_code == 200, message=f"HTTP {response.status_code}")

    spec = ConnectorSpec(
        name="testtenant",
        display_name="Test Tenant",
        category="SUPPORT",
        auth_types=("OAUTH2", "SECRET_TEXT"),
        description="A provider with one site per customer, emulated on loopback.",
        base_url=f"{provider_url}/t/{{tenant}}",
        parameters_schema=TENANT_PARAMETERS,
        oauth=OAuthSpec(
            authorize_url=f"{provider_url}/t/{{tenant}}/authorize",
            token_url=f"{provider_url}/t/{{tenant}}/token",
            default_scopes=("read",),
        ),
    )
    return SimpleNamespace(SPEC=spec, check=check, read=_no_read, checked=checked)


async def install_tenant_connector(
    monkeypatch: Any, provider_url: str, settings: Any, workspace_id: str, **oauth: Any
) -> SimpleNamespace:
    """Add ``testtenant`` (its OAuthSpec changed by ``oauth``) to the catalog ``install_catalog``
    put in place, with the workspace's OAuth app for it."""
    import dataclasses

    from server.connectors import registry

    module = tenant_connector(provider_url)
    if oauth:
        module.SPEC = dataclasses.replace(module.SPEC, oauth=dataclasses.replace(module.SPEC.oauth, **oauth))
    monkeypatch.setitem(registry.CONNECTORS, "testtenant", module)
    workspace = await Workspace.get(id=workspace_id)
    row_id = ids.new_id("workspace_integration")
    sealed = load_key_ring(settings).encrypt(b"weir-test-secret", associated_data=row_id)
    await WorkspaceIntegration.create(
        id=row_id,
        organization_id=workspace.organization_id,
        workspace_id=workspace.id,
        integration_name="testtenant",
        oauth_client_id="weir-test-client",
        oauth_client_secret_encrypted=sealed,
    )
    return module


def install_catalog(monkeypatch: Any, provider_url: str) -> None:
    from server.connectors import registry

    modules = {
        m.SPEC.name: m for m in (oauth_connector(provider_url), secret_connector(), custom_connector())
    }
    monkeypatch.setattr(registry, "CONNECTORS", modules)
    # Modules that imported the dict itself see the same replacement.
    from server.integrations import catalog

    monkeypatch.setattr(catalog, "CONNECTORS", modules)


async def configure_workspace(
    settings: Any,
    workspace_id: str,
    *,
    origins: list[str] = (),
    redirect_uris: list[str] = (),
    client_id: str = "weir-test-client",
    client_secret: str = "weir-test-secret",
    scopes: list[str] | None = None,
) -> None:
    """Allowed origins and redirect URIs, and the workspace's OAuth app for ``testoauth``."""
    workspace = await Workspace.get(id=workspace_id)
    workspace.allowed_origins = list(origins)
    workspace.allowed_redirect_uris = list(redirect_uris)
    workspace.display_name = "Acme Analytics"
    workspace.primary_color = "#6d28d9"
    await workspace.save()
    row_id = ids.new_id("workspace_integration")
    sealed = load_key_ring(settings).encrypt(client_secret.encode(), associated_data=row_id)
    await WorkspaceIntegration.create(
        id=row_id,
        organization_id=workspace.organization_id,
        workspace_id=workspace.id,
        integration_name="testoauth",
        oauth_client_id=client_id,
        oauth_client_secret_encrypted=sealed,
        scopes=scopes,
    )
