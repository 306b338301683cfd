"""``connector_for``: the catalog or the organization's custom integration, then the deployment's
endpoint overrides, then the workspace's; ``list_integrations`` shows what a workspace sees."""

from __future__ import annotations

import pytest

from server import ids
from server.errors import NotFound, ValidationFailed
from server.integrations import catalog, custom
from server.integrations.models import WorkspaceIntegration
from server.scope import Scope
from tests.integrations.definitions import oauth_definition


async def test_the_catalog_entry_comes_with_the_deployments_then_the_workspaces_overrides(tenant, settings):
    deployment = settings.replace(
        connector_authorize_urls={"hubspot": "https://sandbox.example/authorize"},
        connector_token_urls={"hubspot": "https://sandbox.example/token"},
        connector_base_urls={"hubspot": "https://sandbox.example/api"},
    )
    found = await catalog.connector_for(
        settings=deployment,
        organization_id=tenant.organization_id,
        workspace_id=tenant.workspace_id,
        name="hubspot",
    )
    assert found.SPEC.oauth.authorize_url == "https://sandbox.example/authorize"
    assert found.SPEC.oauth.token_url == "https://sandbox.example/token"
    assert found.SPEC.base_url == "https://sandbox.example/api"
    assert found.SPEC.source == "CATALOG"

    await WorkspaceIntegration.create(
        id=ids.new_id("workspace_integration"),
        organization_id=tenant.organization_id,
        workspace_id=tenant.workspace_id,
        integration_name="hubspot",
        token_url="https://workspace.example/token",
    )
    moved = await catalog.connector_for(
        settings=deployment,
        organization_id=tenant.organization_id,
        workspace_id=tenant.workspace_id,
        name="hubspot",
    )
    assert moved.SPEC.oauth.token_url == "https://workspace.example/token"  # the workspace wins
    assert moved.SPEC.oauth.authorize_url == "https://sandbox.example/authorize"
    # The connector's own functions are kept; only its spec moved.
    from server.connectors import hubspot

    assert moved.check == hubspot.check and moved.read == hubspot.read
    # Without a workspace, the deployment's overrides alone.
    plain = await catalog.connector_for(
        settings=deployment, organization_id=tenant.organization_id, workspace_id=None, name="hubspot"
    )
    assert plain.SPEC.oauth.token_url == "https://sandbox.example/token"


async def test_a_custom_integration_is_seen_only_where_it_was_registered(tenant, other_tenant, settings):
    scope = Scope(organization_id=tenant.organization_id)
    await custom.create_custom_integration(
        scope=scope, workspace_id=tenant.workspace_id, definition=oauth_definition("https://crm.example")
    )
    found = await catalog.connector_for(
        settings=settings,
        organization_id=tenant.organization_id,
        workspace_id=tenant.workspace_id,
        name="acme_crm",
    )
    assert found.SPEC.source == "CUSTOM" and found.SPEC.base_url == "https://crm.example"
    for organization_id, workspace_id in (
        (tenant.organization_id, None),  # organization-wide callers see organization-wide ones only
        (other_tenant.organization_id, other_tenant.workspace_id),
    ):
        with pytest.raises(NotFound):
            await catalog.connector_for(
                settings=settings, organization_id=organization_id, workspace_id=workspace_id, name="acme_crm"
            )
    listed = await catalog.list_integrations(
        settings=settings,
        organization_id=tenant.organization_id,
        workspace_id=tenant.workspace_id,
        search="acme",
    )
    assert [spec.name for spec in listed] == ["acme_crm"]
    theirs = await catalog.list_integrations(
        settings=settings,
        organization_id=other_tenant.organization_id,
        workspace_id=other_tenant.workspace_id,
    )
    assert "acme_crm" not in {spec.name for spec in theirs}
    assert {"demo", "hubspot"} <= {spec.name for spec in theirs}


def test_parse_maps_every_problem_to_an_input_definition_path():
    definition = oauth_definition("https://crm.example", category="SPACE")
    definition["streams"][0]["pagination"] = {"type": "carrier_pigeon"}
    with pytest.raises(ValidationFailed) as caught:
        custom.parse(definition)
    assert sorted(error.field for error in caught.value.errors) == [
        "input.definition.category",
        "input.definition.streams.0.pagination.type",
    ]


def test_the_deployment_overrides_are_read_from_the_environment():
    from server.config import Settings

    settings = Settings.from_env(
        {
            "WEIR_CONNECTOR_GITHUB_AUTHORIZE_URL": "https://ghe.example/login/oauth/authorize",
            "WEIR_CONNECTOR_GITHUB_TOKEN_URL": "https://ghe.example/login/oauth/access_token",
            "WEIR_CONNECTOR_GITHUB_REVOCATION_URL": "https://ghe.example/revoke",
            "WEIR_CONNECTOR_GITHUB_BASE_URL": "https://ghe.example/api/v3/",
        }
    )
    assert settings.connector_authorize_urls == {"github": "https://ghe.example/login/oauth/authorize"}
    assert settings.connector_token_urls == {"github": "https://ghe.example/login/oauth/access_token"}
    assert settings.connector_revocation_urls == {"github": "https://ghe.example/revoke"}
    assert settings.connector_base_urls == {"github": "https://ghe.example/api/v3"}
