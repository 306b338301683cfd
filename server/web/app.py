"""The API process: a Starlette app serving GraphQL, the connect flow, the widget and health."""

from __future__ import annotations

import contextlib
import gc
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.context import Services
from server.api.metrics import ApiMetrics
from server.api.schema import build_schema
from server.auth.revocation import Revocations
from server.calls.recorder import CallRecorder
from server.config import Settings
from server.connectors import budget as rate_budgets
from server.crypto import KeyRing, load_key_ring
from server.db import close_database, open_database
from server.events import EventBus, build_event_bus
from server.logs import request_id_var
from server.vault import verify_key_ring
from server.web import connect_pages, console, graphiql, health, logos, widget
from server.web.budgets import Budgets
from server.web.graphql import GraphQLHTTP, GraphQLWebSocket
from server.web.mcp import McpEndpoint
from server.web.proxy import ProxyEndpoint

log = logging.getLogger("weir.web")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass
class Runtime:
    """What the API process builds once at start-up and shares with every request."""

    settings: Settings
    services: Services
    metrics: ApiMetrics
    key_ring: KeyRing


class RequestContextMiddleware:
    """Gives every request an id (kept from ``X-Request-ID`` when sane), logs and counts it."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = {"code": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                route = _route_label(scope.get("path", ""))
                self.metrics.http_requests.labels(route, str(status["code"])).inc()
                log.debug(
                    "%s %s -> %s",
                    scope.get("method"),
                    route,
                    status["code"],
                    extra={
                        "method": scope.get("method"),
                        "path": route,
                        "status": status["code"],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            request_id_var.reset(token)


def _route_label(path: str) -> str:
    """A bounded label for metrics: the first path segment only (never ids or tokens)."""
    first = path.strip("/").split("/", 1)[0]
    return (
        "/" + first
        if first
        in {
            "graphql",
            "graphiql",
            "console",
            "connect",
            "oauth",
            "widget",
            "logos",
            "healthz",
            "readyz",
            "metrics",
            "proxy",
        }
        else "/other"
    )


class Background(Protocol):
    """What runs beside the API in its process (``server.embedded``), stopped at shutdown."""

    async def stop(self) -> None: ...


# Called once the database is open, before the app takes requests: it installs what the
# process needs beside the API (the task broker; on the embedded default a worker and the
# scheduler) and returns it for stopping. The process's composition root supplies it.
StartBackground = Callable[[Settings, Services], Awaitable[Background]]


def create_app(
    settings: Settings, *, bus: EventBus | None = None, start_background: StartBackground | None = None
) -> Starlette:
    """The API app alone. The database is opened (and closed) by its lifespan.

    ``weir serve`` runs ``server.embedded.create_app``, which passes ``start_background``;
    without it the app installs no task broker and runs no worker or scheduler.
    """
    metrics = ApiMetrics(max_operation_names=settings.metrics_max_operations)
    key_ring = load_key_ring(settings)
    services = Services(
        settings=settings,
        bus=bus or build_event_bus(settings.redis_url),
        key_ring=key_ring,
        calls=CallRecorder(metrics.calls),
    )
    schema = build_schema(settings, extra_extensions=[metrics.extension()])
    # Revoked credentials lose their cached authentication and their sockets, in every process.
    revocations = Revocations(services.bus, services.auth)
    # Request budgets per API key and connect token (shared through Redis when configured).
    budgets = Budgets(settings)
    runtime = Runtime(settings=settings, services=services, metrics=metrics, key_ring=key_ring)
    # The authenticated proxy, with its own outgoing client (closed with the app).
    proxy = ProxyEndpoint(services, budgets)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = await open_database(settings, global_fallback=True)
        try:
            # A wrong or missing key must stop start-up, never surface later as a bad secret.
            await verify_key_ring(key_ring=key_ring)
        except BaseException:
            await close_database(db)
            raise
        await services.bus.start()
        await revocations.start()
        background = await start_background(settings, services) if start_background is not None else None
        # What start-up built (modules, the schema, caches) lives as long as the app: keep it
        # out of the collector's full passes, which would otherwise walk it again and again.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            if background is not None:
                await background.stop()
            await revocations.stop()
            await proxy.aclose()
            await budgets.close()
            await rate_budgets.shared.close()
            await services.aclose()
            await services.bus.close()
            await close_database(db)

    routes: list[Any] = [
        # Every method reaches the handler, so each answer has a GraphQL-shaped body (405s too).
        Route("/graphql", GraphQLHTTP(services, schema, budgets), methods=None),
        WebSocketRoute("/graphql", GraphQLWebSocket(services, schema, revocations, budgets)),
        Route("/graphiql/{name:str}", graphiql.asset),
        Route("/console", console.page),
        Route("/console/", console.page),
        Route("/console/{path:path}", console.asset),
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", health.metrics),
        Route("/logos/{name}.svg", logos.logo),
        Route("/connect", connect_pages.connect_page),
        Route("/connect/check", connect_pages.connect_check, methods=["POST"]),
        Route("/oauth/authorize", connect_pages.oauth_authorize, methods=["POST"]),
        Route("/oauth/callback", connect_pages.oauth_callback),
        Route("/widget/{version:str}/{name:str}", widget.versioned),
        Route("/widget/{name:str}", widget.latest),
        # Every method: the proxy forwards any of them (its domain refuses what it must).
        Route("/proxy/{path:path}", proxy, methods=None),
        # MCP's Streamable HTTP transport (server.web.mcp): POST, GET and DELETE.
        Route("/mcp", McpEndpoint(services, budgets), methods=None),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = runtime
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    if settings.cors_origins:
        from server.web.cors import GraphQLCors

        app.add_middleware(GraphQLCors, origins=settings.cors_origins)
    return app
