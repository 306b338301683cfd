"""The console's admin pages in Chromium: webhooks (a real delivery, replay, secret rotation),
API keys (shown once, revoked), the call log and the audit log; accessibility and 360 px."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ConsoleSite
from tests.webhooks.conftest import Received, Receiver, receiver

__all__ = ["receiver"]  # the fixture: a loopback endpoint that records each delivery

pytestmark = pytest.mark.timeout(180)

CREATE_CONNECTION = """mutation($w: ID!) {
  createConnection(input: {integrationName: "openai", authType: SECRET_TEXT, scope: WORKSPACE,
                           workspaceId: $w, secretText: "sk-test-abcdefghijklmnopqrstuvwxyz0123456789"}) { id }
}"""
CREATE_ENDPOINT = """mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id } }
}"""
EXECUTE = """mutation($input: ExecuteActionInput!) { executeAction(input: $input) { output } }"""
VIEWER = "query { viewer { apiKey { id name } } }"


@pytest.fixture
def settings(settings: Any) -> Any:
    # The receiver listens on loopback, which Weir refuses by default.
    return settings.replace(webhooks_allow_private=True)


async def deliver(console: ConsoleSite, receiver: Receiver, count: int) -> Received:
    """Run Weir's webhook dispatcher until the receiver has ``count`` requests; the last one."""
    from server.crypto import load_key_ring
    from server.webhooks.delivery import build_http_client, deliver_due

    settings = console.settings
    key_ring = load_key_ring(settings)
    async with build_http_client(settings) as http:
        for _ in range(100):
            # A minute ahead, as the webhook tests' clock: a fresh event is due.
            await deliver_due(
                settings=settings,
                key_ring=key_ring,
                http=http,
                now=lambda: datetime.now(UTC) + timedelta(minutes=1),
            )
            if len(receiver.received) >= count:
                return receiver.received[-1]
            await asyncio.sleep(0.1)
    raise AssertionError(f"the receiver got {len(receiver.received)} requests, not {count}")


def verifies(secret: str, request: Received) -> bool:
    from server.webhooks.signing import verify

    headers = request.headers
    return verify(secret, headers["weir-signature"], int(headers["weir-timestamp"]), request.body)


async def no_sideways_scroll(console: ConsoleSite) -> None:
    width = await console.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width} px)"


async def test_a_webhook_endpoint_gets_a_signed_delivery_replays_it_and_rotates_its_secret(
    console: ConsoleSite, receiver: Receiver, screenshots: Path
) -> None:
    page = console.page
    await console.open("/webhooks")
    await page.get_by_role("heading", name="No webhook endpoints yet").wait_for()
    await page.get_by_role("link", name="New endpoint").click()
    await page.get_by_role("heading", name="New webhook endpoint").wait_for()
    await page.get_by_label("URL").fill(receiver.url)
    await page.get_by_label("Description").fill("Back end")
    await page.get_by_label("connection.created").check()
    await page.get_by_role("button", name="Create endpoint").click()

    secret_box = page.locator(".secret-value")
    first_secret = (await secret_box.text_content() or "").strip()
    assert first_secret.startswith("whsec_")
    await page.get_by_role("button", name="Done").click()
    await page.get_by_role("heading", name="Webhook endpoint").wait_for()
    assert await secret_box.count() == 0  # shown once
    await page.get_by_role("heading", name="No deliveries yet").wait_for()

    # An event happens; Weir delivers it, signed with the secret the console showed.
    await console.tenant.data(CREATE_CONNECTION, {"w": console.tenant.workspace_id})
    first = await deliver(console, receiver, 1)
    assert verifies(first_secret, first)
    await page.get_by_role("button", name="Refresh").click()
    deliveries = page.get_by_role("table", name="Deliveries, oldest first")
    await deliveries.get_by_text("succeeded").wait_for()
    await deliveries.get_by_text("1 attempt").click()
    await deliveries.get_by_text("answer 200").wait_for()  # the receiver's reply, as Weir kept it
    assert "200" in (await deliveries.locator("details").first.text_content() or "")

    # Replay: a new delivery of the same event.
    event_id = first.headers["weir-event-id"]
    await page.get_by_role("button", name=f"Replay event {event_id}").first.click()
    await page.get_by_text("queued again").wait_for()
    await deliveries.get_by_text("pending").wait_for()
    replayed = await deliver(console, receiver, 2)
    assert replayed.headers["weir-event-id"] == event_id
    await page.get_by_role("button", name="Refresh").click()
    await deliveries.get_by_text("pending").wait_for(state="detached")
    assert await deliveries.get_by_text("succeeded").count() == 2

    assert await console.axe() == []
    await page.screenshot(path=screenshots / "console-webhooks.png")

    # Rotate, ending the old secret now: the next delivery verifies with the new one only.
    await page.get_by_role("button", name="Rotate secret").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("The old secret keeps signing for").select_option("0")
    await dialog.get_by_role("button", name="Rotate secret").click()
    new_secret = (await secret_box.text_content() or "").strip()
    assert new_secret.startswith("whsec_") and new_secret != first_secret
    await page.get_by_role("button", name="Done").click()
    assert await secret_box.count() == 0
    await console.tenant.data(CREATE_CONNECTION, {"w": console.tenant.workspace_id})
    rotated = await deliver(console, receiver, 3)
    assert verifies(new_secret, rotated)
    assert not verifies(first_secret, rotated)

    # Edit, disable and enable again, then delete (after confirming).
    await page.get_by_role("textbox", name="Description").fill("Billing back end")
    await page.get_by_role("button", name="Save changes").click()
    await page.get_by_text("Saved.").wait_for()
    await page.locator(".facts").get_by_text("Billing back end").wait_for()
    await page.get_by_role("button", name="Disable").click()
    await page.get_by_text("Disabled: its events wait").wait_for()
    await page.locator(".facts").get_by_text("disabled", exact=True).wait_for()
    await page.get_by_role("button", name="Enable").click()
    await page.locator(".facts").get_by_text("enabled", exact=True).wait_for()
    await page.get_by_role("button", name="Delete").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete endpoint").click()
    await page.get_by_role("heading", name="No webhook endpoints yet").wait_for()


async def test_an_endpoint_on_a_bad_url_names_the_field(console: ConsoleSite) -> None:
    page = console.page
    await console.open("/webhooks/new")
    await page.get_by_label("URL").fill("ftp://example.com/hooks")
    await page.get_by_label("sync_run.failed").check()
    await page.get_by_role("button", name="Create endpoint").click()
    url_field = page.locator(".field.invalid")
    await url_field.wait_for()
    assert "URL" in (await url_field.locator("label").text_content() or "")
    message = await url_field.locator(".field-error").text_content()
    assert message  # the API's message about input.url, next to the field
    described = await page.get_by_label("URL").get_attribute("aria-describedby") or ""
    assert await url_field.locator(".field-error").get_attribute("id") in described.split()
    assert await page.locator(".secret-value").count() == 0
    # An unknown endpoint says so, with the API's code.
    await console.open("/webhooks/whep_0000000000000000000000000")
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert "NOT_FOUND" in (await alert.text_content() or "")


async def test_an_api_key_is_shown_once_and_revoked_keys_stop_working(
    console: ConsoleSite, screenshots: Path
) -> None:
    page = console.page
    tenant = console.tenant
    await console.open("/api-keys")
    own = page.get_by_role("row").filter(has_text="this console")
    await own.wait_for()
    await page.get_by_label("Name").fill("ci deploy")
    await page.get_by_label("Workspace restriction").select_option(label="default")
    await page.get_by_role("button", name="Create key").click()
    secret = (await page.locator(".secret-value").text_content() or "").strip()
    assert secret and secret != tenant.key
    made = await tenant.graphql(VIEWER, key=secret)
    assert made["data"]["viewer"]["apiKey"]["name"] == "ci deploy"
    row = page.get_by_role("row").filter(has_text="ci deploy")
    await row.wait_for()
    assert "default" in (await row.text_content() or "")  # restricted to that workspace
    assert await console.axe() == []
    await page.screenshot(path=screenshots / "console-api-keys.png")
    await page.get_by_role("button", name="Done").click()
    assert await page.locator(".secret-value").count() == 0

    await row.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog")
    assert "cannot be undone" in (await dialog.text_content() or "")
    await dialog.get_by_role("button", name="Revoke key").click()
    await row.get_by_text("revoked").wait_for()
    refused = await tenant.graphql(VIEWER, key=secret)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await tenant.graphql(VIEWER))["data"]["viewer"]["apiKey"] is not None  # the others still work

    # The console's own key: the dialog says revoking it signs out; keeping it changes nothing.
    await own.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog")
    assert "signs you out" in (await dialog.text_content() or "")
    await dialog.get_by_role("button", name="Keep it").click()
    assert (await tenant.graphql(VIEWER))["data"]["viewer"]["apiKey"] is not None
    await own.get_by_role("button", name="Revoke").click()
    await page.get_by_role("dialog").get_by_role("button", name="Revoke and sign out").click()
    await page.get_by_role("heading", name="Weir console").wait_for()
    assert await page.evaluate("sessionStorage.getItem('weir.console.key')") is None
    assert (await tenant.graphql(VIEWER))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_call_log_shows_an_action_and_the_audit_log_the_key_made_in_the_console(
    console: ConsoleSite, screenshots: Path
) -> None:
    page = console.page
    tenant = console.tenant
    await console.open("/calls")
    await page.get_by_role("heading", name="No calls in this period").wait_for()
    done = await tenant.data(
        EXECUTE,
        {
            "input": {
                "integrationName": "hash_encode",
                "action": "hash",
                "input": {"text": "abc", "algorithm": "sha256"},
                "workspaceId": tenant.workspace_id,
            }
        },
    )
    assert done["executeAction"]["output"]
    await page.get_by_role("button", name="Refresh").click()
    calls = page.get_by_role("table", name="Calls, oldest first")
    row = calls.get_by_role("row").filter(has_text="hash_encode")
    await row.wait_for()
    assert "succeeded" in (await row.text_content() or "")
    await row.get_by_text("Details").click()
    assert "call_" in (await row.locator("details").text_content() or "")
    assert await console.axe() == []
    await page.screenshot(path=screenshots / "console-calls.png")
    await page.get_by_label("Outcome").select_option("FAILED")
    await page.get_by_role("heading", name="No call matches these filters").wait_for()

    # A key made in the console is in the audit log, made by the console's key.
    await console.open("/api-keys")
    await page.get_by_label("Name").fill("reporting")
    await page.get_by_role("button", name="Create key").click()
    await page.locator(".secret-value").wait_for()
    await console.open("/audit")
    entries = page.get_by_role("table", name="Audit log, oldest first")
    entry = entries.get_by_role("row").filter(has_text="createApiKey")
    await entry.wait_for()
    text = await entry.text_content() or ""
    assert "API key test" in text and "succeeded" in text and "api key" in text
    await entry.get_by_text("Details").click()
    assert "aud_" in (await entry.locator("details").text_content() or "")
    assert await console.axe() == []
    await page.screenshot(path=screenshots / "console-audit.png")
    await page.get_by_role("textbox", name="Operation").fill("deleteConnection")
    await page.get_by_role("button", name="Apply operation filter").click()
    await page.get_by_role("heading", name="No change matches these filters").wait_for()


async def test_the_admin_pages_fit_a_360_pixel_screen_in_the_dark_theme(
    console: ConsoleSite, receiver: Receiver
) -> None:
    tenant = console.tenant
    made = await tenant.data(
        CREATE_ENDPOINT,
        {
            "input": {
                "workspaceId": tenant.workspace_id,
                "url": receiver.url,
                "eventTypes": ["CONNECTION_CREATED"],
            }
        },
    )
    endpoint_id = made["createWebhookEndpoint"]["endpoint"]["id"]
    await tenant.data(CREATE_CONNECTION, {"w": tenant.workspace_id})
    await deliver(console, receiver, 1)
    await tenant.data(
        EXECUTE,
        {
            "input": {
                "integrationName": "hash_encode",
                "action": "hash",
                "input": {"text": "abc", "algorithm": "sha256"},
                "workspaceId": tenant.workspace_id,
            }
        },
    )
    # Narrow and dark: each page as cards, without sideways scrolling or a contrast problem.
    await console.page.set_viewport_size({"width": 360, "height": 740})
    await console.page.emulate_media(color_scheme="dark")
    for route in ("/webhooks", f"/webhooks/{endpoint_id}", "/webhooks/new", "/api-keys", "/calls", "/audit"):
        await console.open(route)
        await console.page.locator("td, .empty, form.card").first.wait_for()
        await no_sideways_scroll(console)
        assert await console.axe() == [], route
    await console.open(f"/webhooks/{endpoint_id}")
    await console.page.get_by_text("1 attempt").click()
    await no_sideways_scroll(console)
