"""A tiny host app that embeds the Weir connect widget in each of its four modes.

Its back end holds the Weir API key and creates a connect session per click; its page loads
``weir.js`` from Weir (pinned with its SRI hash) and opens it with the ``@weir/connect``
package (``clients/js``; build it first), whose ``connect()`` resolves with the connection. Run it with::

    WEIR_API_KEY=weir_sk_... python examples/host-app/app.py

Settings (environment): ``WEIR_URL`` (default ``http://127.0.0.1:8000``), ``WEIR_API_KEY``
(required), ``WEIR_WORKSPACE_ID`` (default: the key's first workspace), ``HOST_PORT``
(default 3000). On start it adds its own origin and ``/connected`` to the workspace's allowed
origins and redirect URIs, so the demo works on a fresh ``weir init``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

HERE = Path(__file__).resolve().parent
# The @weir/connect package, built (`cd clients/js && npm ci && npm run build`): the page
# imports it as an ES module. A real app bundles it (`npm install @weir/connect`).
PACKAGE = HERE.parents[1] / "clients" / "js" / "dist" / "index.js"

WORKSPACE = "query { workspaces(first: 1) { edges { node { id } } } }"
WORKSPACE_BY_ID = """query($id: ID!) { workspace(id: $id) { id allowedOrigins allowedRedirectUris } }"""
UPDATE = """mutation($input: UpdateWorkspaceInput!) { updateWorkspace(input: $input) { id } }"""
CREATE = """mutation($input: CreateConnectSessionInput!) {
  createConnectSession(input: $input) { token connectUrl expiresAt session { id } }
}"""


class Weir:
    """The host app's back-end client for Weir's GraphQL API."""

    def __init__(self, url: str, api_key: str) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=15) as http:
            response = await http.post(f"{self.url}/graphql",
                                       json={"query": query, "variables": variables or {}},
                                       headers={"Authorization": f"Bearer {self.api_key}"})
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(body["errors"][0]["message"])
        return body["data"]

    async def widget_integrity(self) -> str:
        async with httpx.AsyncClient(timeout=15) as http:
            script = (await http.get(f"{self.url}/widget/v1/weir.js")).content
        return "sha384-" + base64.b64encode(hashlib.sha384(script).digest()).decode()


def create_app(*, weir_url: str, api_key: str, public_url: str,
               workspace_id: str | None = None) -> Starlette:
    weir = Weir(weir_url, api_key)
    public_url = public_url.rstrip("/")
    state: dict[str, Any] = {"workspace_id": workspace_id}

    async def workspace() -> str:
        if state["workspace_id"] is None:
            edges = (await weir.graphql(WORKSPACE))["workspaces"]["edges"]
            state["workspace_id"] = edges[0]["node"]["id"]
        return state["workspace_id"]

    async def allow_this_app() -> None:
        current = (await weir.graphql(WORKSPACE_BY_ID, {"id": await workspace()}))["workspace"]
        origins, uris = current["allowedOrigins"], current["allowedRedirectUris"]
        if public_url not in origins or f"{public_url}/connected" not in uris:
            await weir.graphql(UPDATE, {"input": {
                "id": current["id"],
                "allowedOrigins": sorted({*origins, public_url}),
                "allowedRedirectUris": sorted({*uris, f"{public_url}/connected"})}})

    async def index(request: Request) -> Response:
        if "integrity" not in state:
            state["integrity"] = await weir.widget_integrity()
        page = (HERE / "index.html").read_text()
        page = page.replace("{{WEIR_URL}}", html.escape(weir.url)).replace(
            "{{INTEGRITY}}", state["integrity"])
        return HTMLResponse(page)

    async def host_js(request: Request) -> Response:
        return Response((HERE / "host.js").read_bytes(), media_type="text/javascript")

    async def package_js(request: Request) -> Response:
        if not PACKAGE.is_file():
            return Response("build clients/js first: cd clients/js && npm ci && npm run build\n",
                            status_code=404, media_type="text/plain")
        return Response(PACKAGE.read_bytes(), media_type="text/javascript")

    async def connect_session(request: Request) -> Response:
        """The one call a host back end makes: a connect session for the signed-in user."""
        body = await request.json()
        variables: dict[str, Any] = {
            "workspaceId": await workspace(),
            "endUserExternalId": str(body.get("user") or "demo-user"),
            "endUserDisplayName": "Demo user",
        }
        if body.get("integration"):
            variables["integrationName"] = str(body["integration"])
        if body.get("mode") == "redirect" or body.get("redirect"):
            variables["redirectUri"] = f"{public_url}/connected"
        try:
            created = (await weir.graphql(CREATE, {"input": variables}))["createConnectSession"]
        except RuntimeError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"token": created["token"], "sessionId": created["session"]["id"]})

    async def connected(request: Request) -> Response:
        params = {key: request.query_params.get(key) for key in
                  ("connection_id", "session_id", "error")}
        return HTMLResponse(
            "<!doctype html><title>Connected</title><body style='font-family:system-ui;"
            "padding:2em'><h1>Back in the host app</h1><pre id='result'>"
            f"{html.escape(json.dumps(params, indent=2))}</pre><a href='/'>Again</a></body>")

    app = Starlette(routes=[
        Route("/", index),
        Route("/host.js", host_js),
        Route("/vendor/weir-connect.js", package_js),
        Route("/api/connect-session", connect_session, methods=["POST"]),
        Route("/connected", connected),
    ])
    app.state.allow_this_app = allow_this_app
    return app


def main() -> None:
    import asyncio

    import uvicorn

    api_key = os.environ.get("WEIR_API_KEY")
    if not api_key:
        raise SystemExit("set WEIR_API_KEY to a Weir API key (weir init prints one)")
    port = int(os.environ.get("HOST_PORT", "3000"))
    public_url = f"http://localhost:{port}"
    app = create_app(weir_url=os.environ.get("WEIR_URL", "http://127.0.0.1:8000"),
                     api_key=api_key, public_url=public_url,
                     workspace_id=os.environ.get("WEIR_WORKSPACE_ID"))
    asyncio.run(app.state.allow_this_app())
    print(f"host app on {public_url}")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
