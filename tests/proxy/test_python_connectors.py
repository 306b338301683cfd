"""GitHub and HubSpot (Python connectors) through the proxy, against their emulators, with a
workspace's API base URL override pointing at them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server import ids
from server.connections import service as connections
from server.crypto import load_key_ring
from server.integrations.models import WorkspaceIntegration
from server.scope import Scope
from tests.emulators import github as github_emulator
from tests.emulators import hubspot as hubspot_emulator
from tests.emulators.common import serve


async def _connection(tenant, settings, name: str, url: str, auth_type: str, credentials: dict):
    await WorkspaceIntegration.create(
        id=ids.new_id("workspace_integration"),
        organization_id=tenant.organization_id,
        workspace_id=tenant.workspace_id,
        integration_name=name,
        api_base_url=url,
    )
    return await connections.create_connection(
        scope=Scope(organization_id=tenant.organization_id),
        key_ring=load_key_ring(settings),
        settings=settings,
        integration_name=name,
        auth_type=auth_type,
        credentials=credentials,
        connection_scope="WORKSPACE",
        workspace_id=tenant.workspace_id,
        expires_at=datetime.now(UTC) + timedelta(hours=1) if auth_type == "OAUTH2" else None,
    )


async def test_github_through_the_proxy_with_the_callers_accept(tenant, settings):
    emulator = github_emulator.GitHubEmulator(repositories=2)
    async with serve(emulator.app) as url:
        connection = await _connection(
            tenant, settings, "github", url, "SECRET_TEXT", {"secret_text": github_emulator.TOKEN}
        )
        response = await tenant.http.get(
            "/proxy/user/repos?per_page=1",
            headers={
                "Authorization": f"Bearer {tenant.key}",
                "X-Weir-Integration": "github",
                "X-Weir-Workspace-Id": tenant.workspace_id,
                "X-Weir-Connection-Id": connection.id,
                "Accept": "application/vnd.github+json",
            },
        )
    assert response.status_code == 200, response.text
    assert [repo["full_name"] for repo in response.json()] == ["octo-org/project-001"]
    assert github_emulator.TOKEN not in str(response.headers.raw)


async def test_hubspot_through_the_proxy(tenant, settings):
    emulator = hubspot_emulator.HubSpotEmulator(contacts=3)
    async with serve(emulator.app) as url:
        connection = await _connection(
            tenant, settings, "hubspot", url, "OAUTH2", {"access_token": hubspot_emulator.TOKEN}
        )
        response = await tenant.http.get(
            "/proxy/crm/v3/objects/contacts?limit=2",
            headers={"Authorization": f"Bearer {tenant.key}", "X-Weir-Connection-Id": connection.id},
        )
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) == 2
