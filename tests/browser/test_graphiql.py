"""GraphiQL in Chromium with no internet: every request outside Weir's origin is blocked, and
the IDE still loads, runs a query (and a subscription, over the WebSocket) with the key typed
into its headers pane, and stores no key."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.conftest import make_tenant

QUERY = "{ viewer { organization { name } } }"
UPDATE = "mutation($id: ID!, $n: String) { updateWorkspace(input: {id: $id, displayName: $n}) { id } }"
# GraphiQL's first schema fetch goes out before a key is typed in; that 401 is expected.
UNAUTHORIZED = "the server responded with a status of 401 (Unauthorized)"


@dataclass
class Ide:
    page: Any
    outside: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def type_into(self, editor: Any, text: str) -> None:
        await editor.click()
        await self.page.keyboard.press("Control+A")
        await self.page.keyboard.press("Delete")
        await self.page.keyboard.insert_text(text)
        # CodeMirror applies typed text on its own schedule: run only what was typed in full.
        await self.page.wait_for_function(
            "([el, text]) => el.CodeMirror.getValue() === text", arg=[await editor.element_handle(), text]
        )

    async def run(self, document: str, key: str) -> Any:
        """Type ``document`` and the key into their editors, run it; the response pane."""
        query = self.page.locator(".graphiql-query-editor .CodeMirror")
        await self.type_into(query, document)
        # GraphiQL parses the query 100 ms after an edit (a debounce) and picks HTTP or the
        # WebSocket from that parse: run only once it has parsed this text.
        await self.page.wait_for_function(
            """([el, text]) => { const ast = el.CodeMirror.documentAST;
                                 return !!(ast && ast.loc && ast.loc.source.body === text); }""",
            arg=[await query.element_handle(), document],
        )
        headers = self.page.locator(".graphiql-editor-tool .CodeMirror").last
        await headers.wait_for()
        await self.type_into(headers, json.dumps({"Authorization": f"Bearer {key}"}))
        await self.page.locator(".graphiql-execute-button").click()
        return self.page.locator(".graphiql-response")

    def unexpected_problems(self) -> list[str]:
        return [p for p in self.problems if UNAUTHORIZED not in p]


async def open_graphiql(browser: Any, weir: str) -> Ide:
    """GraphiQL at ``weir``/graphql, with every request to another origin aborted."""
    ide = Ide(page=None)

    async def only_weir(route: Any) -> None:
        parts = urlsplit(route.request.url)
        if (
            parts.scheme in ("http", "https", "ws", "wss")
            and f"{parts.scheme.replace('ws', 'http')}://{parts.netloc}" != weir
        ):
            ide.outside.append(route.request.url)
            await route.abort()
        else:
            await route.continue_()

    await browser.route("**/*", only_weir)
    ide.page = page = await browser.new_page()
    page.on("console", lambda m: ide.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: ide.problems.append(str(error)))
    response = await page.goto(f"{weir}/graphql")
    assert response is not None and response.status == 200
    # The editors exist only once React and GraphiQL ran: a CDN page stays on "Loading...".
    await page.locator(".graphiql-query-editor .CodeMirror").wait_for()
    assert "default-src 'none'" in response.headers["content-security-policy"]
    return ide


async def test_graphiql_works_offline_and_keeps_the_key_out_of_storage(live_server, browser):
    weir = f"http://{live_server}"
    async with httpx.AsyncClient(base_url=weir) as http:
        tenant = await make_tenant(http, "Acme Offline")
    ide = await open_graphiql(browser, weir)
    page = ide.page

    result = await ide.run(QUERY, tenant.key)
    await result.get_by_text('"Acme Offline"').wait_for()
    assert '"organization"' in await result.inner_text()

    # With the key in place, the schema loads by introspection and the docs show it.
    await page.get_by_label("Re-fetch GraphQL schema").click()
    await page.get_by_label("Show Documentation Explorer").click()
    await page.locator(".graphiql-doc-explorer").get_by_text("Mutation", exact=True).wait_for()

    stored = await page.evaluate(
        "() => JSON.stringify({local: {...localStorage}, session: {...sessionStorage}})"
    )
    assert tenant.key not in stored
    assert "graphiql:" in stored  # GraphiQL did keep its (key-free) state, in this tab only
    assert json.loads(stored)["local"] == {}
    assert ide.outside == []
    assert ide.unexpected_problems() == [], ide.problems


async def test_graphiql_subscribes_over_weirs_websocket(live_server, browser):
    weir = f"http://{live_server}"
    async with httpx.AsyncClient(base_url=weir) as http:
        tenant = await make_tenant(http, "Acme Live")
        ide = await open_graphiql(browser, weir)
        result = await ide.run(
            f'subscription {{ workspaceUpdated(id: "{tenant.workspace_id}") {{ id displayName }} }}',
            tenant.key,
        )
        try:
            await result.get_by_text(f'"{tenant.workspace_id}"').wait_for()
        except Exception as exc:
            raise AssertionError(f"pane: {await result.inner_text()!r}; problems: {ide.problems}") from exc
        renamed = await http.post(
            "/graphql",
            json={"query": UPDATE, "variables": {"id": tenant.workspace_id, "n": "Renamed Live"}},
            headers={"Authorization": f"Bearer {tenant.key}"},
        )
        assert "errors" not in renamed.json()
        await result.get_by_text('"Renamed Live"').wait_for()
    assert ide.outside == []
    assert ide.unexpected_problems() == [], ide.problems
