"""A small REST API on loopback for proxy tests: it shows back what reached it.

Everything lives under ``/v1`` (the API's base path); ``/v2/...`` and ``/outside`` exist only
to prove a request never escaped the base path (``hits_outside``). Authentication is a bearer
token or an ``api_key`` query parameter from ``controls.tokens``; anything else is 401.

- ``ANY /v1/echo/...``: the method, path, query, headers and body size it received (JSON);
- ``GET /v1/big?mb=N``: N MiB of bytes in 64 KiB chunks, with no ``Content-Length``. With
  ``?hold=1`` it sends one chunk, then waits for ``release`` (set by the test once that chunk
  came through the proxy: proof the proxy does not wait for the whole body);
- ``GET /v1/sized?bytes=N``: N bytes with a ``Content-Length``;
- ``GET /v1/limited``: answers through ``Controls.chaos`` (429 with ``Retry-After`` when asked);
- ``GET /v1/leaky``: an answer whose headers try to hand things back (cookies, challenges,
  the token it was called with).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token

CHUNK = 64 * 1024
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass
class EchoApi:
    controls: Controls = field(default_factory=Controls)
    hits_outside: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    bytes_received: list[int] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/echo/{rest:path}", self.echo, methods=ALL_METHODS),
                Route("/v1/big", self.big),
                Route("/v1/sized", self.sized),
                Route("/v1/limited", self.limited),
                Route("/v1/leaky", self.leaky),
                Route("/{rest:path}", self.outside, methods=ALL_METHODS),
            ]
        )

    def _token(self, request: Request) -> str | None:
        return bearer_token(request) or request.query_params.get("api_key")

    def _refused(self, request: Request) -> Response | None:
        self.controls.record(request)
        if self._token(request) in self.controls.tokens:
            return None
        return JSONResponse({"message": "Bad credentials"}, status_code=401)

    async def echo(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        self.bytes_received.append(size)
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "rawPath": request.scope.get("raw_path", b"").decode("latin-1"),
                "query": request.url.query,
                "headers": {name: value for name, value in request.headers.items()},
                "bodyBytes": size,
            }
        )

    async def big(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        total = int(float(request.query_params.get("mb", "1")) * 1024 * 1024)
        hold = request.query_params.get("hold") == "1"

        async def chunks():  # type: ignore[no-untyped-def]
            sent = 0
            while sent < total:
                part = min(CHUNK, total - sent)
                yield b"x" * part
                sent += part
                if hold and sent == part:
                    await asyncio.wait_for(self.release.wait(), 10)

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def sized(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        return Response(b"y" * int(request.query_params["bytes"]), media_type="application/octet-stream")

    async def limited(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        chaos = self.controls.chaos({"message": "Too Many Requests"})
        return chaos or JSONResponse({"ok": True})

    async def leaky(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        token = self._token(request) or ""
        response = JSONResponse({"ok": True})
        response.set_cookie("session", "provider-session")
        response.headers["WWW-Authenticate"] = 'Bearer realm="provider"'
        response.headers["Proxy-Authenticate"] = "Basic"
        response.headers["X-Debug-Token"] = f"used {token}"
        response.headers["X-Ratelimit-Remaining"] = "99"
        response.headers["Connection"] = "X-Hop"
        response.headers["X-Hop"] = "hop-by-hop"
        response.headers["X-Weir-Error"] = "FORBIDDEN"
        return response

    async def outside(self, request: Request) -> Response:
        if request.url.path.startswith("/v1/"):
            self.controls.record(request)
            return JSONResponse({"message": "Not Found"}, status_code=404)
        self.hits_outside.append(f"{request.method} {request.url.path}")
        return JSONResponse({"outside": True})
