"""Fixtures for the connect flow: the OAuth2 emulator, test connectors, a configured tenant."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.connect.support import configure_workspace, install_catalog
from tests.emulators.oauth_provider import OAuthProvider, serve_app

REDIRECT_URI = "https://app.example.com/connected"
HOST_ORIGIN = "https://app.example.com"
WEIR_ORIGIN = "http://weir.test"  # the test settings' public URL

CREATE = """
mutation Create($input: CreateConnectSessionInput!) {
  createConnectSession(input: $input) {
    token connectUrl expiresAt
    session { id status allowedIntegrations integrationName redirectUri connectionId
              errorCode errorMessage endUser { externalId } }
  }
}"""
SELECT = """
mutation Select($name: String!) {
  selectIntegration(input: {integrationName: $name}) { id status integrationName }
}"""
START = """
mutation Start($popup: Boolean!) {
  startOAuth(input: {consentInPopup: $popup}) { authorizeUrl session { status } }
}"""
SUBMIT = """
mutation Submit($credentials: JSON!, $name: String) {
  submitCredentials(input: {credentials: $credentials, integrationName: $name}) {
    status connectionId errorCode redirectUrl
  }
}"""
STATE = "query { connectSessionState { id status connectionId errorCode errorMessage redirectUrl } }"
SESSION = """
query Session($id: ID!) {
  connectSession(id: $id) { id status connectionId errorCode errorMessage }
}"""


@pytest.fixture
async def provider(settings: Any) -> AsyncIterator[OAuthProvider]:
    emulator = OAuthProvider(redirect_uris=[f"{settings.effective_public_url}/oauth/callback"])
    async with serve_app(emulator.app()) as url:
        emulator.issuer = url
        emulator.base_url = url  # type: ignore[attr-defined]
        yield emulator


@pytest.fixture
async def acme(tenant: Any, settings: Any, provider: OAuthProvider, monkeypatch: Any) -> Any:
    install_catalog(monkeypatch, provider.base_url)  # type: ignore[attr-defined]
    await configure_workspace(
        settings, tenant.workspace_id, origins=[HOST_ORIGIN], redirect_uris=[REDIRECT_URI]
    )
    return tenant


async def create_session(tenant: Any, **fields: Any) -> dict[str, Any]:
    data = await tenant.data(CREATE, {"input": {"workspaceId": tenant.workspace_id, **fields}})
    return data["createConnectSession"]


async def consent(authorize_url: str, *, approve: bool = True) -> dict[str, str]:
    """Play the user on the emulator's consent page; return the callback's query parameters."""
    query = dict(parse_qsl(urlsplit(authorize_url).query))
    async with httpx.AsyncClient() as browser:
        page = await browser.get(authorize_url)
        assert page.status_code == 200, page.text
        form = {
            name: query.get(name, "")
            for name in ("client_id", "redirect_uri", "state", "scope", "code_challenge")
        }
        form["decision"] = "approve" if approve else "deny"
        base = authorize_url.split("/authorize")[0]
        answer = await browser.post(f"{base}/authorize/decision", data=form)
    assert answer.status_code == 303
    return dict(parse_qsl(urlsplit(answer.headers["location"]).query))


def page_data(html: str) -> dict[str, Any]:
    """The JSON a connect page or callback page hands to its script."""
    found = re.search(r'<script id="weir-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, html
    return json.loads(found.group(1))


async def launch(http: httpx.AsyncClient, token: str, authorize_url: str, **headers: str) -> httpx.Response:
    """What the connect page's form does: POST /oauth/authorize from Weir's origin."""
    state = dict(parse_qsl(urlsplit(authorize_url).query))["state"]
    return await http.post(
        "/oauth/authorize", data={"token": token, "state": state}, headers={"Origin": WEIR_ORIGIN, **headers}
    )


async def start_oauth(tenant: Any, token: str, *, popup: bool = False) -> str:
    """startOAuth, then the launch that binds ``tenant.http`` (the browser) to the flow."""
    selected = await tenant.graphql(SELECT, {"name": "testoauth"}, key=token)
    assert "errors" not in selected, selected
    started = await tenant.graphql(START, {"popup": popup}, key=token)
    assert "errors" not in started, started
    url = started["data"]["startOAuth"]["authorizeUrl"]
    launched = await launch(tenant.http, token, url)
    assert launched.status_code == 200, launched.text
    assert page_data(launched.text)["authorizeUrl"] == url
    return url


async def connect_with_oauth(tenant: Any, **fields: Any) -> dict[str, Any]:
    """Run the whole OAuth flow through the API; return the finished session."""
    created = await create_session(tenant, integrationName="testoauth", **fields)
    url = await start_oauth(tenant, created["token"])
    params = await consent(url)
    page = await tenant.http.get("/oauth/callback", params=params)
    assert page.status_code == 200
    session = await tenant.data(SESSION, {"id": created["session"]["id"]})
    return session["connectSession"]
