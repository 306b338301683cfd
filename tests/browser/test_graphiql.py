"""GraphiQL in Chromium with no internet: every request outside Weir's origin is blocked, and
the IDE still loads, runs a query with the key typed into its headers pane, and stores no key."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx

from tests.conftest import make_tenant

QUERY = "{ viewer { organization { name } } }"


async def test_graphiql_works_offline_and_keeps_the_key_out_of_storage(live_server, browser):
    weir = f"http://{live_server}"
    async with httpx.AsyncClient(base_url=weir) as http:
        tenant = await make_tenant(http, "Acme Offline")

    outside: list[str] = []

    async def only_weir(route):
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and \
                f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" != weir:
            outside.append(url)
            await route.abort()
        else:
            await route.continue_()

    await browser.route("**/*", only_weir)
    page = await browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    response = await page.goto(f"{weir}/graphql")
    assert response is not None and response.status == 200
    # The editors exist only once React and GraphiQL ran: a CDN page stays on "Loading...".
    await page.locator(".graphiql-query-editor .CodeMirror").wait_for()
    assert "default-src 'none'" in response.headers["content-security-policy"]

    # The query, then the key, typed into the editors.
    await page.locator(".graphiql-query-editor .CodeMirror").click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.insert_text(QUERY)
    headers_editor = page.locator(".graphiql-editor-tool .CodeMirror").last
    await headers_editor.wait_for()
    await headers_editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {tenant.key}"}))

    await page.locator(".graphiql-execute-button").click()
    result = page.locator(".graphiql-response")
    await result.get_by_text('"Acme Offline"').wait_for()
    assert '"organization"' in await result.inner_text()

    # With the key in place, the schema loads by introspection and the docs show it.
    await page.get_by_label("Re-fetch GraphQL schema").click()
    await page.get_by_label("Show Documentation Explorer").click()
    docs = page.locator(".graphiql-doc-explorer")
    await docs.get_by_text("Mutation", exact=True).wait_for()

    stored = await page.evaluate(
        "() => JSON.stringify({local: {...localStorage}, session: {...sessionStorage}})")
    assert tenant.key not in stored
    assert "graphiql:" in stored  # GraphiQL did keep its (key-free) state, in this tab only
    assert json.loads(stored)["local"] == {}
    assert outside == []
    # The only failures: GraphiQL's first schema fetch, sent before the key was typed in.
    unauthorized = "the server responded with a status of 401 (Unauthorized)"
    assert [p for p in problems if unauthorized not in p] == [], problems
