"""GraphiQL served entirely by Weir: its page at ``GET /graphql`` (``Accept: text/html``) and its
assets under ``/graphiql/``, so that it works on a network with no internet access.

The assets are pinned copies of npm packages (see ``static/graphiql/THIRD_PARTY_LICENSES.md``);
the page and its boot script are Weir's own. A Content-Security-Policy allows nothing but this
origin: no CDN, no inline script or style, no other host to talk to.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

STATIC = Path(__file__).resolve().parent / "static" / "graphiql"
ASSETS = {
    "graphiql.min.js": "text/javascript",
    "graphiql.min.css": "text/css",
    "react.production.min.js": "text/javascript",
    "react-dom.production.min.js": "text/javascript",
    "weir-graphiql.js": "text/javascript",
    "weir-graphiql.css": "text/css",
}
# 'self' only. GraphiQL's stylesheet draws its icons from data: URLs; WebSocket subscriptions to
# this origin are covered by 'self' (CSP Level 3).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@cache
def _page() -> bytes:
    return (STATIC / "index.html").read_bytes()


@cache
def _asset(name: str) -> tuple[bytes, bytes]:
    """The asset's bytes, plain and gzipped (graphiql.min.js is 3.5 MB, about 0.7 MB gzipped)."""
    body = (STATIC / name).read_bytes()
    return body, gzip.compress(body, compresslevel=6, mtime=0)


def page() -> Response:
    """The GraphiQL page (for ``GET /graphql`` from a browser)."""
    return HTMLResponse(_page(), headers={**_HEADERS, "Cache-Control": "no-store"})


async def asset(request: Request) -> Response:
    """``/graphiql/{name}``: one of the files the page loads; 404 in production like the page."""
    name = request.path_params["name"]
    if not request.app.state.runtime.settings.graphiql or name not in ASSETS:
        return JSONResponse({"error": "no such file"}, status_code=404)
    plain, zipped = _asset(name)
    headers = {**_HEADERS, "Cache-Control": "public, max-age=3600", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        return Response(zipped, media_type=ASSETS[name], headers={**headers, "Content-Encoding": "gzip"})
    return Response(plain, media_type=ASSETS[name], headers=headers)
