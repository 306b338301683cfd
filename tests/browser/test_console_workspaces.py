"""The console's Workspaces and End users pages in Chromium: branding with its live preview,
allowed origins with the API's field errors, an OAuth app, and end users from creation to deletion."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import ConsoleSite

pytestmark = pytest.mark.timeout(120)

WORKSPACE = """query($id: ID!) { workspace(id: $id) {
  displayName primaryColor theme allowedOrigins allowedRedirectUris } }"""


async def open_workspace(console: ConsoleSite) -> None:
    await console.open("/workspaces")
    await console.page.get_by_role("link", name="default", exact=True).click()
    await console.page.get_by_role("heading", name="Workspace default", level=1).wait_for()


async def test_branding_changes_the_preview_as_you_type_then_saves(
    console: ConsoleSite, screenshots: Path
) -> None:
    page = console.page
    await open_workspace(console)
    preview = page.get_by_test_id("connect-preview")
    await preview.get_by_text("Connect an account").wait_for()
    assert await preview.locator(".ws-p-brand").text_content() == "Connect"  # the page's own default
    assert await preview.locator(".ws-p-int").count() > 0  # tiles from integrations(workspaceId)

    await page.get_by_label("Display name").fill("Acme Support")
    await page.get_by_label("Primary colour", exact=True).fill("#0b6e4f")
    await page.get_by_label("Connect page theme").select_option("DARK")
    # The preview follows the form before anything is saved.
    assert await preview.locator(".ws-p-brand").text_content() == "Acme Support"
    assert await preview.get_attribute("data-theme") == "dark"
    button = preview.locator(".ws-p-primary")
    assert await button.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(11, 110, 79)"
    saved = (await console.tenant.data(WORKSPACE, {"id": console.tenant.workspace_id}))["workspace"]
    assert saved["displayName"] is None and saved["primaryColor"] is None and saved["theme"] == "LIGHT"

    # A logo from Weir's own origin shows; one from elsewhere (the console's policy loads no
    # other image) stands as a placeholder, with a note saying why.
    await page.get_by_label("Logo URL").fill(f"{console.url}/console/icon.svg")
    assert await preview.locator("img.ws-p-logo").get_attribute("src") == f"{console.url}/console/icon.svg"
    await page.get_by_label("Logo URL").fill("https://cdn.example.com/acme.png")
    await preview.locator(".ws-p-logo-placeholder").wait_for()
    await page.get_by_text("the connect page shows the image at this address").wait_for()
    await page.get_by_label("Logo URL").fill("")

    # The real picker's search box and chips (past seven integrations), "All" in the brand colour.
    chip = preview.locator(".ws-p-chip-on")
    assert await chip.text_content() == "All"
    assert await chip.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(11, 110, 79)"
    # A colour too light for white text is named for what it does to the page.
    await page.get_by_label("Primary colour", exact=True).fill("#fde68a")
    await page.get_by_text("under the 4.5:1 that WCAG asks for").wait_for()

    # A colour the API refuses is named next to its field; the preview keeps the default blue.
    await page.get_by_label("Primary colour", exact=True).fill("green")
    assert await button.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(37, 99, 235)"
    await page.get_by_role("button", name="Save branding").click()
    error = page.locator(".field.invalid .field-error")
    await error.wait_for()
    assert (
        "#rrggbb" in (await error.text_content() or "")
        or "color" in (await error.text_content() or "").lower()
    )

    await page.get_by_label("Primary colour", exact=True).fill("#0b6e4f")
    await page.get_by_role("button", name="Save branding").click()
    await page.get_by_role("status").filter(has_text="Branding saved").wait_for()
    saved = (await console.tenant.data(WORKSPACE, {"id": console.tenant.workspace_id}))["workspace"]
    assert saved == {**saved, "displayName": "Acme Support", "primaryColor": "#0b6e4f", "theme": "DARK"}

    await page.reload()
    await page.get_by_role("heading", name="Workspace default", level=1).wait_for()
    await preview.locator(".ws-p-brand").filter(has_text="Acme Support").wait_for()
    assert await page.get_by_label("Display name").input_value() == "Acme Support"
    assert await page.get_by_label("Connect page theme").input_value() == "DARK"
    assert await preview.get_attribute("data-theme") == "dark"
    assert await console.axe() == []
    await page.get_by_role("heading", name="Branding of the connect page").evaluate(
        "el => el.scrollIntoView()"
    )
    await page.screenshot(path=screenshots / "console-workspaces.png")


async def test_a_change_made_elsewhere_shows_live(console: ConsoleSite) -> None:
    page = console.page
    await open_workspace(console)
    await page.get_by_test_id("connect-preview").wait_for()
    await console.tenant.data(
        'mutation($id: ID!) { updateWorkspace(input: {id: $id, displayName: "Changed by the API"}) { id } }',
        {"id": console.tenant.workspace_id},
    )
    brand = page.get_by_test_id("connect-preview").locator(".ws-p-brand")
    await brand.filter(has_text="Changed by the API").wait_for()  # through workspaceUpdated
    assert await page.get_by_label("Display name").input_value() == "Changed by the API"


async def test_allowed_origins_show_the_api_s_error_per_row(console: ConsoleSite) -> None:
    page = console.page
    await open_workspace(console)
    origins = page.get_by_role("group", name="Allowed origins")
    await origins.get_by_role("button", name="Add origin").click()
    await origins.get_by_label("Allowed origin 1").fill("https://app.example.com")
    await origins.get_by_role("button", name="Add origin").click()
    await origins.get_by_label("Allowed origin 2").fill("https://app.example.com/path")
    await origins.get_by_role("button", name="Save allowed origins").click()
    error = origins.locator(".field.invalid .field-error")
    await error.wait_for()
    assert "not an origin" in (await error.text_content() or "")
    assert await error.count() == 1  # only the second row is wrong
    invalid = origins.get_by_label("Allowed origin 2")
    assert await invalid.get_attribute("aria-describedby")
    assert await origins.get_by_role("alert").count() == 1  # the summary names the code
    saved = (await console.tenant.data(WORKSPACE, {"id": console.tenant.workspace_id}))["workspace"]
    assert saved["allowedOrigins"] == []

    await origins.get_by_role("button", name="Remove origin 2 (https://app.example.com/path)").click()
    await origins.get_by_role("button", name="Save allowed origins").click()
    await origins.get_by_role("status").filter(has_text="Allowed origins saved").wait_for()
    saved = (await console.tenant.data(WORKSPACE, {"id": console.tenant.workspace_id}))["workspace"]
    assert saved["allowedOrigins"] == ["https://app.example.com"]

    redirects = page.get_by_role("group", name="Allowed redirect URIs")
    await redirects.get_by_role("button", name="Add redirect URI").click()
    await redirects.get_by_label("Allowed redirect URI 1").fill("https://app.example.com/connected")
    await redirects.get_by_role("button", name="Save allowed redirect URIs").click()
    await redirects.get_by_role("status").filter(has_text="saved").wait_for()
    saved = (await console.tenant.data(WORKSPACE, {"id": console.tenant.workspace_id}))["workspace"]
    assert saved["allowedRedirectUris"] == ["https://app.example.com/connected"]


async def test_configures_an_oauth_app_whose_secret_is_never_shown(console: ConsoleSite) -> None:
    page = console.page
    await open_workspace(console)
    form = page.get_by_role("group", name="Configure an integration")
    await form.get_by_label("Integration").select_option("hubspot")
    await form.get_by_label("OAuth client id").fill("acme-hubspot-app")
    secret = form.get_by_label("OAuth client secret")
    assert await secret.get_attribute("type") == "password"
    await secret.fill("s3cret-value-123")
    await form.get_by_label("Scopes").fill("crm.objects.contacts.read oauth")
    await form.get_by_role("button", name="Save integration").click()
    await form.get_by_role("status").filter(has_text="HubSpot saved").wait_for()
    table = page.get_by_role("table", name="Integrations configured in this workspace")
    row = table.get_by_role("row").filter(has_text="acme-hubspot-app")
    await row.wait_for()
    assert "Stored (never shown)" in (await row.text_content() or "")
    assert await secret.input_value() == ""
    assert "s3cret-value-123" not in await page.content()
    rows = await console.tenant.data(
        "query($id: ID!) { workspaceIntegrations(workspaceId: $id) { edges { node {"
        " integrationName oauthClientId hasOAuthClientSecret scopes } } } }",
        {"id": console.tenant.workspace_id},
    )
    node = rows["workspaceIntegrations"]["edges"][0]["node"]
    assert node == {
        "integrationName": "hubspot",
        "oauthClientId": "acme-hubspot-app",
        "hasOAuthClientSecret": True,
        "scopes": ["crm.objects.contacts.read", "oauth"],
    }
    # Editing again keeps the stored secret unless a new one is typed.
    await row.get_by_role("button", name="Edit HubSpot").click()
    await form.get_by_label("OAuth client id").fill("acme-hubspot-app-2")
    await form.get_by_role("button", name="Save integration").click()
    await table.get_by_role("row").filter(has_text="acme-hubspot-app-2").wait_for()
    rows = await console.tenant.data(
        "query($id: ID!) { workspaceIntegrations(workspaceId: $id) { edges { node { hasOAuthClientSecret } } } }",
        {"id": console.tenant.workspace_id},
    )
    assert rows["workspaceIntegrations"]["edges"][0]["node"]["hasOAuthClientSecret"] is True


async def test_creates_a_workspace(console: ConsoleSite) -> None:
    page = console.page
    await console.open("/workspaces")
    await page.get_by_role("link", name="New workspace").click()
    await page.get_by_label("Name", exact=True).fill("default")
    await page.get_by_role("button", name="Create workspace").click()
    await page.get_by_role("alert").wait_for()  # the name is taken: the API's error, with its code
    await page.get_by_label("Name", exact=True).fill("Second product")
    await page.get_by_label("Display name").fill("Second")
    await page.get_by_role("button", name="Create workspace").click()
    await page.get_by_role("heading", name="Workspace Second product", level=1).wait_for()
    await console.open("/workspaces")
    await page.get_by_role("link", name="Second product").wait_for()


async def test_end_users_create_open_and_delete_with_confirmation(
    console: ConsoleSite, screenshots: Path
) -> None:
    from tests.syncs.conftest import create_demo_connection

    page = console.page
    tenant = console.tenant
    await tenant.data(
        'mutation($ws: ID!) { createEndUser(input: {workspaceId: $ws, externalId: "cust-1",'
        ' displayName: "Globex Ltd", email: "it@globex.test"}) { id } }',
        {"ws": tenant.workspace_id},
    )
    for external_id, name in (("cust-7", "Umbrella Corp"), ("cust-9", "Hooli")):
        await tenant.data(
            "mutation($ws: ID!, $ext: String!, $name: String) { createEndUser(input: {workspaceId: $ws,"
            " externalId: $ext, displayName: $name}) { id } }",
            {"ws": tenant.workspace_id, "ext": external_id, "name": name},
        )
    await console.open("/end-users")
    await page.get_by_role("link", name="Globex Ltd").wait_for()
    await page.get_by_label("Workspace").select_option(tenant.workspace_id)
    await page.wait_for_url(f"**workspace={tenant.workspace_id}")
    assert await console.axe() == []
    await page.screenshot(path=screenshots / "console-end-users.png")

    await page.get_by_role("link", name="New end user").click()
    await page.get_by_label("Workspace").select_option(tenant.workspace_id)
    await page.get_by_label("External id").fill("cust-2")
    await page.get_by_label("Display name").fill("Initech")
    await page.get_by_label("Email").fill("ops@initech.test")
    await page.get_by_role("button", name="Create end user").click()
    await page.get_by_role("heading", name="End user Initech", level=1).wait_for()
    facts = page.locator("dl.facts")
    assert "cust-2" in (await facts.text_content() or "")
    end_user_id = (await facts.locator("dd").first.text_content() or "").strip()
    assert end_user_id.startswith("eu_")

    # A connection of theirs, linked from the detail.
    from server.connections.models import Connection

    connection_id = await create_demo_connection(tenant.organization_id, tenant.workspace_id)
    await Connection.filter(id=connection_id).update(end_user_id=end_user_id, scope="USER")
    await page.reload()
    link = page.get_by_role("link", name="Demo CRM")
    await link.wait_for()
    assert await link.get_attribute("href") == f"#/connections/{connection_id}"
    assert await console.axe() == []

    await page.get_by_role("button", name="Delete end user").click()
    dialog = page.get_by_role("dialog")
    await dialog.wait_for()
    text = await dialog.text_content() or ""
    assert "its 1 connection" in text and "cannot be undone" in text
    await dialog.get_by_role("button", name="Keep it").click()
    assert not await dialog.is_visible()
    assert await Connection.filter(id=connection_id).exists()

    await page.get_by_role("button", name="Delete end user").click()
    await dialog.get_by_role("button", name="Delete end user and connections").click()
    await page.get_by_role("heading", name="End users", level=1).wait_for()
    await page.get_by_role("link", name="Globex Ltd").wait_for()
    assert await page.get_by_role("link", name="Initech").count() == 0
    assert not await Connection.filter(id=connection_id).exists()


async def test_a_360_pixel_screen_has_no_sideways_scroll(console: ConsoleSite) -> None:
    page = console.page
    await console.tenant.data(
        'mutation($ws: ID!) { createEndUser(input: {workspaceId: $ws, externalId: "a-very-long-external-id-'
        'that-goes-on-and-on-0123456789"}) { id } }',
        {"ws": console.tenant.workspace_id},
    )
    await page.set_viewport_size({"width": 360, "height": 740})
    for route in ("/workspaces", f"/workspaces/{console.tenant.workspace_id}", "/end-users"):
        await console.open(route)
        await page.locator(".loading").first.wait_for(state="detached")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{route} scrolls sideways ({width} px)"
    await page.get_by_role("link", name="a-very-long-external-id", exact=False).click()
    await page.get_by_role("heading", level=1).filter(has_text="End user").wait_for()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the end user's page scrolls sideways ({width} px)"


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_workspace_pages_with_data_have_no_serious_accessibility_violation(
    console: ConsoleSite, theme: str
) -> None:
    page = console.page
    await page.emulate_media(color_scheme=theme)
    tenant = console.tenant
    await tenant.data(
        'mutation($id: ID!) { updateWorkspace(input: {id: $id, displayName: "Acme", primaryColor: "#7c2d12",'
        ' allowedOrigins: ["https://app.example.com"], allowedRedirectUris: ["https://app.example.com/done"]}) { id }'
        ' configureWorkspaceIntegration(input: {workspaceId: $id, integrationName: "github",'
        ' oauthClientId: "gh-app", oauthClientSecret: "x"}) { id } }',
        {"id": tenant.workspace_id},
    )
    await console.open("/workspaces")
    await page.get_by_role("link", name="default", exact=True).wait_for()
    assert await console.axe() == []
    await console.open(f"/workspaces/{tenant.workspace_id}")
    await page.get_by_role("table", name="Integrations configured in this workspace").wait_for()
    assert await console.axe() == []
    await console.open("/end-users/new")
    await page.get_by_label("External id").wait_for()
    assert await console.axe() == []
