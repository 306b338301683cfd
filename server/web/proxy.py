"""``/proxy/{path}``: the authenticated proxy over HTTP (every method).

The caller authenticates with an API key (``Authorization: Bearer <key>`` or ``x-api-key``, as
for ``/graphql``; a connect token is refused) and names the connection in headers: either
``X-Weir-Connection-Id``, or the resolution context ``X-Weir-Integration`` and
``X-Weir-Workspace-Id`` (a workspace-restricted key may leave the workspace out), with
optionally ``X-Weir-End-User-Id`` / ``X-Weir-End-User-External-Id`` and
``X-Weir-Connection-External-Id``. Each request spends one unit of the key's request budget,
like a GraphQL request.

The path after ``/proxy`` and the query go to the integration's API as they arrived; the
domain (``server.proxy``) decides everything else. Weir's own errors are JSON
``{"error": {"code", "message", "field"?}}``; the provider's answers stream back as they come.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from server import http as http_clients
from server.api.context import Services
from server.connect.service import ConnectScope
from server.db import is_unavailable
from server.errors import (
    Forbidden,
    RateLimited,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
    WeirError,
    database_unavailable,
)
from server.logs import request_id_var
from server.proxy import service as proxy
from server.web.budgets import Budgets, rate_limited_message

log = logging.getLogger("weir.proxy")

PREFIX = "/proxy"
MAX_HEADER = 255  # characters of one X-Weir-* value

# The HTTP status of each error code (the code is the contract; the status follows HTTP).
STATUSES = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "VALIDATION_FAILED": 400,
    "CONFLICT": 409,
    "CONNECTION_REQUIRED": 409,
    "RATE_LIMITED": 429,
    "PAYLOAD_TOO_LARGE": 413,
    "RESPONSE_TOO_LARGE": 502,
    "PROVIDER_ERROR": 502,
    "PROVIDER_UNREACHABLE": 502,
    # The connection's credentials, not the caller's key, were refused: reconnect it.
    "REAUTHORIZATION_REQUIRED": 401,
    "CHECK_FAILED": 502,
    "UNAVAILABLE": 503,
}
_NAMED = {
    "connection_id": proxy.CONNECTION_ID,
    "integration_name": proxy.INTEGRATION,
    "workspace_id": proxy.WORKSPACE_ID,
    "end_user_id": proxy.END_USER_ID,
    "end_user_external_id": proxy.END_USER_EXTERNAL_ID,
    "connection_external_id": proxy.CONNECTION_EXTERNAL_ID,
}


def error_response(exc: WeirError) -> JSONResponse:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    # Tells Weir's own error from the provider's answer (which never carries this header).
    headers: dict[str, str] = {"X-Weir-Error": exc.code}
    if isinstance(exc, ValidationFailed) and exc.errors:
        error["field"] = exc.errors[0].field
        error["message"] = exc.errors[0].message
        if len(exc.errors) > 1:
            error["fields"] = [{"field": e.field, "message": e.message} for e in exc.errors]
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        error["retryAfter"] = exc.retry_after
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="weir"'
    if isinstance(exc, Unavailable) and exc.request_id is not None:
        error["requestId"] = exc.request_id
    return JSONResponse({"error": error}, status_code=STATUSES.get(exc.code, 500), headers=headers)


def _named(request: Request) -> proxy.Named:
    values: dict[str, str | None] = {}
    for field, header in _NAMED.items():
        raw = request.headers.get(header)
        value = raw.strip() if raw is not None else None
        if value is not None and len(value) > MAX_HEADER:
            raise ValidationFailed.field(header, f"is longer than {MAX_HEADER} characters")
        values[field] = value or None
    return proxy.Named(**values)


def _path(scope: Scope) -> str:
    """The path after ``/proxy`` exactly as the client sent it (still percent-encoded)."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(scope.get("path", ""), safe="/:@!$&'()*+,;=-._~")
    path = path.split("?", 1)[0]
    return path[len(PREFIX) :] if path.startswith(PREFIX) else path


class ProxyEndpoint:
    """The ASGI app behind ``/proxy/{path:path}``; owns the proxy's outgoing HTTP client."""

    def __init__(self, services: Services, budgets: Budgets | None = None) -> None:
        self.services = services
        self.budgets = budgets
        self._http: httpx.AsyncClient | None = None

    def http(self) -> httpx.AsyncClient:
        """One client per process for proxied calls, under the outbound guard."""
        if self._http is None or self._http.is_closed:
            self._http = http_clients.tenant_client(self.services.settings, http_clients.PROXY)
        return self._http

    async def aclose(self) -> None:
        client, self._http = self._http, None
        if client is not None:
            await client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            answer = await self._forward(request)
        except WeirError as exc:
            await error_response(exc)(scope, receive, send)
            return
        except ClientDisconnect:
            return
        except Exception as exc:
            request_id = request_id_var.get()
            if is_unavailable(exc):
                log.warning("database unavailable proxying a request (request id %s)", request_id)
                await error_response(database_unavailable(request_id))(scope, receive, send)
                return
            log.exception("unexpected error proxying a request (request id %s)", request_id)
            body = {"error": {"code": "INTERNAL", "message": f"Internal error (request id {request_id})"}}
            answer_500 = JSONResponse(body, status_code=500, headers={"X-Weir-Error": "INTERNAL"})
            await answer_500(scope, receive, send)
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": answer.status,
                    "headers": [
                        (name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers
                    ],
                }
            )
            async for chunk in answer.body:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except WeirError as exc:
            # The status line is gone: the only honest thing left is to break the answer off.
            log.warning("a proxied answer was cut off: %s", exc.message)
            raise
        finally:
            await answer.close()

    async def _forward(self, request: Request) -> proxy.Answer:
        scope = await self.services.auth.authenticate_headers(request.headers)
        if isinstance(scope, ConnectScope):
            raise Forbidden("a connect token cannot use the proxy; use an API key")
        if self.budgets is not None:
            retry_after = await self.budgets.spend(scope)
            if retry_after:
                raise RateLimited(rate_limited_message(scope, retry_after), retry_after=retry_after)
        named = _named(request)

        async def body() -> AsyncIterator[bytes]:
            async for chunk in request.stream():
                yield chunk

        incoming = proxy.Incoming(
            method=request.method,
            path=_path(request.scope),
            query=request.scope.get("query_string", b"").decode("latin-1"),
            headers=list(request.headers.items()),
            body=body,
            content_length=request.headers.get("content-length"),
        )
        services = self.services
        runtime = proxy.Runtime(
            settings=services.settings,
            key_ring=services.key_ring,
            http=self.http(),
            bus=services.bus,
            recorder=services.calls,
        )
        return await proxy.forward(runtime=runtime, scope=scope, named=named, incoming=incoming)
