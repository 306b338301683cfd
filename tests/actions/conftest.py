"""Fixtures for executeAction: the OAuth provider and chat API on loopback, ``testmessages`` in
the catalog, a tenant with two end users and a second workspace, and helpers to call it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from server import ids
from server.connectors import registry
from server.orgs.models import EndUser, Workspace
from tests.actions.support import API_KEY, NAME, MessagesApi, messages_connector
from tests.connect.support import add_oauth_app
from tests.emulators.common import serve_emulator  # noqa: F401 (a fixture for these tests)
from tests.emulators.oauth_provider import OAuthProvider
from tests.serving import serve

EXECUTE = """
mutation Execute($input: ExecuteActionInput!) {
  executeAction(input: $input) { output connectionId resolvedBy replayed durationMs }
}"""
CREATE_CONNECTION = """
mutation Create($input: CreateConnectionInput!) { createConnection(input: $input) { id } }"""
CONFIGURE = """
mutation Configure($input: ConfigureWorkspaceIntegrationInput!) {
  configureWorkspaceIntegration(input: $input) { id }
}"""
MESSAGE = {"channel": "C123", "text": "Deploy finished"}


@dataclass
class Acme:
    """The tenant, its end users ``alice`` and ``bob``, and a second workspace ``staging``
    (with its own end user ``carol``)."""

    tenant: Any
    alice: EndUser
    bob: EndUser
    staging_id: str
    carol: EndUser

    @property
    def workspace_id(self) -> str:
        return self.tenant.workspace_id

    async def execute(self, *, key: str | None = None, **fields: Any) -> dict[str, Any]:
        """``executeAction`` with ``send_message`` of MESSAGE in the default workspace unless
        ``fields`` say otherwise; the whole response body."""
        given = {
            "integrationName": NAME,
            "action": "send_message",
            "workspaceId": self.workspace_id,
            "input": MESSAGE,
            **fields,
        }
        return await self.tenant.graphql(EXECUTE, {"input": given}, key=key)

    async def executed(self, **fields: Any) -> dict[str, Any]:
        body = await self.execute(**fields)
        assert "errors" not in body, body["errors"]
        return body["data"]["executeAction"]

    async def connection(self, **fields: Any) -> str:
        """A SECRET_TEXT connection the chat API accepts; the id."""
        given = {"integrationName": NAME, "authType": "SECRET_TEXT", "secretText": API_KEY, **fields}
        return (await self.tenant.data(CREATE_CONNECTION, {"input": given}))["createConnection"]["id"]

    async def configure(self, **fields: Any) -> None:
        given = {"workspaceId": self.workspace_id, "integrationName": NAME, **fields}
        await self.tenant.data(CONFIGURE, {"input": given})


def failure(body: dict[str, Any]) -> dict[str, Any]:
    """The one error of a failed operation: its message and extensions."""
    assert body.get("errors"), body
    assert len(body["errors"]) == 1, body["errors"]
    return body["errors"][0]


@pytest.fixture
async def provider(settings: Any) -> AsyncIterator[OAuthProvider]:
    emulator = OAuthProvider(redirect_uris=[f"{settings.effective_public_url}/oauth/callback"])
    async with serve(emulator.app()) as url:
        emulator.issuer = url
        emulator.base_url = url  # type: ignore[attr-defined]
        yield emulator


@pytest.fixture
async def messages(provider: OAuthProvider) -> AsyncIterator[MessagesApi]:
    api = MessagesApi(valid=lambda token: token == API_KEY or token in provider.access_tokens)
    async with serve(api.app()) as url:
        api.url = url  # type: ignore[attr-defined]
        yield api


@pytest.fixture
async def acme(
    tenant: Any, settings: Any, provider: OAuthProvider, messages: MessagesApi, monkeypatch: Any
) -> Acme:
    connector = messages_connector(
        provider_url=provider.base_url,  # type: ignore[attr-defined]
        api_url=messages.url,  # type: ignore[attr-defined]
    )
    monkeypatch.setitem(registry.CONNECTORS, NAME, connector)
    await add_oauth_app(settings, tenant.workspace_id, NAME)
    staging = await Workspace.create(
        id=ids.new_id("workspace"), organization_id=tenant.organization_id, name="staging"
    )

    async def end_user(workspace_id: str, external_id: str) -> EndUser:
        return await EndUser.create(
            id=ids.new_id("end_user"),
            organization_id=tenant.organization_id,
            workspace_id=workspace_id,
            external_id=external_id,
        )

    return Acme(
        tenant=tenant,
        alice=await end_user(tenant.workspace_id, "alice"),
        bob=await end_user(tenant.workspace_id, "bob"),
        staging_id=staging.id,
        carol=await end_user(staging.id, "carol"),
    )


async def oauth_connection(acme: Acme, provider: OAuthProvider, *, fresh: bool = True, **fields: Any) -> str:
    """An OAUTH2 connection whose refresh token the provider knows; its access token is one the
    provider accepts (``fresh``) or one it no longer knows (a 401 until refreshed)."""
    access, refresh = f"at_{secrets.token_hex(8)}", f"rt_{secrets.token_hex(8)}"
    provider.refresh_tokens.add(refresh)
    if fresh:
        provider.access_tokens.add(access)
    given = {
        "integrationName": NAME,
        "authType": "OAUTH2",
        "accessToken": access,
        "refreshToken": refresh,
        "workspaceId": acme.workspace_id,
        **fields,
    }
    created = await acme.tenant.data(CREATE_CONNECTION, {"input": given})
    return created["createConnection"]["id"]
