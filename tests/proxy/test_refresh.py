"""An OAuth connection whose token the provider refuses: one refresh and a retry; a 401 that
survives the refresh puts the connection in ERROR and answers REAUTHORIZATION_REQUIRED."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import ids
from server.calls.models import CallLog
from server.connections import service as connections
from server.connections.models import Connection
from server.connectors import registry
from server.connectors.definition import parse_definition
from server.crypto import load_key_ring
from server.integrations.models import WorkspaceIntegration
from server.scope import Scope
from tests.calls.helpers import flush_calls
from tests.emulators.oauth_provider import OAuthProvider, serve_app
from tests.integrations.definitions import oauth_definition


class RefusingProvider(OAuthProvider):
    """Issues tokens, but its API refuses every one of them (access revoked at the provider)."""

    async def me(self, request: Request) -> Response:
        return JSONResponse(
            {"error": "invalid_token", "error_description": "The access token was revoked by the user"},
            status_code=401,
        )


async def _oauth_connection(provider: OAuthProvider, url: str, tenant, settings, monkeypatch) -> Connection:
    monkeypatch.setitem(registry.CONNECTORS, "acme_crm", parse_definition(oauth_definition(url)))
    key_ring = load_key_ring(settings)
    row_id = ids.new_id("workspace_integration")
    await WorkspaceIntegration.create(
        id=row_id,
        organization_id=tenant.organization_id,
        workspace_id=tenant.workspace_id,
        integration_name="acme_crm",
        oauth_client_id=provider.client_id,
        oauth_client_secret_encrypted=key_ring.encrypt(
            provider.client_secret.encode(), associated_data=row_id
        ),
    )
    provider.access_tokens.add("at_first")
    provider.refresh_tokens.add("rt_first")
    return await connections.create_connection(
        scope=Scope(organization_id=tenant.organization_id),
        key_ring=key_ring,
        settings=settings,
        integration_name="acme_crm",
        auth_type="OAUTH2",
        credentials={"access_token": "at_first", "refresh_token": "rt_first"},
        connection_scope="WORKSPACE",
        workspace_id=tenant.workspace_id,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )


def _refreshes(provider: OAuthProvider) -> list[dict[str, str]]:
    return [request for request in provider.token_requests if request["grant_type"] == "refresh_token"]


async def test_a_refused_token_is_refreshed_once_and_the_call_retried(tenant, settings, monkeypatch):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        provider.revoke_access_tokens()  # the stored token no longer works
        response = await tenant.http.get(
            "/proxy/api/me",
            headers={"Authorization": f"Bearer {tenant.key}", "X-Weir-Connection-Id": connection.id},
        )
    assert response.status_code == 200, response.text
    assert response.json()["login"] == "emulated-user"
    assert len(_refreshes(provider)) == 1
    stored = await Connection.get(id=connection.id)
    assert stored.status == "ACTIVE"
    fresh = connections.load_credentials(key_ring=load_key_ring(settings), connection=stored)
    assert fresh["access_token"] != "at_first" and fresh["access_token"] in provider.access_tokens


async def test_a_401_that_survives_the_refresh_needs_reauthorization(tenant, settings, monkeypatch, app):
    provider = RefusingProvider()
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        response = await tenant.http.get(
            "/proxy/api/me",
            headers={"Authorization": f"Bearer {tenant.key}", "X-Weir-Connection-Id": connection.id},
        )
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "REAUTHORIZATION_REQUIRED"
    assert "revoked by the user" in error["message"]
    assert len(_refreshes(provider)) == 1
    stored = await Connection.get(id=connection.id)
    assert stored.status == "ERROR"
    assert "revoked by the user" in stored.status_reason
    await flush_calls(app)
    row = await CallLog.get(organization_id=tenant.organization_id)
    assert (row.status, row.error_code) == ("FAILED", "REAUTHORIZATION_REQUIRED")


async def test_a_refused_refresh_token_needs_reauthorization(tenant, settings, monkeypatch):
    provider = OAuthProvider(refuse_refresh=True)
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        provider.revoke_access_tokens()
        response = await tenant.http.get(
            "/proxy/api/me",
            headers={"Authorization": f"Bearer {tenant.key}", "X-Weir-Connection-Id": connection.id},
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "REAUTHORIZATION_REQUIRED"
    assert (await Connection.get(id=connection.id)).status == "ERROR"
