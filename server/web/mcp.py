"""``/mcp``: an MCP server over Streamable HTTP (the official ``mcp`` SDK), one per token.

The ``Authorization: Bearer weir_mcp_...`` token names the MCP server and the end user; each
request is authenticated before the SDK sees it and again in the handlers (the SDK runs them
in its own tasks). Stateless: every POST carries its token, no session is kept.
"""

from __future__ import annotations

import json
import math
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from server.api.context import Services
from server.errors import Unauthenticated, WeirError
from server.mcp_servers import service, tools
from server.web.budgets import Budgets


def _bearer(headers: Any) -> str | None:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


class McpEndpoint:
    def __init__(self, services: Services, budgets: Budgets | None = None) -> None:
        self.services = services
        self.budgets = budgets
        self.server: Server[Any] = Server(
            "weir",
            instructions="Actions of the end user's connected accounts, run by Weir.",
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )

    async def _principal(self, ctx: Any) -> service.McpPrincipal:
        request = ctx.request
        return await service.authenticate(_bearer(request.headers) if request is not None else None)

    async def _list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        principal = await self._principal(ctx)
        found = await tools.list_tools(principal, self.services)
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=tool.name,
                    title=tool.title,
                    description=tool.description,
                    input_schema=tool.input_schema,
                    annotations=types.ToolAnnotations(read_only_hint=tool.read_only),
                )
                for tool in found
            ]
        )

    async def _call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        principal = await self._principal(ctx)
        try:
            outcome = await tools.call_tool(
                principal, self.services, params.name, params.arguments, params.meta
            )
        except WeirError as exc:
            outcome = tools.ToolOutcome(ok=False, structured=tools.error_result(exc))
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(outcome.structured, default=str))],
            structured_content=outcome.structured,
            is_error=not outcome.ok,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            principal = await service.authenticate(_bearer(request.headers))
        except Unauthenticated as exc:
            response = JSONResponse(
                {"error": {"code": exc.code, "message": str(exc)}},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        # Each token has the request budget of an API key (WEIR_RATE_LIMIT_KEY_PER_MINUTE).
        if self.budgets is not None and self.budgets.key_per_minute:
            wait = await self.budgets.buckets.take(
                f"mcp_token:{principal.token.id}", self.budgets.key_per_minute
            )
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                response = JSONResponse(
                    {
                        "error": {
                            "code": "RATE_LIMITED",
                            "message": "too many requests",
                            "retryAfter": retry_after,
                        }
                    },
                    status_code=429,
                    headers={"Retry-After": str(retry_after)},
                )
                await response(scope, receive, send)
                return
        if scope.get("method") == "POST":
            # The SDK reads a body whole: at most WEIR_MAX_BODY_BYTES of it, as /graphql.
            body = await _read_body(request, self.services.settings.max_body_bytes)
            if body is None:
                limit = self.services.settings.max_body_bytes
                response = JSONResponse(
                    {
                        "error": {
                            "code": "PAYLOAD_TOO_LARGE",
                            "message": f"request body is larger than {limit} bytes",
                        }
                    },
                    status_code=413,
                )
                await response(scope, receive, send)
                return
            receive = _replay(body, receive)
        manager = StreamableHTTPSessionManager(app=self.server, stateless=True, json_response=True)
        async with manager.run():
            await manager.handle_request(scope, receive, send)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None when it is (or declares to be) longer than ``limit``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the SDK the body already read, then waits as the real one does
    (for the client to disconnect)."""
    sent = False

    async def replayed() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
