"""The console's frame in Chromium: sign-in, navigation, themes, a narrow screen, accessibility."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.conftest import ConsoleSite

pytestmark = pytest.mark.timeout(120)


async def test_signs_in_with_a_key_kept_for_the_tab_only(console: ConsoleSite) -> None:
    page = console.page
    await console.open("/")
    assert await page.locator("#page-title").text_content() == "Overview"
    assert await page.evaluate("sessionStorage.getItem('weir.console.key')") == console.tenant.key
    assert await page.evaluate("localStorage.getItem('weir.console.key')") is None
    assert "Acme" in (await page.locator(".org").text_content() or "")
    # A new tab (same browser, same origin) is not signed in.
    other = await page.context.new_page()
    await other.goto(f"{console.url}/console")
    await other.get_by_label("API key").wait_for()
    await other.close()
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("API key").wait_for()
    assert await page.evaluate("sessionStorage.getItem('weir.console.key')") is None


async def test_a_wrong_key_is_refused_with_the_api_s_code(console: ConsoleSite) -> None:
    page = console.page
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("API key").fill("wk_not_a_real_key")
    await page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert "UNAUTHENTICATED" in (await alert.text_content() or "")
    assert await page.evaluate("sessionStorage.getItem('weir.console.key')") is None


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_every_section_opens_from_the_navigation_without_an_accessibility_violation(
    console: ConsoleSite, theme: str
) -> None:
    page = console.page
    await page.emulate_media(color_scheme=theme)
    await console.open("/")
    nav = page.get_by_role("navigation", name="Console")
    links = nav.get_by_role("link")
    names = [text.strip() for text in await links.all_text_contents()]
    assert names[0] == "Overview" and "API keys" in names
    for name in names:
        link = nav.get_by_role("link", name=name, exact=True)
        await link.click()
        await expect(link).to_have_attribute("aria-current", "page")  # the new page is chosen
        await page.locator("#page-title").wait_for()
        await page.locator(".loading").first.wait_for(state="detached")
        assert await page.locator(".error").count() == 0, await page.locator(".error").first.text_content()
        assert await console.axe() == [], name


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_no_serious_accessibility_violation_in_either_theme(console: ConsoleSite, theme: str) -> None:
    page = console.page
    await page.emulate_media(color_scheme=theme)
    await console.open("/")
    assert await console.axe() == []


async def test_a_360_pixel_screen_folds_the_navigation_behind_a_menu(console: ConsoleSite) -> None:
    page = console.page
    await page.set_viewport_size({"width": 360, "height": 740})
    await console.open("/")
    nav = page.get_by_role("navigation", name="Console")
    assert not await nav.is_visible()
    menu = page.get_by_role("button", name="Menu")
    await menu.click()
    assert await menu.get_attribute("aria-expanded") == "true"
    await nav.get_by_role("link", name="Syncs").click()
    await page.locator("#page-title").wait_for()
    await nav.wait_for(state="hidden")  # it folds again once a page is chosen
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width} px)"


def test_the_vendored_files_are_byte_for_byte_those_npm_ci_installs(axe_core: Path) -> None:
    """console/node_modules comes from ``npm ci`` (the lock file's tarballs, integrity checked):
    each served library file is an unmodified copy of its package's file."""
    import json

    from server.web.console import STATIC

    vendor = STATIC / "vendor"
    installed = axe_core.parents[1]
    for name, entry in json.loads((vendor / "VENDORED.json").read_text()).items():
        assert (vendor / name).read_bytes() == (installed / entry["package"] / entry["path"]).read_bytes(), (
            name
        )


async def test_the_keyboard_alone_signs_in_moves_between_pages_and_confirms(console: ConsoleSite) -> None:
    page = console.page
    await page.get_by_role("button", name="Sign out").click()
    key = page.get_by_label("API key")
    await key.wait_for()
    await expect(key).to_be_focused()
    await page.keyboard.type(console.tenant.key)
    await page.keyboard.press("Enter")
    # Signed in, the focus lands on the page's heading.
    await expect(page.locator("#page-title")).to_be_focused()
    await page.locator(".loading").first.wait_for(state="detached")
    # The skip link comes first, before the top bar, and lands on the page's heading.
    await page.get_by_role("link", name="Weir", exact=True).focus()
    await page.keyboard.press("Shift+Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "page-title"
    # A navigation link, followed with Enter, moves the focus to the new page's heading.
    await page.get_by_role("navigation", name="Console").get_by_role("link", name="API keys").focus()
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name="API keys").wait_for()
    await expect(page.locator("#page-title")).to_be_focused()
    # A confirmation opens on Enter, takes the focus, and Escape closes it, changing nothing.
    revoke = page.get_by_role("button", name="Revoke").first
    await revoke.focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    await dialog.wait_for()
    assert await page.evaluate("document.activeElement.closest('dialog') !== null")
    await page.keyboard.press("Escape")
    await dialog.wait_for(state="hidden")
    assert await page.evaluate("document.activeElement.textContent") == "Revoke"
    listed = await console.tenant.graphql("query { apiKeys { edges { node { revokedAt } } } }")
    assert [edge["node"]["revokedAt"] for edge in listed["data"]["apiKeys"]["edges"]] == [None]
