"""``/graphql``: GraphQL over HTTP (per the GraphQL-over-HTTP spec) and over WebSocket.

HTTP is handled here rather than by Strawberry's view, because the spec asks for more than its
defaults: ``415`` for a body that is not JSON, ``406`` when the client accepts neither GraphQL
media type, ``405`` (with ``Allow: POST``) for a mutation sent with GET, ``413`` for an
oversized body, and, for ``application/graphql-response+json``, ``400`` on a request error.
Every failure has a GraphQL-shaped body with ``extensions.code``; with the database down before
execution (authentication reads API keys) it is ``503`` and ``UNAVAILABLE`` with the request id.
WebSocket subscriptions go through Weir's ``graphql-transport-ws`` handler
(server.web.ws_protocol), authenticated in ``connection_init``. Both authenticate through
``server.auth`` (``Services.auth``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode
from graphql.error import GraphQLError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from server.api.context import Context, Services
from server.api.documents import DocumentRejected
from server.api.loaders import Loaders
from server.auth.connect_token import scope_may_run
from server.db import is_unavailable
from server.errors import Unauthenticated, database_unavailable
from server.logs import request_id_var
from server.scope import Scope
from server.web import graphiql, json_input
from server.web.budgets import Budgets, rate_limited_message
from server.web.ws_protocol import GraphQLTransportWS

log = logging.getLogger("weir.graphql")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# What a 503 (the database did not answer) asks the client to wait before trying again.
RETRY_AFTER_SECONDS = 2


def error_body(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extra}}]}


class _RequestError(Exception):
    """A request that fails before execution; becomes a response with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "BAD_REQUEST",
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}
        self.extra = extra or {}


def _negotiate(accept: str | None) -> str | None:
    """Pick the response media type from ``Accept``; ``None`` means 406."""
    if not accept or not accept.strip():
        return JSON
    ranked: list[tuple[float, str]] = []
    for part in accept.split(","):
        media, *params = [piece.strip() for piece in part.split(";")]
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((quality, media.lower()))
    ranked.sort(key=lambda item: -item[0])
    for _, media in ranked:
        if media == GRAPHQL_RESPONSE:
            return GRAPHQL_RESPONSE
        if media in (JSON, "application/*", "*/*"):
            return JSON
    return None


def _wants_ide(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "text/html" in accept and "query" not in request.query_params


class GraphQLHTTP:
    """The HTTP half of ``/graphql``."""

    def __init__(self, services: Services, schema: Any, budgets: Budgets | None = None) -> None:
        self.services = services
        self.schema = schema
        self.budgets = budgets

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """As an ASGI app the route takes every method, so even a 405 is GraphQL-shaped."""
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        media = JSON
        try:
            if request.method == "GET" and _wants_ide(request):
                if self.services.settings.graphiql:
                    return graphiql.page()  # served from Weir itself, never a CDN
                raise _RequestError(406, "GraphiQL is disabled in production; send a GraphQL request")
            if request.method not in ("GET", "POST"):
                raise _RequestError(
                    405,
                    f"{request.method[:32]} is not allowed on /graphql: use GET or POST",
                    code="METHOD_NOT_ALLOWED",
                    headers={"Allow": "GET, POST"},
                )
            negotiated = _negotiate(request.headers.get("accept"))
            if negotiated is None:
                raise _RequestError(
                    406, f"Accept must allow {GRAPHQL_RESPONSE} or {JSON}", code="NOT_ACCEPTABLE"
                )
            media = negotiated
            scope = await self._authenticate(request)
            await self._spend_budget(scope)
            params = await self._read_params(request)
            return await self._execute(request, params, scope, media)
        except _RequestError as exc:
            return self._respond(
                error_body(exc.message, exc.code, **exc.extra), exc.status, media, exc.headers
            )
        except ClientDisconnect:
            raise  # nobody is left to answer, and it is no bug
        except Exception as exc:
            if is_unavailable(exc):
                # Authentication (API keys live in the database) and budgets run before any
                # resolver: a database outage there is UNAVAILABLE too, never a bare 500.
                request_id = request_id_var.get()
                log.warning(
                    "database unavailable handling %s /graphql (%s, request id %s)",
                    request.method,
                    type(exc).__name__,
                    request_id,
                    extra={"request_id": request_id},
                )
                unavailable = database_unavailable(request_id)
                return self._respond(
                    {"errors": [{"message": unavailable.message, "extensions": unavailable.extensions()}]},
                    503,
                    media,
                    {"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            # A bug, not the client's doing: the client gets only the request id (never the
            # exception's text, which can hold a host, a query or a secret); the log gets both.
            request_id = request_id_var.get()
            log.exception(
                "unexpected error handling %s /graphql (request id %s)",
                request.method,
                request_id,
                extra={"request_id": request_id},
            )
            return self._respond(
                error_body(f"Internal error (request id {request_id})", "INTERNAL", requestId=request_id),
                500,
                media,
            )

    async def _authenticate(self, request: Request) -> Scope:
        try:
            return await self.services.auth.authenticate_headers(request.headers)
        except Unauthenticated as exc:
            raise _RequestError(
                401, exc.message, code=exc.code, headers={"WWW-Authenticate": 'Bearer realm="weir"'}
            ) from None

    async def _spend_budget(self, scope: Scope) -> None:
        retry_after = await self.budgets.spend(scope) if self.budgets is not None else 0
        if retry_after:
            raise _RequestError(
                429,
                rate_limited_message(scope, retry_after),
                code="RATE_LIMITED",
                headers={"Retry-After": str(retry_after)},
                extra={"retryAfter": retry_after},
            )

    async def _read_params(self, request: Request) -> dict[str, Any]:
        if request.method == "GET":
            params: dict[str, Any] = dict(request.query_params)
            for name in ("variables", "extensions"):
                if params.get(name):
                    try:
                        params[name] = json_input.loads(params[name])
                    except json_input.JSONRejected as exc:
                        raise _RequestError(400, f"'{name}' is {exc}") from None
        else:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != JSON:
                raise _RequestError(415, f"Content-Type must be {JSON}", code="UNSUPPORTED_MEDIA_TYPE")
            body = await self._read_body(request)
            try:
                params = json_input.loads(body)
            except json_input.JSONRejected as exc:
                raise _RequestError(400, f"the request body is {exc}") from None
            if not isinstance(params, dict):
                raise _RequestError(400, "the request body must be a JSON object")
        query = params.get("query")
        if not isinstance(query, str) or not query.strip():
            raise _RequestError(400, "'query' must be a non-empty string")
        for name in ("variables", "extensions"):
            if params.get(name) is not None and not isinstance(params[name], dict):
                raise _RequestError(400, f"'{name}' must be an object")
        if params.get("operationName") is not None and not isinstance(params["operationName"], str):
            raise _RequestError(400, "'operationName' must be a string")
        return params

    async def _read_body(self, request: Request) -> bytes:
        limit = self.services.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _RequestError(413, f"request body is larger than {limit} bytes", code="PAYLOAD_TOO_LARGE")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _RequestError(
                    413, f"request body is larger than {limit} bytes", code="PAYLOAD_TOO_LARGE"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def _execute(self, request: Request, params: dict[str, Any], scope: Scope, media: str) -> Response:
        query, operation_name = params["query"], params.get("operationName")
        # The one way in (server.api.documents): parsed and measured once, before the checks
        # below read the document and before any validation rule runs.
        try:
            document: DocumentNode | None = await self.schema.documents.prepare_async(query)
        except DocumentRejected as exc:
            return self._respond(
                {"errors": [exc.formatted]}, 400 if media == GRAPHQL_RESPONSE else 200, media
            )
        except GraphQLError:
            document = None  # a syntax error: execution reports it like any other
        allowed = {OperationType.QUERY, OperationType.MUTATION}
        if request.method == "GET":
            if _operation_type(document, operation_name) is OperationType.MUTATION:
                raise _RequestError(
                    405,
                    "mutations must be sent with POST",
                    code="METHOD_NOT_ALLOWED",
                    headers={"Allow": "POST"},
                )
            allowed = {OperationType.QUERY}
        if not scope_may_run(scope, document):
            return self._respond(
                error_body(
                    "a connect token may only run selectIntegration, startOAuth, submitCredentials "
                    "and connectSessionState",
                    "FORBIDDEN",
                ),
                403,
                media,
            )
        context = Context(
            services=self.services,
            scope=scope,
            request_id=request_id_var.get(),
            loaders=Loaders(scope),
            request=request,
        )
        try:
            result = await self.schema.execute(
                query,
                variable_values=params.get("variables"),
                context_value=context,
                operation_name=operation_name,
                allowed_operation_types=allowed,
            )
        except CannotGetOperationTypeError:
            raise _RequestError(
                400,
                f"the document has no operation named {operation_name!r}"
                if operation_name
                else "the document has no operation",
            ) from None
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise _RequestError(
                    400,
                    "subscriptions run over the WebSocket of /graphql (graphql-transport-ws), not over HTTP",
                ) from None
            raise _RequestError(
                405,
                f"{exc.operation_type.value} operations must be sent with POST",
                code="METHOD_NOT_ALLOWED",
                headers={"Allow": "POST"},
            ) from None
        if isinstance(result, PreExecutionError):
            body = {"errors": [e.formatted for e in result.errors or []]}
            status = 400 if media == GRAPHQL_RESPONSE else 200
            return self._respond(body, status, media)
        body = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        return self._respond(body, 200, media)

    @staticmethod
    def _respond(
        body: dict[str, Any], status: int, media: str, headers: dict[str, str] | None = None
    ) -> Response:
        return Response(
            json.dumps(body, default=str, separators=(",", ":")),
            status_code=status,
            media_type=f"{media}; charset=utf-8",
            headers=headers,
        )


def _operation_type(document: DocumentNode | None, operation_name: str | None) -> OperationType | None:
    if document is None:
        return None  # execution reports the syntax error properly
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if operation_name is None or (operation.name and operation.name.value == operation_name):
            return OperationType(operation.operation.value)
    return None


# The WebSocket half: Weir's own graphql-transport-ws handler (see server.web.ws_protocol).
GraphQLWebSocket = GraphQLTransportWS
