"""The console's connections in Chromium: the list with its filters (in the URL) and live health,
one connection (test it, its reconnect link, delete it), and a new connection made through the
hosted connect page in a new tab, followed live until it completes."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from server import ids
from server.connect.models import ConnectSession
from server.connections import health as healths
from server.connections import status as statuses
from server.connections.models import Connection
from tests.browser.conftest import ConsoleSite
from tests.syncs.conftest import create_demo_connection

pytestmark = pytest.mark.timeout(180)


# What sticks out of a 360 px screen, to name it when a check fails.
WIDE = """[...document.querySelectorAll('*')]
  .filter((e) => e.getBoundingClientRect().right > 360)
  .map((e) => `${e.tagName}.${e.className} "${e.textContent.slice(0, 40)}"`).slice(0, 8).join(' | ')"""


async def demo_connection(console: ConsoleSite, name: str = "Demo CRM") -> Connection:
    connection_id = await create_demo_connection(console.tenant.organization_id, console.tenant.workspace_id)
    connection = await Connection.get(id=connection_id)
    connection.display_name = name
    await connection.save()
    return connection


async def stripe_connection(console: ConsoleSite) -> Connection:
    """A Stripe connection row (no credentials: the list never calls Stripe)."""
    return await Connection.create(
        id=ids.new_id("connection"),
        organization_id=console.tenant.organization_id,
        workspace_id=console.tenant.workspace_id,
        integration_name="stripe",
        auth_type="SECRET_TEXT",
        scope="WORKSPACE",
        display_name="Billing",
    )


async def names(console: ConsoleSite) -> list[str]:
    return await console.page.locator("td[data-label='Name'] a").all_text_contents()


async def test_the_list_filters_by_integration_and_health_in_the_url_and_updates_live(
    console: ConsoleSite, screenshots: Path
) -> None:
    page = console.page
    crm = await demo_connection(console, "Demo CRM")
    degraded = await demo_connection(console, "Second CRM")
    billing = await stripe_connection(console)
    await healths.set_health(
        connection=degraded, health="DEGRADED", reason="The provider timed out", bus=console.bus
    )

    await console.open("/connections")
    await page.get_by_role("link", name="Billing").wait_for()
    assert sorted(await names(console)) == ["Billing", "Demo CRM", "Second CRM"]
    assert await page.get_by_text("The provider timed out").count() == 1
    assert await console.axe() == []
    await page.screenshot(path=str(screenshots / "console-connections.png"), full_page=True)

    # By integration: the choice lands in the URL, so the link can be shared.
    await page.get_by_label("Integration").select_option("stripe")
    await expect(page).to_have_url(f"{console.url}/console#/connections?integration=stripe")
    await page.get_by_role("link", name="Demo CRM").wait_for(state="detached")
    assert await names(console) == ["Billing"]

    # The overview's "need attention" link: anything not WORKING.
    await console.open("/connections?health=attention")
    await page.get_by_role("link", name="Second CRM").wait_for()
    assert await names(console) == ["Second CRM"]
    assert await page.get_by_label("Health").input_value() == "attention"
    await page.get_by_label("Health").select_option("WORKING")
    await page.get_by_role("link", name="Billing").wait_for()
    assert sorted(await names(console)) == ["Billing", "Demo CRM"]

    # Live: a health change (as a liveness check would make it) shows without a reload.
    await console.open("/connections")
    row = page.locator("tr", has=page.get_by_role("link", name="Demo CRM"))
    await row.get_by_text("working").wait_for()
    await page.evaluate("window.notReloaded = true")
    await healths.set_health(
        connection=crm, health="DEGRADED", reason="HTTP 503 from the provider", bus=console.bus
    )
    await row.get_by_text("HTTP 503 from the provider").wait_for()
    assert await row.locator("td[data-label='Health']").get_by_text("degraded").count() == 1
    await statuses.set_status(
        connection=billing, status="ERROR", reason="The provider refused the key", bus=console.bus
    )
    billing_row = page.locator("tr", has=page.get_by_role("link", name="Billing"))
    await billing_row.locator("td[data-label='Status']").get_by_text("error").wait_for()
    await billing_row.get_by_text("needs reauthorization").wait_for()
    assert await page.evaluate("window.notReloaded") is True

    # By status, from a link.
    await console.open("/connections?status=ERROR")
    await page.get_by_role("link", name="Demo CRM").wait_for(state="detached")
    assert await names(console) == ["Billing"]
    assert await page.get_by_label("Status").input_value() == "ERROR"


async def test_an_empty_list_says_how_to_create_one(console: ConsoleSite) -> None:
    await console.open("/connections")
    await console.page.get_by_role("heading", name="No connections yet").wait_for()
    await console.page.get_by_role("link", name="Create a connection").click()
    await console.page.get_by_role("heading", name="New connection").wait_for()


async def test_a_connection_that_comes_to_match_the_filters_joins_the_list_live(
    console: ConsoleSite,
) -> None:
    page = console.page
    crm = await demo_connection(console, "Demo CRM")
    await console.open("/connections?health=DEGRADED")
    await page.get_by_role("heading", name="No connection matches these filters").wait_for()
    await healths.set_health(
        connection=crm, health="DEGRADED", reason="HTTP 503 from the provider", bus=console.bus
    )
    await page.get_by_role("link", name="Demo CRM").wait_for()
    assert await names(console) == ["Demo CRM"]


async def test_one_connection_test_it_then_delete_it_with_its_syncs(
    console: ConsoleSite, screenshots: Path
) -> None:
    page = console.page
    connection = await demo_connection(console, "Main CRM")
    created = await console.tenant.graphql(
        """mutation($input: CreateEltSyncInput!) { createEltSync(input: $input) { id } }""",
        {
            "input": {
                "connectionId": connection.id,
                "destinationSchemaName": "crm_detail",
                "sourceStreams": [{"name": "contacts", "syncMode": "FULL_REFRESH"}],
                "settings": {"contacts": 10},
                "syncInterval": "0 * * * *",
            }
        },
    )
    assert "errors" not in created, created
    sync_id = created["data"]["createEltSync"]["id"]

    await console.open("/connections")
    await page.get_by_role("link", name="Main CRM").click()
    await page.get_by_role("heading", name="Demo CRM · Main CRM").wait_for()
    assert await page.get_by_text(connection.id).count() >= 1
    await page.get_by_role("link", name="crm_detail").wait_for()
    assert await page.get_by_role("link", name="crm_detail").get_attribute("href") == f"#/syncs/{sync_id}"
    create = page.get_by_role("link", name="Create a sync")
    assert await create.get_attribute("href") == f"#/syncs/new?connection={connection.id}"
    workspace = page.locator("dd a[href^='#/workspaces/']")
    assert await workspace.get_attribute("href") == f"#/workspaces/{console.tenant.workspace_id}"

    await page.get_by_role("button", name="Test").click()
    await page.get_by_text("Test passed").wait_for()
    assert await page.get_by_text("the demo source needs no account").count() == 1
    stored = await Connection.get(id=connection.id)
    assert stored.last_checked_at is not None
    assert await console.axe() == []
    await page.screenshot(path=str(screenshots / "console-connection.png"), full_page=True)

    # Delete: asked first, and the dialog says its syncs go too.
    await page.get_by_role("button", name="Delete", exact=True).click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_text("so are the syncs that read from it").wait_for()
    await dialog.get_by_role("button", name="Keep it").click()
    assert await Connection.filter(id=connection.id).exists()
    await page.get_by_role("button", name="Delete", exact=True).click()
    await dialog.get_by_role("button", name="Delete connection").click()
    await page.get_by_role("heading", name="Connections").wait_for()
    await expect(page).to_have_url(f"{console.url}/console#/connections")
    assert not await Connection.filter(id=connection.id).exists()
    syncs = await console.tenant.graphql("query { eltSyncs { edges { node { id } } } }")
    assert syncs == {"data": {"eltSyncs": {"edges": []}}}


async def test_a_connection_needing_reauthorization_gives_a_reconnect_link(console: ConsoleSite) -> None:
    page = console.page
    connection = await demo_connection(console)
    await console.open(f"/connections/{connection.id}")
    await page.get_by_text("A reconnect link exists only while").wait_for()
    # The provider refuses it: the page moves to NEEDS_REAUTHORIZATION live and offers the link.
    await statuses.set_status(
        connection=connection, status="ERROR", reason="The provider refused the token", bus=console.bus
    )
    await page.get_by_role("button", name="Reconnect link").click()
    link = page.get_by_role("region", name="Reconnect link")
    await link.wait_for()
    url = await link.locator("code").text_content()
    assert url is not None and url.startswith(f"{console.url}/connect?token=weir_ct_")
    assert await link.get_by_text("single use").count() == 1
    assert await link.locator("time").count() == 1
    read = await console.tenant.graphql(
        "query($id: ID!) { connection(id: $id) { reconnectSession { connectUrl } } }", {"id": connection.id}
    )
    assert read["data"]["connection"]["reconnectSession"]["connectUrl"] == url
    assert await console.axe() == []
    await page.emulate_media(color_scheme="dark")
    assert await console.axe() == []


async def test_a_new_connection_through_the_hosted_connect_page(console: ConsoleSite) -> None:
    page = console.page
    await console.open("/connections/new")
    # The only workspace is chosen already.
    await expect(page.get_by_label("Workspace", exact=True)).to_have_value(console.tenant.workspace_id)
    await page.get_by_label("Integration").select_option("demo")
    await page.get_by_label("An end user by your app's id").check()
    await page.get_by_label("End user's external id").fill("customer-42")
    await page.get_by_label("Connection name").fill("Customer CRM")
    assert await console.axe() == []
    async with page.context.expect_page() as opened:
        await page.get_by_role("button", name="Open the connect page").click()
    popup = await opened.value
    # The hosted connect page (it drops the token from its address once read).
    await popup.wait_for_url(f"{console.url}/connect*")
    # The console shows the link too, to send to the customer instead.
    shown = await page.locator(".secret-value").text_content()
    assert shown is not None and shown.startswith(f"{console.url}/connect?token=weir_ct_")
    await page.get_by_role("heading", name="Connect session").wait_for()

    await popup.locator("button[type=submit]").click()
    await page.get_by_role("heading", name="Demo CRM · Customer CRM").wait_for()
    connection = await Connection.get(display_name="Customer CRM")
    assert page.url.endswith(f"#/connections/{connection.id}")
    assert (connection.integration_name, connection.scope) == ("demo", "USER")
    await page.get_by_role("link", name="customer-42").wait_for()

    # The list narrows to this end user's connections.
    await demo_connection(console, "Workspace CRM")
    await console.open("/connections")
    await page.get_by_role("link", name="Workspace CRM").wait_for()
    await page.get_by_label("End user").select_option(label="customer-42")
    await page.get_by_role("link", name="Workspace CRM").wait_for(state="detached")
    assert await names(console) == ["Customer CRM"]
    assert "endUser=" in page.url


async def test_the_connection_pages_fit_a_360_pixel_screen(console: ConsoleSite) -> None:
    page = console.page
    await page.set_viewport_size({"width": 360, "height": 740})
    connection = await demo_connection(console, "A connection with a rather long display name")
    await statuses.set_status(
        connection=connection,
        status="ERROR",
        reason="The provider refused the refresh token: invalid_grant (the grant was revoked)",
        bus=console.bus,
    )

    async def fits() -> None:
        width = await page.evaluate("document.documentElement.scrollWidth")
        wide = await page.evaluate(WIDE)
        assert width <= 360, f"the page scrolls sideways ({width} px) {wide}"

    await console.open("/connections")
    await page.get_by_text("invalid_grant", exact=False).first.wait_for()
    await fits()
    await console.open(f"/connections/{connection.id}")
    await page.get_by_role("button", name="Reconnect link").click()
    await page.get_by_role("region", name="Reconnect link").wait_for()
    await fits()
    await console.open("/connections/new")
    await page.get_by_label("An end user by your app's id").check()
    await page.get_by_label("End user's external id").fill("customer-7")
    await fits()
    await page.get_by_label("Integration").select_option("demo")
    async with page.context.expect_page() as opened:
        await page.get_by_role("button", name="Open the connect page").click()
    await (await opened.value).close()
    await page.get_by_role("heading", name="Connect session").wait_for()
    await fits()


async def test_an_unknown_connection_says_so_with_its_code(console: ConsoleSite) -> None:
    await console.open("/connections/conn_doesnotexist")
    error = console.page.get_by_role("alert")
    await error.wait_for()
    assert await error.locator("code").text_content() == "NOT_FOUND"
    await console.page.get_by_role("link", name="Back to connections").click()
    await console.page.get_by_role("heading", name="No connections yet").wait_for()


async def test_a_cancelled_connect_link_says_so_and_can_start_again(console: ConsoleSite) -> None:
    page = console.page
    await console.open("/connections/new?integration=demo")
    await expect(page.get_by_label("Integration")).to_have_value("demo")
    await expect(page.get_by_label("Workspace", exact=True)).to_have_value(console.tenant.workspace_id)
    async with page.context.expect_page() as opened:
        await page.get_by_role("button", name="Open the connect page").click()
    popup = await opened.value
    await page.get_by_role("button", name="Cancel the link").click()
    await page.get_by_text("The connect session was cancelled. (CANCELLED)").wait_for()
    assert await page.get_by_role("button", name="Cancel the link").count() == 0
    session = await ConnectSession.get(workspace_id=console.tenant.workspace_id)
    assert (session.status, session.error_code) == ("EXPIRED", "CANCELLED")
    await popup.close()
    assert await Connection.all().count() == 0
    await page.get_by_role("button", name="Start again").click()
    await page.get_by_role("button", name="Open the connect page").wait_for()
