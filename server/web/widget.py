"""``/widget/*``: the embeddable ``weir.js`` and the connect page's JS and CSS, from ``widget/``.

The files live in the repository's top-level ``widget/`` folder; a built wheel carries a copy in
``server/web/static/widget/`` (``weir_build.py``), so ``WIDGET_DIR`` is that copy when it exists
and the checkout's folder otherwise (running from the tree, or an editable install).

``/widget/v1/<file>`` is the versioned URL (cached for a day, and the one to pin with a
Subresource Integrity hash); ``/widget/weir.js`` always serves the latest, cached briefly. Both
send ``Access-Control-Allow-Origin: *`` because a cross-origin script with ``integrity`` is
fetched in CORS mode. ``python -m server.web.widget [public URL]`` prints the embed snippet.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def find_widget_dir(package_dir: Path = Path(__file__).resolve().parent) -> Path:
    """Where the served files are: the wheel's copy inside the package, else the checkout's."""
    packaged = package_dir / "static" / "widget"
    return packaged if packaged.is_dir() else package_dir.parent.parent / "widget"


WIDGET_DIR = find_widget_dir()
VERSION = "v1"
FILES = {"weir.js": "text/javascript", "connect.js": "text/javascript", "connect.css": "text/css"}
VERSIONED_MAX_AGE = 86400
LATEST_MAX_AGE = 300


def read_asset(name: str) -> bytes:
    return (WIDGET_DIR / name).read_bytes()


def sri_hash(name: str = "weir.js") -> str:
    digest = hashlib.sha384(read_asset(name)).digest()
    return "sha384-" + base64.b64encode(digest).decode()


def snippet(public_url: str) -> str:
    return (
        f'<script src="{public_url.rstrip("/")}/widget/{VERSION}/weir.js" '
        f'integrity="{sri_hash()}" crossorigin="anonymous"></script>'
    )


def _serve(request: Request, name: str, max_age: int) -> Response:
    if name not in FILES or not (WIDGET_DIR / name).is_file():
        return JSONResponse({"error": "no such file"}, status_code=404)
    body = read_asset(name)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "Cache-Control": f"public, max-age={max_age}",
        "ETag": etag,
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=f"{FILES[name]}; charset=utf-8", headers=headers)


async def versioned(request: Request) -> Response:
    if request.path_params["version"] != VERSION:
        return JSONResponse({"error": f"unknown widget version; use {VERSION}"}, status_code=404)
    return _serve(request, request.path_params["name"], VERSIONED_MAX_AGE)


async def latest(request: Request) -> Response:
    return _serve(request, request.path_params["name"], LATEST_MAX_AGE)


if __name__ == "__main__":
    print(snippet(sys.argv[1] if len(sys.argv) > 1 else "https://weir.example.com"))
