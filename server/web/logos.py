"""``GET /logos/<name>.svg``: the catalog's logos, from ``server/connectors/logos/``.

An SVG is a document that can carry script, so each answer is locked down as if it were one:
an exact ``image/svg+xml`` type with ``nosniff`` (never rendered as HTML), and a CSP that allows
nothing but the file's own inline styles, for a browser that opens the URL directly. As an
``<img>`` the browser already runs no script and loads nothing. Names are checked before any
path is built, so no request reaches a file outside the folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

LOGO_DIR = Path(__file__).resolve().parent.parent / "connectors" / "logos"
NAME = re.compile(r"[a-z0-9_]+")
HEADERS = {
    "Content-Type": "image/svg+xml",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=86400",
}


def logo_path(name: str, directory: Path = LOGO_DIR) -> Path | None:
    """The logo file of the integration ``name``, or None when the name is not one or has none."""
    if not NAME.fullmatch(name):
        return None
    path = directory / f"{name}.svg"
    return path if path.is_file() else None


async def logo(request: Request) -> Response:
    path = logo_path(request.path_params["name"])
    if path is None:
        return JSONResponse(
            {"error": "no such logo"}, status_code=404, headers={"X-Content-Type-Options": "nosniff"}
        )
    return Response(path.read_bytes(), headers=HEADERS)
