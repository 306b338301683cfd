"""The issue's proof: a custom OAuth2 integration, registered through the API, connects in
Chromium through the widget like a catalog integration (consent on the loopback emulator)."""

from __future__ import annotations

import pytest

from server.connections.models import Connection
from tests.browser.test_connect_widget import approve_in, connect_frame, events, open_host, types
from tests.integrations.definitions import oauth_definition

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

REGISTER = """
mutation($w: ID, $d: JSON!) {
  createCustomIntegration(input: {workspaceId: $w, definition: $d}) { name integration { source } }
}"""
CONFIGURE = """
mutation($w: ID!, $id: String!, $secret: String!) {
  configureWorkspaceIntegration(input: {workspaceId: $w, integrationName: "acme_crm",
    oauthClientId: $id, oauthClientSecret: $secret}) { hasOAuthClientSecret }
}"""


async def test_a_custom_oauth2_integration_connects_in_chromium(browser, stack):
    tenant, provider = stack.tenant, stack.provider
    registered = await tenant.data(
        REGISTER,
        {"w": tenant.workspace_id, "d": oauth_definition(provider.issuer, display_name="Acme CRM")},
    )
    assert registered["createCustomIntegration"]["integration"]["source"] == "CUSTOM"
    configured = await tenant.data(
        CONFIGURE, {"w": tenant.workspace_id, "id": provider.client_id, "secret": provider.client_secret}
    )
    assert configured["configureWorkspaceIntegration"]["hasOAuthClientSecret"]

    page = await open_host(browser, stack)
    await page.click("[data-mode=modal]")
    frame = await connect_frame(page)
    # Listed in the picker beside the catalog's, with Weir's generic logo.
    tile = await frame.wait_for_selector("[data-integration=acme_crm]")
    assert "Acme CRM" in await tile.inner_text()
    logo = await tile.query_selector("img")
    assert logo is not None and (await logo.get_attribute("src")).endswith("/logos/custom.svg")
    await tile.click()
    button = await frame.wait_for_selector("[data-action=oauth]")
    async with page.context.expect_page() as consent_info:
        await button.click()
    consent = await consent_info.value
    await consent.wait_for_selector("#approve")
    assert consent.url.startswith(provider.issuer + "/authorize")  # the custom provider's page
    await approve_in(consent)
    await frame.wait_for_selector("text=Connected")
    received = await events(page, "success")
    assert types(received)[:4] == ["open", "integration_selected", "oauth_started", "success"]
    connection = await Connection.get(id=received[3]["connectionId"])
    assert (connection.integration_name, connection.auth_type, connection.status) == (
        "acme_crm",
        "OAUTH2",
        "ACTIVE",
    )
    assert [r["grant_type"] for r in provider.token_requests] == ["authorization_code"]
    assert not page.errors
