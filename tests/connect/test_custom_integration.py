"""The connect flow with a custom OAuth2 integration registered through the API, and with a
workspace's overrides moving a catalog integration's endpoints, against the loopback
authorization server (tests/emulators/oauth_provider.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from server.connections import service as connections
from server.connections.models import Connection
from server.crypto import load_key_ring
from server.integrations import refresh
from tests.connect.conftest import (
    SELECT,
    SESSION,
    START,
    connect_with_oauth,
    consent,
    create_session,
    launch,
    page_data,
)
from tests.connect.support import install_catalog
from tests.integrations.definitions import oauth_definition

REGISTER = """
mutation($w: ID, $d: JSON!) {
  createCustomIntegration(input: {workspaceId: $w, definition: $d}) { id name }
}"""
CONFIGURE = """
mutation($input: ConfigureWorkspaceIntegrationInput!) {
  configureWorkspaceIntegration(input: $input) {
    id integrationName oauthClientId hasOAuthClientSecret
    authorizationUrl tokenUrl revocationUrl apiBaseUrl
    integration { name source oauth { authorizeUrl tokenUrl } }
  }
}"""
TEST = "mutation($id: ID!) { testConnection(id: $id) { ok message } }"


async def configure(tenant: Any, name: str, **fields: Any) -> dict[str, Any]:
    return await tenant.graphql(
        CONFIGURE, {"input": {"workspaceId": tenant.workspace_id, "integrationName": name, **fields}}
    )


async def oauth_connect(tenant: Any, name: str) -> tuple[dict[str, Any], str]:
    """A connect session for ``name``, through consent to the callback; the finished session
    and the authorize URL the browser was sent to."""
    created = await create_session(tenant, integrationName=name, endUserExternalId="u1")
    token = created["token"]
    assert "errors" not in await tenant.graphql(SELECT, {"name": name}, key=token)
    started = await tenant.graphql(START, {"popup": False}, key=token)
    assert "errors" not in started, started
    url = started["data"]["startOAuth"]["authorizeUrl"]
    assert (await launch(tenant.http, token, url)).status_code == 200
    page = await tenant.http.get("/oauth/callback", params=await consent(url))
    assert page.status_code == 200
    session = await tenant.data(SESSION, {"id": created["session"]["id"]})
    return session["connectSession"], url


async def test_a_custom_oauth2_integration_connects_with_the_workspace_app(acme, provider, settings):
    registered = await acme.data(REGISTER, {"w": acme.workspace_id, "d": oauth_definition(provider.base_url)})
    assert registered["createCustomIntegration"]["name"] == "acme_crm"
    configured = await configure(
        acme, "acme_crm", oauthClientId=provider.client_id, oauthClientSecret=provider.client_secret
    )
    assert "errors" not in configured, configured
    row = configured["data"]["configureWorkspaceIntegration"]
    assert row["hasOAuthClientSecret"] and row["integration"]["source"] == "CUSTOM"

    # The hosted page offers it like any other integration, with Weir's generic logo.
    created = await create_session(acme, integrationName="acme_crm")
    page = page_data((await acme.http.get(created["connectUrl"].replace("http://weir.test", ""))).text)
    [offered] = page["integrations"]
    assert (offered["name"], offered["oauth"]) == ("acme_crm", True)
    assert offered["logoUrl"] == "http://weir.test/logos/custom.svg"

    session, url = await oauth_connect(acme, "acme_crm")
    assert session["status"] == "COMPLETED", session
    query = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(f"{provider.base_url}/authorize?")
    assert query["client_id"] == provider.client_id and query["scope"] == "read write"
    connection = await Connection.get(id=session["connectionId"])
    assert (connection.integration_name, connection.auth_type) == ("acme_crm", "OAUTH2")
    credentials = connections.load_credentials(key_ring=load_key_ring(settings), connection=connection)
    assert credentials["access_token"] in provider.access_tokens
    # The definition's credential check calls the provider's API with the token it got.
    checked = await acme.data(TEST, {"id": connection.id})
    assert checked["testConnection"]["ok"] is True, checked


async def test_another_organization_cannot_connect_to_it(acme, provider, other_tenant):
    await acme.data(REGISTER, {"w": None, "d": oauth_definition(provider.base_url)})
    body = await other_tenant.graphql(
        "mutation($w: ID!) { createConnectSession(input: {workspaceId: $w, "
        'allowedIntegrations: ["testkey", "acme_crm"]}) { token } }',
        {"w": other_tenant.workspace_id},
    )
    [field] = body["errors"][0]["extensions"]["fields"]
    assert field["field"] == "input.allowedIntegrations.1"
    # Its default sessions list only what its own organization sees.
    created = await other_tenant.data(
        "mutation($w: ID!) { createConnectSession(input: {workspaceId: $w}) "
        "{ session { allowedIntegrations } } }",
        {"w": other_tenant.workspace_id},
    )
    assert "acme_crm" not in created["createConnectSession"]["session"]["allowedIntegrations"]


async def test_a_workspace_override_moves_a_catalog_integrations_oauth_endpoints(
    acme, provider, settings, monkeypatch
):
    # The catalog's testoauth now lives somewhere unreachable; the workspace moves it back
    # onto the emulator (its sandbox, its GitHub Enterprise).
    install_catalog(monkeypatch, "https://oauth.provider.invalid")
    base = provider.base_url
    configured = await configure(
        acme,
        "testoauth",
        authorizationUrl=f"{base}/authorize",
        tokenUrl=f"{base}/token",
        apiBaseUrl=base,
    )
    assert "errors" not in configured, configured
    row = configured["data"]["configureWorkspaceIntegration"]
    assert (row["authorizationUrl"], row["tokenUrl"], row["apiBaseUrl"]) == (
        f"{base}/authorize",
        f"{base}/token",
        base,
    )
    assert row["integration"]["oauth"] == {"authorizeUrl": f"{base}/authorize", "tokenUrl": f"{base}/token"}

    session = await connect_with_oauth(acme)
    assert session["status"] == "COMPLETED", session
    connection = await Connection.get(id=session["connectionId"])
    # Token refresh posts to the overridden token URL too.
    async with httpx.AsyncClient() as http:
        fresh = await refresh.fresh_credentials(
            settings=settings,
            key_ring=load_key_ring(settings),
            connection=connection,
            http=http,
            bus=None,
            force=True,
        )
    assert fresh["access_token"] in provider.access_tokens
    assert [r["grant_type"] for r in provider.token_requests] == ["authorization_code", "refresh_token"]
    # And the connector's calls go to the overridden API base URL.
    checked = await acme.data(TEST, {"id": connection.id})
    assert checked["testConnection"]["ok"] is True, checked

    # null restores the integration's own endpoints.
    cleared = await configure(acme, "testoauth", authorizationUrl=None, tokenUrl=None, apiBaseUrl=None)
    row = cleared["data"]["configureWorkspaceIntegration"]
    assert row["authorizationUrl"] is None
    assert row["integration"]["oauth"]["authorizeUrl"] == "https://oauth.provider.invalid/authorize"


async def test_an_override_to_a_private_address_is_refused_by_the_outbound_guard(acme, provider):
    # 10.0.0.0/8 is not opened by this deployment (only loopback is, outside production).
    configured = await configure(acme, "testoauth", tokenUrl="http://10.20.30.40:8080/token")
    assert "errors" not in configured, configured
    session = await connect_with_oauth(acme)
    assert (session["status"], session["errorCode"]) == ("FAILED", "TOKEN_EXCHANGE_FAILED")
    assert "unreachable" in session["errorMessage"]
    assert provider.token_requests == []  # the code never left Weir
    assert await Connection.all().count() == 0


async def test_overrides_are_validated_field_by_field(acme):
    cases = [
        ({"tokenUrl": "ftp://files.example/token"}, "input.tokenUrl"),
        ({"authorizationUrl": "https://{tenant}.example/authorize"}, "input.authorizationUrl"),
        ({"revocationUrl": "https://example.com/" + "r" * 2000}, "input.revocationUrl"),
        ({"apiBaseUrl": "javascript:alert(1)"}, "input.apiBaseUrl"),
        ({"apiBaseUrl": "https://exa mple.com"}, "input.apiBaseUrl"),
    ]
    for fields, path in cases:
        body = await configure(acme, "testoauth", **fields)
        error = body["errors"][0]
        assert error["extensions"]["code"] == "VALIDATION_FAILED", body
        assert [f["field"] for f in error["extensions"]["fields"]] == [path], body
    # OAuth URLs on an integration without OAuth are refused; its API base URL may move.
    body = await configure(acme, "testkey", tokenUrl="https://example.com/token")
    assert body["errors"][0]["extensions"]["fields"][0]["field"] == "input.tokenUrl"
    moved = await configure(acme, "testkey", apiBaseUrl="https://sandbox.example.com/v1")
    assert moved["data"]["configureWorkspaceIntegration"]["apiBaseUrl"] == "https://sandbox.example.com/v1"
