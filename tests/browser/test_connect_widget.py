"""The connect widget in a real browser: every mode, errors, and the stored result.

The host page is the example host app (examples/host-app) on http://localhost:<port>; Weir and
the OAuth2 emulator run on two other loopback origins.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.connect.models import ConnectSession
from server.connections.models import Connection
from server.orgs.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


async def open_host(browser: Any, stack: Any, integration: str = "") -> Any:
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    await page.goto(stack.host_url + "/")
    await page.fill("#integration", integration)
    return page


async def events(page: Any, wanted: str, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The widget events the host page received, once one of type ``wanted`` has arrived."""
    await page.wait_for_function(
        f"window.weirEvents.some(function (e) {{ return e.type === {wanted!r}; }})", timeout=timeout * 1000
    )
    return await page.evaluate("window.weirEvents")


async def first_error(page: Any) -> dict[str, Any]:
    return next(event for event in await events(page, "error") if event["type"] == "error")


async def escape_inside(frame: Any, selector: str) -> None:
    """Escape on ``selector`` in the widget's frame, dispatched there. A key sent through CDP
    (Frame.press, Keyboard.press) waits for the frame's renderer to acknowledge the key-up, and
    this frame is cross-origin (its own renderer) and removed by the widget as it closes: the
    acknowledgement may never come, and the test then hangs until its time limit."""
    await frame.focus(selector)
    await frame.evaluate("""() => document.activeElement.dispatchEvent(
        new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))""")


def types(received: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in received]


async def connect_frame(page: Any) -> Any:
    handle = await page.wait_for_selector("iframe[title='Connect an account']")
    frame = await handle.content_frame()
    await frame.wait_for_selector("#weir-title")
    return frame


async def approve_in(popup: Any, approve: bool = True) -> None:
    await popup.wait_for_selector("#approve")
    await popup.click("#approve" if approve else "#deny")


async def test_modal_mode_connects_with_oauth_consent_in_a_popup(browser, stack, screenshots):
    page = await open_host(browser, stack)
    await page.click("[data-mode=modal]")
    frame = await connect_frame(page)
    await frame.wait_for_selector("[data-integration=testoauth]")
    await page.screenshot(path=str(screenshots / "modal.png"))
    # Keyboard: Tab cycles inside the dialog (close button and three integrations).
    await frame.focus("[data-integration=testdb]")
    visited = []
    for _ in range(6):
        await page.keyboard.press("Tab")
        visited.append(
            await frame.evaluate(
                "document.activeElement.getAttribute('data-integration') || "
                "document.activeElement.getAttribute('aria-label')"
            )
        )
    assert visited == ["testkey", "testoauth", "Close", "testdb", "testkey", "testoauth"]
    await frame.click("[data-integration=testoauth]")
    button = await frame.wait_for_selector("[data-action=oauth]")
    async with page.context.expect_page() as consent_info:
        await button.click()
    await approve_in(await consent_info.value)
    await frame.wait_for_selector("text=Connected")
    received = await events(page, "success")
    assert types(received)[:4] == ["open", "integration_selected", "oauth_started", "success"]
    connection_id = received[3]["connectionId"]
    connection = await Connection.get(id=connection_id)
    assert (connection.integration_name, connection.auth_type, connection.status) == (
        "testoauth",
        "OAUTH2",
        "ACTIVE",
    )
    await frame.click("text=Done")
    assert types(await events(page, "close"))[-1] == "close"
    assert await page.query_selector("iframe") is None
    assert not page.errors


async def test_inline_mode_shows_the_server_field_error_then_connects(browser, stack, screenshots):
    page = await open_host(browser, stack, "testkey")
    await page.click("[data-mode=inline]")
    frame = await connect_frame(page)
    await frame.click("button[type=submit]")
    assert await frame.inner_text("#weir-f-secret_text-error") == "This field is required."
    await frame.fill("#weir-f-secret_text", "sk_wrong")
    await frame.click("button[type=submit]")
    await frame.wait_for_selector(
        "text=Test Key refused the credentials: The provider rejected this API key (401)."
    )
    assert await frame.get_attribute("#weir-f-secret_text", "aria-invalid") == "true"
    assert await frame.get_attribute("#weir-f-secret_text", "type") == "password"
    await page.screenshot(path=str(screenshots / "inline.png"))
    await frame.fill("#weir-f-secret_text", "sk_good")
    await frame.press("#weir-f-secret_text", "Enter")
    received = await events(page, "success")
    connection = await Connection.get(id=received[-1]["connectionId"])
    assert connection.auth_type == "SECRET_TEXT"
    assert types(received) == ["open", "integration_selected", "form_error", "success"]
    assert not page.errors


async def test_inline_mode_form_from_a_json_schema(browser, stack):
    page = await open_host(browser, stack)
    await page.click("[data-mode=inline]")
    frame = await connect_frame(page)
    await frame.click("[data-integration=testdb]")
    await frame.wait_for_selector("#weir-f-host")
    assert await frame.eval_on_selector("#weir-f-sslmode", "e => e.tagName") == "SELECT"
    assert await frame.get_attribute("#weir-f-password", "type") == "password"
    assert await frame.inner_text("label[for=weir-f-port]") == "Port (optional)"
    await frame.fill("#weir-f-host", "db.internal")
    await frame.fill("#weir-f-password", "pw")
    await frame.select_option("#weir-f-sslmode", "disable")
    await frame.click("button[type=submit]")
    received = await events(page, "success")
    assert received[1] == {"type": "integration_selected", "integration": "testdb"}


async def test_popup_mode_connects_with_oauth(browser, stack, screenshots):
    page = await open_host(browser, stack, "testoauth")
    async with page.context.expect_page() as popup_info:
        await page.click("[data-mode=popup]")
    popup = await popup_info.value
    await popup.wait_for_selector("[data-action=oauth]")
    await popup.set_viewport_size({"width": 500, "height": 640})
    await popup.screenshot(path=str(screenshots / "popup.png"))
    await popup.click("[data-action=oauth]")
    await approve_in(popup)
    received = await events(page, "success")
    assert types(received)[:4] == ["open", "integration_selected", "oauth_started", "success"]
    assert await Connection.exists(id=received[3]["connectionId"])
    assert types(await events(page, "close"))[-1] == "close"  # the popup closed itself


async def test_redirect_mode_returns_to_the_host_with_the_connection(browser, stack, screenshots):
    page = await open_host(browser, stack, "testoauth")
    await page.click("[data-mode=redirect]")
    await page.wait_for_selector("[data-action=oauth]")
    assert page.url.startswith(stack.weir_url + "/connect")
    assert "token=" not in page.url  # the page drops the token from the address bar
    await page.screenshot(path=str(screenshots / "redirect.png"))
    await page.click("[data-action=oauth]")
    await approve_in(page)
    await page.wait_for_url(stack.host_url + "/connected?**")
    result = await page.inner_text("#result")
    session = await ConnectSession.get(redirect_uri=f"{stack.host_url}/connected")
    assert session.status == "COMPLETED"
    assert session.connection_id in result and session.id in result


async def test_denied_consent_reports_access_denied(browser, stack):
    page = await open_host(browser, stack, "testoauth")
    await page.click("[data-mode=modal]")
    frame = await connect_frame(page)
    async with page.context.expect_page() as consent_info:
        await frame.click("[data-action=oauth]")
    await approve_in(await consent_info.value, approve=False)
    await frame.wait_for_selector("text=Access to Test OAuth was denied. You can try again.")
    received = await events(page, "error")
    assert received[-1]["code"] == "ACCESS_DENIED"
    # Escape on the focused button, dispatched inside the frame. A key sent through CDP
    # (Frame.press, Keyboard.press) waits for the frame's renderer to acknowledge the key-up,
    # and this frame is cross-origin (its own renderer) and removed by the widget as it
    # closes: the acknowledgement could never come and the test hung with no timeout.
    await escape_inside(frame, "text=Try again")
    assert types(await events(page, "close"))[-1] == "close"


async def test_expired_token_reports_an_error(browser, stack):
    page = await open_host(browser, stack, "testkey")
    created = await page.evaluate("""async () => {
        const r = await fetch('/api/connect-session', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: '{"integration":"testkey"}'});
        return r.json(); }""")
    await ConnectSession.filter(id=created["sessionId"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await page.evaluate(
        "t => { Weir.connect({token: t, mode: 'modal', onEvent: logEvent}); }", created["token"]
    )
    # The frame may load and say "open" before the token check answers.
    assert (await first_error(page))["code"] == "TOKEN_EXPIRED"
    await events(page, "close")
    assert await page.query_selector("iframe") is None


async def test_host_origin_not_allowed_is_refused(browser, stack):
    await Workspace.filter(id=stack.tenant.workspace_id).update(
        allowed_origins=["https://someone-else.example"]
    )
    page = await open_host(browser, stack, "testkey")
    await page.click("[data-mode=inline]")
    assert (await first_error(page))["code"] == "ORIGIN_NOT_ALLOWED"
    # And the browser itself refuses to render the page in a frame on this origin.
    created = await page.evaluate("""async () => {
        const r = await fetch('/api/connect-session', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: '{"integration":"testkey"}'});
        return r.json(); }""")
    await page.evaluate(
        """([url]) => { const f = document.createElement('iframe');
        f.id = 'raw'; f.src = url; document.body.appendChild(f); }""",
        [f"{stack.weir_url}/connect?token={created['token']}"],
    )
    await asyncio.sleep(1.0)
    frame = await (await page.wait_for_selector("#raw")).content_frame()
    assert await frame.query_selector("#weir-app") is None


async def test_blocked_popup_reports_popup_blocked_when_fallback_is_off(browser, stack):
    page = await open_host(browser, stack, "testkey")
    await page.evaluate("window.open = function () { return null; }")
    await page.evaluate("startConnect('popup', {fallbackToRedirect: false})")
    received = await events(page, "error")
    assert received == [
        {"type": "error", "code": "POPUP_BLOCKED", "message": "The browser blocked the popup"}
    ]


async def test_blocked_popup_falls_back_to_redirect(browser, stack):
    page = await open_host(browser, stack, "testkey")
    await page.evaluate("window.open = function () { return null; }")
    await page.click("[data-mode=popup]")
    await page.wait_for_url(stack.weir_url + "/connect**")
    await page.wait_for_selector("#weir-f-secret_text")
