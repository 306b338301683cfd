"""Cross-origin access to ``/graphql`` for the browser origins of ``WEIR_CORS_ORIGINS``.

A page served from another origin (a dashboard, ``examples/dashboard``) POSTs JSON with an
``Authorization`` header, so the browser first sends an ``OPTIONS`` preflight. Only ``/graphql``
answers it; every other route keeps its own policy (the widget sends its own headers). No
cookies are involved, so credentials mode stays off. WebSockets are not subject to CORS.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

PREFLIGHT_MAX_AGE_SECONDS = 600


class GraphQLCors:
    """CORS for ``/graphql`` only, for the listed origins."""

    def __init__(self, app: ASGIApp, *, origins: tuple[str, ...]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type"],
            allow_credentials=False,
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql":
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
