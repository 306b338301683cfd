"""The OAuth flow is bound to the browser that started it, in a real Chromium.

The host page is on http://localhost:<port> and Weir on http://127.0.0.1:<port>, so a framed
connect page is a cross-site frame: the binding cookie must still be set (first-party, by the
consent window's top-level navigation) and sent back on the provider's redirect.
"""

from __future__ import annotations

from typing import Any

import pytest

from server.connect.models import ConnectSession
from server.connections.models import Connection
from tests.browser.test_connect_widget import (
    approve_in,
    connect_frame,
    events,
    open_host,
    types,
)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


async def binding_cookies(context: Any) -> list[dict[str, Any]]:
    return [c for c in await context.cookies() if c["name"].startswith("weir_oauth_")]


async def new_session(page: Any, **body: Any) -> dict[str, Any]:
    """A connect session from the host app's back end, as its page would ask for one."""
    return await page.evaluate(
        """async body => {
        const r = await fetch('/api/connect-session', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
        return r.json(); }""",
        body,
    )


async def test_inline_mode_connects_with_oauth_through_a_bound_consent_popup(browser, stack):
    page = await open_host(browser, stack, "testoauth")
    await page.click("[data-mode=inline]")
    frame = await connect_frame(page)
    button = await frame.wait_for_selector("[data-action=oauth]")
    async with page.context.expect_page() as consent_info:
        await button.click()
    consent = await consent_info.value
    await consent.wait_for_selector("#approve")
    # The consent window's top-level visit to Weir left the cookie, first-party.
    [cookie] = await binding_cookies(page.context)
    assert cookie["domain"] == "127.0.0.1" and cookie["path"] == "/oauth/callback"
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    await approve_in(consent)
    await frame.wait_for_selector("text=Connected")
    received = await events(page, "success")
    assert types(received)[:4] == ["open", "integration_selected", "oauth_started", "success"]
    assert await Connection.exists(id=received[3]["connectionId"])
    assert not page.errors


async def test_hosted_page_connects_with_oauth_and_returns_to_the_host(browser, stack):
    page = await open_host(browser, stack)
    created = await new_session(page, integration="testoauth", redirect=True)
    await page.goto(f"{stack.weir_url}/connect?token={created['token']}")
    await page.click("[data-action=oauth]")
    await approve_in(page)
    await page.wait_for_url(stack.host_url + "/connected?**")
    session = await ConnectSession.get(id=created["sessionId"])
    assert session.status == "COMPLETED"
    assert session.connection_id in await page.inner_text("#result")


async def test_a_callback_replayed_in_another_browser_is_refused(browser, stack):
    page = await open_host(browser, stack)
    created = await new_session(page, integration="testoauth", redirect=True)
    caught: list[str] = []

    async def hold_back(route: Any) -> None:
        # The provider's answer is a redirect to the callback (which page.route cannot catch):
        # copy its target, as from a leaked log or history, and keep this browser from going.
        answer = await route.fetch(max_redirects=0)
        caught.append(answer.headers["location"])
        await route.abort()

    await page.route("**/authorize/decision", hold_back)
    await page.goto(f"{stack.weir_url}/connect?token={created['token']}")
    await page.click("[data-action=oauth]")
    await approve_in(page)
    for _ in range(100):
        if caught:
            break
        await page.wait_for_timeout(100)
    assert caught and caught[0].startswith(stack.weir_url + "/oauth/callback?")
    await page.unroute("**/authorize/decision")

    other = await browser.browser.new_context()
    try:
        replay = await other.new_page()
        response = await replay.goto(caught[0])
        assert response.status == 403
        await replay.wait_for_selector("text=different browser")
        assert await replay.inner_text("h1") == "Something went wrong"
    finally:
        await other.close()
    assert await Connection.all().count() == 0
    assert (await ConnectSession.get(id=created["sessionId"])).status == "CONNECTING"

    # The browser that started the flow can still finish it.
    await page.goto(caught[0])
    await page.wait_for_url(stack.host_url + "/connected?**")
    assert (await ConnectSession.get(id=created["sessionId"])).status == "COMPLETED"
    assert await Connection.all().count() == 1
