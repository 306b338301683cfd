"""The operator console: ``GET /console`` and its files under ``/console/...``.

The console is a static single-page app (``static/console``: Preact and htm as pinned, unmodified
copies, see ``vendor/VENDORED.json``, and Weir's own modules). It has no build step and no server
side of its own: the browser signs in with an API key, kept in the tab's ``sessionStorage``, and
speaks only the public GraphQL API (HTTP and the graphql-transport-ws subscriptions), exactly as
any other client would. So the console can do nothing the key could not do with ``curl``.

The Content-Security-Policy allows this origin only, and no inline code except the page's import
map, allowed by its hash: an injected script has nowhere to load from and nowhere to send a key.
``WEIR_CONSOLE=false`` turns the console off (404).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

STATIC = Path(__file__).resolve().parent / "static" / "console"
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_IMPORT_MAP = re.compile(rb'<script type="importmap">(.*?)</script>', re.S)


@dataclass(frozen=True)
class Asset:
    media_type: str
    plain: bytes
    zipped: bytes
    etag: str


@cache
def _assets() -> dict[str, Asset]:
    """Every servable file by its path under ``/console/`` (read once; the set is fixed)."""
    found: dict[str, Asset] = {}
    for path in sorted(STATIC.rglob("*")):
        media_type = TYPES.get(path.suffix)
        if media_type is None or not path.is_file():
            continue  # index.html is the page; VENDORED.json and licences are not served
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        found[path.relative_to(STATIC).as_posix()] = Asset(
            media_type, body, gzip.compress(body, compresslevel=6, mtime=0), etag
        )
    return found


@cache
def _page() -> tuple[bytes, str]:
    """The page and its Content-Security-Policy (which names the import map by its hash)."""
    body = (STATIC / "index.html").read_bytes()
    match = _IMPORT_MAP.search(body)
    assert match is not None, "static/console/index.html must have its import map"
    digest = base64.b64encode(hashlib.sha256(match.group(1)).digest()).decode()
    policy = (
        f"default-src 'none'; script-src 'self' 'sha256-{digest}'; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    return body, policy


def _headers(policy: str | None = None) -> dict[str, str]:
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
    if policy is not None:
        headers["Content-Security-Policy"] = policy
    return headers


def _enabled(request: Request) -> bool:
    return bool(request.app.state.runtime.settings.console)


async def page(request: Request) -> Response:
    """``GET /console``: the single page (every console route is a ``#/...`` fragment of it)."""
    if not _enabled(request):
        return JSONResponse({"error": "the console is turned off (WEIR_CONSOLE)"}, status_code=404)
    body, policy = _page()
    return HTMLResponse(body, headers={**_headers(policy), "Cache-Control": "no-store"})


async def asset(request: Request) -> Response:
    """``GET /console/{path}``: one of the console's files; anything else is a 404."""
    found = _assets().get(request.path_params["path"]) if _enabled(request) else None
    if found is None:
        return JSONResponse({"error": "no such file"}, status_code=404)
    # Revalidated on every load, answered 304 while unchanged: an upgrade is never half-cached.
    headers = {**_headers(), "Cache-Control": "no-cache", "ETag": found.etag, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        return Response(found.zipped, media_type=found.media_type, headers=headers)
    return Response(found.plain, media_type=found.media_type, headers=headers)
