"""The console's syncs and runs in Chromium: create a sync from a connection with its settings
form, watch its first run finish live, start and cancel runs, and the demo's newcomer path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ConsoleSite
from tests.conftest import POSTGRES_URL
from tests.connectors.test_postgres_connector import url_credentials
from tests.syncs.conftest import create_demo_connection
from tests.syncs.test_postgres_to_postgres import source

__all__ = ["source"]  # the fixture: a schema with an `accounts` table on the machine's Postgres

pytestmark = pytest.mark.timeout(180)


async def demo_connection(console: ConsoleSite) -> str:
    return await create_demo_connection(console.tenant.organization_id, console.tenant.workspace_id)


async def test_create_a_sync_from_a_connection_and_watch_its_first_run_finish(
    console: ConsoleSite, screenshots: Path
) -> None:
    page = console.page
    connection_id = await demo_connection(console)
    await console.open(f"/syncs/new?connection={connection_id}")
    # The settings form is drawn from the connection's settings schema, defaults filled in.
    contacts = page.get_by_label("contacts", exact=False).first
    await contacts.wait_for()
    await contacts.fill("300")
    # Streams, offered for these settings, with their columns.
    await page.get_by_role("checkbox", name="contacts").check()
    await page.get_by_text("Columns: copy, exclude or hash").first.click()
    await page.get_by_label("contacts.email").select_option("hash")
    await page.get_by_label("Destination schema").fill("crm_console")
    await page.get_by_label("Schedule (cron)").fill("*/30 * * * *")
    preview = page.locator(".hint[aria-live]")
    assert "30 minutes" in (await preview.text_content() or "")
    await page.get_by_label("Schedule (cron)").fill("61 * * * *")
    assert await page.locator(".field-error[aria-live]").count() == 1  # unreadable: said at once
    await page.get_by_label("Schedule (cron)").fill("0 * * * *")
    assert "hour" in (await preview.text_content() or "").lower()
    assert await console.axe() == []
    await page.screenshot(path=str(screenshots / "console-new-sync.png"), full_page=True)
    await page.get_by_role("button", name="Create sync").click()

    # The sync's page: its first run appears and finishes, live (no reload).
    await page.get_by_role("heading", name="Sync crm_console").wait_for()
    succeeded = page.locator("table").first.get_by_text("succeeded")
    await succeeded.wait_for(timeout=60_000)
    assert await page.get_by_text("enabled", exact=True).count() >= 1
    cells = await page.locator("td[data-label='Rows']").first.text_content()
    assert cells is not None and cells.startswith("300")
    await page.screenshot(path=str(screenshots / "console-sync.png"), full_page=True)
    sync = await console.tenant.graphql(
        "query { eltSyncs { edges { node { enabled sourceStreams { name hashedColumns } } } } }"
    )
    node = sync["data"]["eltSyncs"]["edges"][0]["node"]
    assert node["enabled"] is True
    assert node["sourceStreams"] == [{"name": "contacts", "hashedColumns": ["email"]}]

    # The run's own page: per-stream counts.
    await page.locator("td[data-label='Run'] a").first.click()
    await page.get_by_role("heading", name="Run succeeded").wait_for()
    stream = page.locator("td[data-label='Rows loaded']").first
    assert (await stream.text_content()) == "300"
    assert await console.axe() == []


async def test_a_setting_the_api_refuses_is_shown_on_its_field(console: ConsoleSite) -> None:
    page = console.page
    connection_id = await demo_connection(console)
    await console.open(f"/syncs/new?connection={connection_id}")
    await page.get_by_role("checkbox", name="contacts").check()
    await page.get_by_label("Destination schema").fill("Not A Schema!")
    await page.get_by_role("button", name="Create sync").click()
    error = page.locator(".field-error").first
    await error.wait_for()
    assert "Destination schema" in (await page.locator(".field.invalid label").first.text_content() or "")
    assert await console.tenant.graphql("query { eltSyncs { edges { node { id } } } }") == {
        "data": {"eltSyncs": {"edges": []}}
    }


async def test_run_now_and_cancel_from_the_sync_page_update_live(console: ConsoleSite) -> None:
    page = console.page
    connection_id = await demo_connection(console)
    created = await console.tenant.graphql(
        """mutation($c: ID!) { createEltSync(input: {connectionId: $c, destinationSchemaName: "big",
        syncInterval: "0 * * * *", settings: {contacts: 200000, batch_size: 500},
        sourceStreams: [{name: "contacts", syncMode: FULL_REFRESH}]}) { id } }""",
        {"c": connection_id},
    )
    sync_id = created["data"]["createEltSync"]["id"]
    await console.open(f"/syncs/{sync_id}")
    await page.get_by_text("No runs yet").wait_for()
    await page.get_by_role("button", name="Run now").first.click()
    await page.get_by_role("status").get_by_text("Run queued").wait_for()
    await page.get_by_role("button", name="Cancel run").click()
    await page.locator("td[data-label='Run']").get_by_text("cancelled").wait_for(timeout=60_000)
    await page.get_by_role("button", name="Run now").wait_for()


async def test_the_runs_page_lists_every_sync_s_runs_and_narrows_by_status(console: ConsoleSite) -> None:
    page = console.page
    await console.open("/runs")
    await page.get_by_text("No runs yet").wait_for()
    connection_id = await demo_connection(console)
    created = await console.tenant.graphql(
        """mutation($c: ID!) { createEltSync(input: {connectionId: $c, destinationSchemaName: "few",
        syncInterval: "0 * * * *", settings: {contacts: 50},
        sourceStreams: [{name: "contacts", syncMode: INCREMENTAL}]}) { id } }""",
        {"c": connection_id},
    )
    sync_id = created["data"]["createEltSync"]["id"]
    await console.tenant.graphql("mutation($s: ID!) { triggerSyncRun(syncId: $s) { id } }", {"s": sync_id})
    # The new run arrives through the subscription and finishes in place.
    await page.locator("td[data-label='Run']").get_by_text("succeeded").wait_for(timeout=60_000)
    await page.get_by_label("Status").select_option("FAILED")
    await page.get_by_text("No run with this status").wait_for()
    assert await console.axe() == []


async def test_the_sync_pages_fit_a_360_pixel_screen(console: ConsoleSite) -> None:
    page = console.page
    await page.set_viewport_size({"width": 360, "height": 740})
    connection_id = await demo_connection(console)
    await console.open(f"/syncs/new?connection={connection_id}")
    await page.get_by_role("checkbox", name="contacts").check()
    await page.get_by_text("Columns: copy, exclude or hash").first.click()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    await console.open("/syncs")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360


async def test_options_that_depend_on_a_setting_follow_it(console: ConsoleSite, source: Any) -> None:
    """A Postgres source: choosing a schema lists its tables, choosing tables offers them as
    streams with their columns, all read from the database as the form changes."""
    page = console.page
    _, schema = source
    created = await console.tenant.graphql(
        """mutation($w: ID!, $props: JSON!) { createConnection(input: {integrationName: "postgres",
        authType: CUSTOM_AUTH, scope: WORKSPACE, workspaceId: $w, props: $props}) { id } }""",
        {"w": console.tenant.workspace_id, "props": url_credentials(POSTGRES_URL)},
    )
    connection_id = created["data"]["createConnection"]["id"]
    await console.open(f"/syncs/new?connection={connection_id}")
    chooser = page.get_by_label("Schema (required)")
    await chooser.wait_for()
    await chooser.select_option(schema)
    tables = page.get_by_role("group", name="Tables")
    await tables.get_by_role("checkbox", name="accounts").check()
    stream = page.locator("fieldset fieldset").filter(has_text="accounts")
    await stream.get_by_role("checkbox", name="accounts").check()
    await stream.get_by_text("Columns: copy, exclude or hash").click()
    await page.get_by_label("accounts.balance").select_option("exclude")
    await page.get_by_label("Destination schema").fill(f"{schema}_copy")
    await page.get_by_role("button", name="Create sync").click()
    await page.get_by_role("heading", name=f"Sync {schema}_copy").wait_for()
    await page.locator("td[data-label='Run']").get_by_text("succeeded").wait_for(timeout=60_000)
    synced = await console.tenant.graphql(
        "query { eltSyncs { edges { node { settings sourceStreams { name excludedColumns } } } } }"
    )
    node = synced["data"]["eltSyncs"]["edges"][0]["node"]
    assert node["settings"]["schema"] == schema and node["settings"]["tables"] == ["accounts"]
    assert node["sourceStreams"] == [{"name": "accounts", "excludedColumns": ["balance"]}]
