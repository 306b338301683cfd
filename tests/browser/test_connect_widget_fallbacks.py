"""The widget's fallbacks and languages in a real browser (issue 18, items 3 and 4).

A blocked popup continues in the tab and comes back to the host page without a ``redirectUri``;
a popup a provider's Cross-Origin-Opener-Policy hides from its opener still completes; the
inline frame fits its content; the modal's focus starts on its heading and returns to the
button that opened it; and the page speaks the ``locale`` option's or the browser's language,
right to left for Arabic.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from server.connect.models import ConnectSession
from server.connections.models import Connection
from tests.browser.test_connect_widget import approve_in, connect_frame, events, open_host, types

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


async def test_blocked_popup_continues_in_the_tab_and_returns_to_the_host(browser, stack):
    page = await open_host(browser, stack, "testkey")
    await page.evaluate("window.open = function () { return null; }")
    await page.click("[data-mode=popup]")  # the host app sets no redirectUri for a popup
    await page.wait_for_url(stack.weir_url + "/connect**")
    await page.fill("#weir-f-secret_text", "sk_good")
    await page.click("button[type=submit]")
    await page.wait_for_url(stack.host_url + "/?**")
    query = parse_qs(urlsplit(page.url).query)
    session = await ConnectSession.get(id=query["session_id"][0])
    assert session.redirect_uri is None
    assert session.status == "COMPLETED"
    assert query["connection_id"] == [session.connection_id]
    assert await Connection.exists(id=session.connection_id)


async def test_blocked_popup_with_oauth_returns_to_the_host_after_consent(browser, stack):
    page = await open_host(browser, stack, "testoauth")
    await page.evaluate("window.open = function () { return null; }")
    await page.click("[data-mode=popup]")
    await page.wait_for_url(stack.weir_url + "/connect**")
    await page.click("[data-action=oauth]")
    await approve_in(page)
    await page.wait_for_url(stack.host_url + "/?**")
    query = parse_qs(urlsplit(page.url).query)
    session = await ConnectSession.get(id=query["session_id"][0])
    assert (session.status, query["connection_id"]) == ("COMPLETED", [session.connection_id])


async def test_a_return_address_off_the_host_origin_is_ignored(browser, stack):
    page = await open_host(browser, stack, "testkey")
    created = await page.evaluate("""async () => {
        const r = await fetch('/api/connect-session', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: '{"integration":"testkey"}'});
        return r.json(); }""")
    url = (
        f"{stack.weir_url}/connect?token={created['token']}&mode=redirect"
        f"&origin={stack.host_url}&return=https://evil.example/steal"
    )
    await page.goto(url)
    await page.fill("#weir-f-secret_text", "sk_good")
    await page.click("button[type=submit]")
    await page.wait_for_selector("text=Your account is connected. You can close this window.")
    assert page.url.startswith(stack.weir_url)


async def test_popup_hidden_by_cross_origin_opener_policy_still_completes(browser, stack):
    stack.provider.opener_policy = "same-origin"
    page = await open_host(browser, stack, "testoauth")
    async with page.context.expect_page() as popup_info:
        await page.click("[data-mode=popup]")
    popup = await popup_info.value
    await popup.click("[data-action=oauth]")
    await approve_in(popup)
    await popup.wait_for_selector("text=Connected")
    # The consent page's COOP cut the popup off: it has no opener to send "success" to, and
    # the host's handle on it reads closed. The host follows the session's status instead.
    assert await popup.evaluate("window.opener === null")
    received = await events(page, "success")
    success = next(event for event in received if event["type"] == "success")
    session = await ConnectSession.get(id=success["sessionId"])
    assert success["connectionId"] == session.connection_id
    assert await Connection.exists(id=success["connectionId"])
    assert types(await events(page, "close"))[-1] == "close"
    assert "error" not in types(received)


async def test_a_popup_closed_before_leaving_weir_ends_the_flow(browser, stack):
    page = await open_host(browser, stack, "testkey")
    async with page.context.expect_page() as popup_info:
        await page.click("[data-mode=popup]")
    popup = await popup_info.value
    await popup.wait_for_selector("#weir-f-secret_text")
    await popup.close()
    received = await events(page, "close")
    # Closed on the credential form of the integration the session named: the step reached.
    assert received[-1] == {"type": "close", "completed": False, "step": "integration_selected"}
    assert "success" not in types(received)


async def frame_fit(page: Any, frame: Any) -> tuple[float, float]:
    outer = await page.eval_on_selector("iframe", "f => f.getBoundingClientRect().height")
    inner = await frame.evaluate("document.getElementById('weir-app').getBoundingClientRect().height")
    return outer, inner


async def wait_fit(page: Any, frame: Any) -> float:
    """The frame's height once it matches its content's (the page reports it as it changes)."""
    for _ in range(50):
        outer, inner = await frame_fit(page, frame)
        if abs(outer - inner) <= 1:
            return outer
        await page.wait_for_timeout(100)
    raise AssertionError(f"the frame is {outer}px high, its content {inner}px")


async def test_inline_frame_fits_its_content_and_says_nothing_of_windows(browser, stack):
    page = await open_host(browser, stack, "testkey")
    await page.click("[data-mode=inline]")
    frame = await connect_frame(page)
    await frame.wait_for_selector("#weir-f-secret_text")
    form_height = await wait_fit(page, frame)
    assert form_height < 560  # shorter than the starting height: the frame shrank
    await frame.click("button[type=submit]")  # a field error makes the card taller
    await frame.wait_for_selector("text=This field is required.")
    await frame.fill("#weir-f-secret_text", "sk_wrong")
    await frame.click("button[type=submit]")
    await frame.wait_for_selector(
        "text=Test Key refused the credentials: The provider rejected this API key (401)."
    )
    assert await wait_fit(page, frame) > form_height
    await frame.fill("#weir-f-secret_text", "sk_good")
    await frame.click("button[type=submit]")
    await frame.wait_for_selector("text=Your account is connected.")
    await wait_fit(page, frame)
    body = await frame.inner_text("#weir-app")
    assert "close this window" not in body  # an inline frame is no window
    assert "success" in types(await events(page, "success"))


async def test_modal_focus_starts_on_the_heading_and_returns_to_the_opener(browser, stack):
    page = await open_host(browser, stack)
    await page.focus("[data-mode=modal]")
    await page.keyboard.press("Enter")
    frame = await connect_frame(page)
    await frame.wait_for_selector("[data-integration=testoauth]")
    await frame.wait_for_function("document.activeElement && document.activeElement.id === 'weir-title'")
    assert await page.evaluate("document.activeElement.tagName") == "IFRAME"
    assert await frame.evaluate("document.hasFocus()")
    assert await page.get_attribute("[role=dialog]", "aria-label") == "Connect an account"
    await frame.click("[aria-label=Close]")
    await events(page, "close")
    assert await page.evaluate("document.activeElement.dataset.mode") == "modal"


async def test_german_from_the_locale_option(browser, stack):
    page = await open_host(browser, stack, "testkey")
    await page.evaluate("startConnect('inline', {locale: 'de'})")
    handle = await page.wait_for_selector("iframe[title='Konto verbinden']")
    frame = await handle.content_frame()
    await frame.wait_for_selector("#weir-f-secret_text")
    assert await frame.get_attribute("html", "lang") == "de"
    assert await frame.get_attribute("html", "dir") == "ltr"
    assert await frame.inner_text("#weir-title") == "Test Key"  # integration names stay
    assert await frame.inner_text("label[for=weir-f-secret_text]") == "API-Schlüssel"
    await frame.click("button[type=submit]")
    assert await frame.inner_text("#weir-f-secret_text-error") == "Dieses Feld ist erforderlich."
    await frame.fill("#weir-f-secret_text", "sk_wrong")
    await frame.click("button[type=submit]")
    # The provider's error is shown as it came.
    await frame.wait_for_selector(
        "text=Test Key refused the credentials: The provider rejected this API key (401)."
    )
    await frame.fill("#weir-f-secret_text", "sk_good")
    await frame.click("button[type=submit]")
    await frame.wait_for_selector("text=Ihr Konto ist verbunden.")


async def test_browser_language_picks_the_catalog(browser, stack):
    context = await browser.browser.new_context(locale="fr-FR")
    try:
        page = await context.new_page()
        page.errors = []
        await page.goto(stack.host_url + "/")
        assert await page.evaluate("navigator.languages[0]") == "fr-FR"
        await page.click("[data-mode=modal]")
        handle = await page.wait_for_selector("iframe[title='Connecter un compte']")
        frame = await handle.content_frame()
        await frame.wait_for_selector("[data-integration=testoauth]")
        assert await frame.get_attribute("html", "lang") == "fr"
        assert await frame.inner_text(".weir-muted") == "Choisissez le compte à connecter."
        assert await page.get_attribute("[role=dialog]", "aria-label") == "Connecter un compte"
    finally:
        await context.close()


async def test_arabic_renders_right_to_left(browser, stack, screenshots):
    page = await open_host(browser, stack)
    await page.evaluate("startConnect('modal', {locale: 'ar'})")
    handle = await page.wait_for_selector("iframe[title='ربط حساب']")
    frame = await handle.content_frame()
    row = await frame.wait_for_selector("[data-integration=testoauth]")
    assert await frame.get_attribute("html", "dir") == "rtl"
    assert await frame.get_attribute("html", "lang") == "ar"
    assert await frame.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert await frame.inner_text("#weir-title") == "ربط حساب"
    assert "Test OAuth" in await row.inner_text()  # integration names stay
    # Right to left: the logo is at the row's right edge, the category at its left.
    logo = await (await row.query_selector(".weir-int-logo")).bounding_box()
    category = await (await row.query_selector(".weir-int-cat")).bounding_box()
    box = await row.bounding_box()
    assert logo["x"] > category["x"]
    assert box["x"] + box["width"] - (logo["x"] + logo["width"]) < 40
    assert await row.evaluate("b => getComputedStyle(b).textAlign") == "start"
    await page.screenshot(path=str(screenshots / "modal-rtl.png"))


async def test_unknown_locale_falls_back_to_english(browser, stack):
    page = await open_host(browser, stack, "testkey")
    await page.evaluate("startConnect('inline', {locale: 'xx-YY'})")
    frame = await connect_frame(page)
    assert await frame.get_attribute("html", "lang") == "en"
