"""The @weir/connect package (clients/js) in Chromium, on the example host app's page.

``connect()`` resolves with the connection (its integration and account), rejects with a
``WeirConnectError`` and a stable code, ``onEvent`` sees each step, and ``useWeirConnect``
drives the same flow from React (its test page is bundled with esbuild by the ``js_package``
fixture).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.connect.models import ConnectSession
from server.connections.models import Connection
from tests.browser.test_connect_widget import connect_frame, escape_inside, events, open_host, types

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CREATE = """async (body) => {
    const r = await fetch('/api/connect-session', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
    return r.json(); }"""


async def results(page: Any, timeout: float = 20.0) -> list[dict[str, Any]]:
    await page.wait_for_function("window.weirResults.length > 0", timeout=timeout * 1000)
    return await page.evaluate("window.weirResults")


async def test_connect_resolves_with_the_connection_its_integration_and_account(browser, stack):
    page = await open_host(browser, stack, "testkey")
    await page.click("[data-mode=modal]")
    frame = await connect_frame(page)
    await frame.fill("#weir-f-secret_text", "sk_wrong")
    await frame.click("button[type=submit]")
    await frame.wait_for_selector("[aria-invalid=true]")
    await frame.fill("#weir-f-secret_text", "sk_good")
    await frame.click("button[type=submit]")
    [result] = await results(page)
    assert result["ok"] is True
    connection = result["connection"]
    stored = await Connection.get(id=connection["connectionId"])
    assert stored.integration_name == "testkey"
    session = await ConnectSession.get(id=connection["sessionId"])
    assert session.connection_id == stored.id
    assert connection["integration"] == "testkey"
    assert connection["account"] == {"displayName": None, "externalId": None}
    received = await page.evaluate("window.weirEvents")
    assert types(received) == ["open", "integration_selected", "form_error", "success"]
    form_error = received[2]
    assert form_error["integration"] == "testkey"
    assert form_error["fields"] == ["input.credentials.secret_text"]
    assert received[3]["integration"] == "testkey"
    # Done closes the modal: the exit says the flow completed and the step reached.
    await frame.click("text=Done")
    close = (await events(page, "close"))[-1]
    assert close == {"type": "close", "completed": True, "step": "success"}
    assert not page.errors


async def test_success_names_the_account_the_session_asked_for(browser, stack):
    page = await open_host(browser, stack, "testkey")
    created = await page.evaluate(
        """async () => {
        const r = await fetch('/api/connect-session', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: '{"integration":"testkey"}'});
        return r.json(); }"""
    )
    await ConnectSession.filter(id=created["sessionId"]).update(
        connection_name="Jane's key", external_id="crm-main"
    )
    await page.evaluate("t => { startConnect('modal', {token: t}); }", created["token"])
    frame = await connect_frame(page)
    await frame.fill("#weir-f-secret_text", "sk_good")
    await frame.click("button[type=submit]")
    [result] = await results(page)
    assert result["connection"]["account"] == {"displayName": "Jane's key", "externalId": "crm-main"}
    stored = await Connection.get(id=result["connection"]["connectionId"])
    assert (stored.display_name, stored.external_id) == ("Jane's key", "crm-main")


async def test_expired_token_rejects_with_a_typed_error(browser, stack):
    page = await open_host(browser, stack, "testkey")
    created = await page.evaluate(CREATE, {"integration": "testkey"})
    await ConnectSession.filter(id=created["sessionId"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await page.evaluate("t => { startConnect('modal', {token: t}); }", created["token"])
    [result] = await results(page)
    assert result["ok"] is False
    assert (result["name"], result["code"]) == ("WeirConnectError", "TOKEN_EXPIRED")
    assert result["step"] in ("loading", "open")
    # The error is also an event, and the modal is gone.
    await events(page, "close")
    assert await page.query_selector("iframe") is None


async def test_closing_rejects_with_user_exit_and_the_step_reached(browser, stack):
    page = await open_host(browser, stack, "testkey")
    await page.click("[data-mode=modal]")
    frame = await connect_frame(page)
    await frame.wait_for_selector("#weir-f-secret_text")
    await events(page, "integration_selected")
    await escape_inside(frame, "#weir-f-secret_text")
    [result] = await results(page)
    assert (result["code"], result["step"]) == ("USER_EXIT", "integration_selected")
    close = (await events(page, "close"))[-1]
    assert close == {"type": "close", "completed": False, "step": "integration_selected"}


async def test_oauth_steps_reach_on_event_and_a_denial_rejects_on_exit(browser, stack):
    page = await open_host(browser, stack, "testoauth")
    await page.click("[data-mode=modal]")
    frame = await connect_frame(page)
    button = await frame.wait_for_selector("[data-action=oauth]")
    async with page.context.expect_page() as consent_info:
        await button.click()
    consent = await consent_info.value
    await consent.wait_for_selector("#deny")
    await consent.click("#deny")
    await frame.wait_for_selector("text=Try again")
    received = await events(page, "error")
    assert types(received)[:4] == ["open", "integration_selected", "oauth_started", "error"]
    assert received[3]["code"] == "ACCESS_DENIED"
    # A refusal the user may retry does not settle the Promise; leaving does, with its code.
    assert await page.evaluate("window.weirResults") == []
    await escape_inside(frame, "text=Try again")
    [result] = await results(page)
    assert (result["code"], result["step"]) == ("ACCESS_DENIED", "oauth_started")


async def test_use_weir_connect_hook_resolves_and_rejects(browser, stack, js_package):
    bundle = (js_package / "test" / "react-page.js").read_text()
    page = await open_host(browser, stack, "testkey")
    await page.add_script_tag(content=bundle)
    created = await page.evaluate(CREATE, {"integration": "testkey"})
    await page.evaluate("t => mountWeirReact(t)", created["token"])
    assert await page.inner_text("#react-status") == "idle"
    await page.click("#react-open")
    frame = await connect_frame(page)
    await page.wait_for_function("document.querySelector('#react-status').textContent === 'open'")
    await frame.fill("#weir-f-secret_text", "sk_good")
    await frame.click("button[type=submit]")
    await page.wait_for_function("document.querySelector('#react-status').textContent === 'success'")
    connection = json.loads(await page.inner_text("#react-result"))
    assert connection["integration"] == "testkey"
    assert (await Connection.get(id=connection["connectionId"])).integration_name == "testkey"
    assert json.loads(await page.inner_text("#react-events")) == ["open", "integration_selected", "success"]

    # A second session, stopped from the host: the hook reports the typed error.
    page2 = await open_host(browser, stack, "testkey")
    await page2.add_script_tag(content=bundle)
    created = await page2.evaluate(CREATE, {"integration": "testkey"})
    await page2.evaluate("t => mountWeirReact(t)", created["token"])
    await page2.click("#react-open")
    await connect_frame(page2)
    await page2.wait_for_function(
        "document.querySelector('#react-events').textContent.includes('integration_selected')"
    )
    # The modal covers the page: the host's own code stops it, as a timer or a route change would.
    await page2.evaluate("document.querySelector('#react-close').click()")
    await page2.wait_for_function("document.querySelector('#react-status').textContent === 'error'")
    error = json.loads(await page2.inner_text("#react-result"))
    assert error == {"name": "WeirConnectError", "code": "USER_EXIT", "step": "integration_selected"}
    assert await page2.query_selector("iframe") is None
    assert not page.errors and not page2.errors


async def test_popup_oauth_resolves_with_the_integration_from_the_callback_page(browser, stack):
    # In popup mode the success comes from Weir's OAuth callback page, not the page that
    # was opened: it still names the integration, and the Promise resolves with it.
    page = await open_host(browser, stack, "testoauth")
    async with page.context.expect_page() as popup_info:
        await page.click("[data-mode=popup]")
    popup = await popup_info.value
    await popup.click("[data-action=oauth]")
    await popup.wait_for_selector("#approve")
    await popup.click("#approve")
    [result] = await results(page)
    connection = result["connection"]
    assert (connection["integration"], connection["account"]) == (
        "testoauth",
        {"displayName": None, "externalId": None},
    )
    stored = await Connection.get(id=connection["connectionId"])
    assert (stored.integration_name, stored.auth_type) == ("testoauth", "OAUTH2")
    close = (await events(page, "close"))[-1]
    assert close == {"type": "close", "completed": True, "step": "success"}
