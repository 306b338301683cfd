"""GraphQL over WebSocket (``graphql-transport-ws``) for ``/graphql``, spoken by Weir itself.

The protocol (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md) is small, and
owning it lets a subscription event cost one encoding per process instead of one message path
per subscriber (see ``server.web.ws_feeds``). Operations still run through the Strawberry schema
(``schema.stream``: its parsing, validation, extensions and error formatting), and every message
and close code is what Strawberry's own handler sent:

- Every message is validated as PROTOCOL.md defines it; a malformed one closes with ``4400``
  (``connection_init``/``ping``/``pong`` payload: an object, ``null`` or absent; ``subscribe``:
  an ``id`` string and a payload object with a ``query`` string, ``operationName`` a string,
  ``null`` or absent, ``variables`` and ``extensions`` objects, ``null`` or absent; JSON nested
  deeper than ``server.web.json_input.MAX_DEPTH``). A message longer than
  ``WEIR_MAX_BODY_BYTES`` closes with ``1009`` (Message Too Big, what the WebSocket layer
  itself sends when uvicorn's ``ws_max_size``, set to the same figure, stops it first).
- ``connection_init`` authenticates the API key (or connect token) of its payload through
  ``server.auth``, as HTTP does its ``Authorization`` header (``4403``
  when it is bad; ``4429`` when sent twice;
  ``4408`` when none came within ``INIT_TIMEOUT``); the answer is ``connection_ack``. Revoking
  the credential later closes the socket with ``4403`` (server.auth.revocation). A connect token
  may only subscribe to its own session (``connectSessionUpdated``); anything else is one
  ``error`` message with ``FORBIDDEN``.
- ``ping`` is answered with ``pong``; ``pong`` is ignored.
- ``subscribe`` before the acknowledgement closes with ``4401``, and with an id in use with
  ``4409``. Its document comes from ``DocumentCache.prepare`` (server.api.documents) like every
  other: over a limit it is one ``error`` message with ``LIMIT_EXCEEDED``. A socket runs at most
  ``WEIR_WS_MAX_SUBSCRIPTIONS`` operations; one more is an ``error`` message with
  ``LIMIT_EXCEEDED`` for that operation alone (the protocol has no close code for it, and
  closing would end the socket's other subscriptions too). Its results are ``next`` messages
  then ``complete``; errors before execution are one ``error`` message (Weir's error formatter
  makes a syntax error one of them; an unformatted syntax error would close with ``4400``, as
  the protocol says).
- ``complete`` from the client stops that operation and frees its id.
- Anything else (not text, not JSON, no or an unknown ``type``) closes with ``4400``.

The close codes and caps are listed for users in docs/graphql.md ("Limits").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationType,
    get_operation_ast,
)
from strawberry.http.websocket_origin import (
    is_same_origin,
    normalize_allowed_origins,
    normalize_origin,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from server.api.context import Context, Services
from server.api.documents import LIMIT_EXCEEDED, DocumentRejected
from server.api.loaders import Loaders
from server.auth.connect_token import scope_may_run
from server.auth.revocation import Revocations
from server.errors import WeirError
from server.logs import request_id_var
from server.scope import Scope
from server.web import json_input
from server.web.budgets import Budgets, rate_limited_message
from server.web.ws_feeds import (
    _COMPLETE,
    LIVE,
    SNAPSHOT,
    STARTING,
    Feed,
    Feeds,
    encode_result,
    is_clean,
)
from server.web.ws_messages import (
    PROTOCOL,
    TOO_BIG,
    Malformed,
    close_reason,
    dumps,
    error_message,
    fanned_out,
    operation_id_of,
    optional_object,
    subscribe_payload,
)
from server.web.ws_writer import SocketWriter

log = logging.getLogger("weir.graphql.ws")

INIT_TIMEOUT = 60.0


class Operation:
    """One ``subscribe`` of one connection."""

    __slots__ = (
        "completed",
        "connection",
        "feed",
        "held",
        "id",
        "next_prefix",
        "mutation",
        "operation_name",
        "query",
        "state",
        "task",
        "variables",
    )

    def __init__(self, connection: Connection, operation_id: str, payload: dict[str, Any]) -> None:
        self.connection = connection
        self.id = operation_id
        self.query = payload["query"]
        self.variables = payload.get("variables")
        self.operation_name = payload.get("operationName")
        # Every `next` of this operation starts the same way: the id is encoded once.
        self.next_prefix = '{"id":' + json.dumps(operation_id) + ',"type":"next","payload":'
        self.completed = False
        self.mutation = False
        self.task: asyncio.Task[None] | None = None
        self.feed: Feed | None = None
        self.state = STARTING
        self.held: list[str | None] = []


class GraphQLTransportWS:
    """The ASGI endpoint: the handshake, then one ``Connection`` per socket."""

    def __init__(
        self,
        services: Services,
        schema: Any,
        revocations: Revocations | None = None,
        budgets: Budgets | None = None,
    ) -> None:
        self.services = services
        self.schema = schema
        self.feeds = Feeds(schema)
        self.revocations = revocations
        self.budgets = budgets
        # Browsers on another origin may open the socket only when WEIR_CORS_ORIGINS lists it;
        # non-browser clients send no Origin.
        self.allowed_origins = normalize_allowed_origins(services.settings.cors_origins)

    def origin_allowed(self, headers: dict[bytes, bytes]) -> bool:
        origin = headers.get(b"origin")
        if origin is None:
            return True
        text = origin.decode("latin-1")
        host = headers.get(b"host", b"").decode("latin-1") or None
        if headers.get(b"sec-fetch-site") == b"same-origin" or is_same_origin(text, host):
            return True
        if "*" in self.allowed_origins or normalize_origin(text) in self.allowed_origins:
            return True
        log.warning(
            "Rejected WebSocket connection from origin %r to host %r. If pages on this "
            "origin should be able to connect, add it to WEIR_CORS_ORIGINS.",
            text,
            host,
        )
        return False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        if not self.origin_allowed(dict(scope.get("headers") or [])):
            await send({"type": "websocket.close", "code": 1008})  # before accepting: a 403
            return
        if PROTOCOL not in (scope.get("subprotocols") or []):
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 4406, "reason": "Subprotocol not acceptable"})
            return
        await send({"type": "websocket.accept", "subprotocol": PROTOCOL})
        await Connection(self, scope, receive, send).serve()


class Connection(SocketWriter):
    """One socket: its messages read and answered, its operations run."""

    def __init__(self, endpoint: GraphQLTransportWS, scope: dict[str, Any], receive: Any, send: Any) -> None:
        super().__init__(scope, send)
        self.endpoint = endpoint
        self.receive = receive
        # The scope is filled in by connection_init; until then it grants nothing.
        self.context = Context(
            services=endpoint.services, scope=Scope(organization_id=""), request_id=request_id_var.get()
        )
        self.init_received = False
        self.acknowledged = False
        self.operations: dict[str, Operation] = {}

    # -- reading ---------------------------------------------------------------------------------

    async def serve(self) -> None:
        deadline = asyncio.get_running_loop().time() + INIT_TIMEOUT
        try:
            while not self.closed:
                if not self.init_received:
                    try:
                        async with asyncio.timeout_at(deadline):
                            message = await self.receive()
                    except TimeoutError:
                        await self.close(4408, "Connection initialisation timeout")
                        return
                else:
                    message = await self.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    await self.close(4400, "WebSocket message type must be text")
                    return
                limit = self.endpoint.services.settings.max_body_bytes
                if len(text) > limit:  # characters: never more than the bytes uvicorn counts
                    await self.close(TOO_BIG, f"WebSocket message is larger than {limit} bytes")
                    return
                try:
                    data = json_input.loads(text)
                except json_input.JSONRejected as exc:
                    await self.close(
                        4400,
                        "WebSocket message must be valid JSON"
                        if str(exc) == "not valid JSON"
                        else f"WebSocket message: {exc}",
                    )
                    return
                await self.handle(data)
        finally:
            await self.shutdown()

    async def handle(self, message: Any) -> None:
        if not isinstance(message, dict) or "type" not in message:
            await self.close(4400, "Failed to parse message")
            return
        kind = message["type"]
        try:
            if kind == "connection_init":
                await self.on_init(message)
            elif kind == "ping":
                optional_object(message, "payload", "ping message")
                self.write('{"type":"pong"}')
            elif kind == "pong":
                optional_object(message, "payload", "pong message")
            elif kind == "subscribe":
                await self.on_subscribe(message)
            elif kind == "complete":
                self.stop(operation_id_of(message))
            else:
                await self.close(4400, f"Unknown message type: {str(kind)[:64]}")
        except Malformed as exc:
            await self.close(4400, str(exc))

    async def on_init(self, message: dict[str, Any]) -> None:
        payload = message.get("payload")
        if payload is None:  # optional, and null is allowed (PROTOCOL.md)
            payload = {}
        if not isinstance(payload, dict):
            await self.close(4400, "Invalid connection init payload")
            return
        if self.init_received:
            await self.close(4429, "Too many initialisation requests")
            return
        self.init_received = True
        self.context.connection_params = payload
        try:
            scope = await self.endpoint.services.auth.authenticate_connection_params(payload)
        except WeirError:
            await self.close(4403, "Forbidden")
            return
        self.context.scope = scope
        self.context.loaders = Loaders(scope)
        if self.endpoint.revocations is not None:
            self.endpoint.revocations.register(self, scope.credentials())
        self.write('{"type":"connection_ack","payload":null}')
        self.acknowledged = True

    async def on_subscribe(self, message: dict[str, Any]) -> None:
        if not self.acknowledged:
            await self.close(4401, "Unauthorized")
            return
        operation_id = operation_id_of(message)
        payload = subscribe_payload(message)
        if operation_id in self.operations:
            await self.close(4409, f"Subscriber for {operation_id} already exists")
            return
        maximum = self.endpoint.services.settings.ws_max_subscriptions
        if len(self.operations) >= maximum:
            self.write(
                error_message(
                    operation_id,
                    f"this socket already runs {maximum} subscriptions: complete one "
                    "first, or open another socket",
                    LIMIT_EXCEEDED,
                    limit="subscriptions",
                    maximum=maximum,
                )
            )
            return
        operation = Operation(self, operation_id, payload)
        self.operations[operation_id] = operation
        # Spent first, as over HTTP: a refused document costs its sender too.
        budgets = self.endpoint.budgets
        retry_after = await budgets.spend(self.context.scope) if budgets is not None else 0
        if retry_after:
            self.finish(
                operation,
                error_message(
                    operation.id,
                    rate_limited_message(self.context.scope, retry_after),
                    "RATE_LIMITED",
                    retryAfter=retry_after,
                ),
            )
            return
        # The one way in (server.api.documents): parsed and measured once, within the limits,
        # before the checks below read it and before any validation rule runs.
        try:
            document: DocumentNode | None = await self.endpoint.schema.documents.prepare_async(
                operation.query
            )
        except DocumentRejected as exc:
            self.finish(operation, dumps({"id": operation.id, "type": "error", "payload": [exc.formatted]}))
            return
        except GraphQLError:
            document = None  # a syntax error: running the operation reports it
        if not scope_may_run(self.context.scope, document, subscription=True):
            self.finish(
                operation,
                error_message(
                    operation.id,
                    "a connect token may only subscribe to connectSessionUpdated of its own session",
                    "FORBIDDEN",
                ),
            )
            return
        if document is not None:
            found = get_operation_ast(document, operation.operation_name)
            operation.mutation = found is not None and found.operation == OperationType.MUTATION
        if document is not None and fanned_out(document, operation.operation_name):
            self.endpoint.feeds.join(operation, self.context)
        else:
            self.start_alone(operation)

    def stop(self, operation_id: str) -> None:
        operation = self.operations.pop(operation_id, None)
        if operation is None:
            return
        operation.completed = True
        if operation.feed is not None:
            operation.feed.leave(operation)
        if operation.task is not None and not operation.mutation:
            # A mutation runs to its end unheard, as over HTTP when the client goes: cancelled in
            # a transaction's BEGIN, it would leave the database connection inside it (Tortoise),
            # and any client could try that at will by completing or closing at once.
            operation.task.cancel()

    async def shutdown(self) -> None:
        self.closed = True
        if self.endpoint.revocations is not None:
            self.endpoint.revocations.unregister(self, self.context.scope.credentials())
        tasks = [op.task for op in self.operations.values() if op.task is not None]
        for operation_id in list(self.operations):
            self.stop(operation_id)
        # Let the cancelled operations run their cleanup (their event subscriptions) first.
        for task in tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
        if self.writer is not None:
            self.writer.cancel()

    # -- operations ------------------------------------------------------------------------------

    def start_alone(self, operation: Operation) -> None:
        operation.state = LIVE
        operation.task = asyncio.create_task(self.run(operation))

    def finish(self, operation: Operation, text: str) -> None:
        """The operation's last message (``complete`` or ``error``); its id is free again."""
        if operation.completed:
            return
        operation.completed = True
        if self.operations.get(operation.id) is operation:
            del self.operations[operation.id]
        if operation.feed is not None:  # nothing may follow its last message
            operation.feed.leave(operation)
        self.write(text)

    def end_fed(self, operation: Operation) -> None:
        """The feed of ``operation`` has ended: it completes once what it holds is sent."""
        operation.feed = None
        if operation.state == SNAPSHOT:
            operation.held.append(_COMPLETE)
        else:
            self.finish(operation, dumps({"id": operation.id, "type": "complete"}))

    def _go_live(self, operation: Operation) -> None:
        operation.state = LIVE
        held, operation.held = operation.held, []
        for text in held:
            if text is _COMPLETE:
                self.finish(operation, dumps({"id": operation.id, "type": "complete"}))
                return
            self.write(text)

    async def run(self, operation: Operation) -> None:
        """Run ``operation`` through the schema and send its results; for a feed member that
        joined late, only up to its snapshot."""
        try:
            stream = await self.endpoint.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=self.context,
                operation_name=operation.operation_name,
            )
            async with aclosing(stream):
                first = True
                async for result in stream:
                    if first and operation.state == SNAPSHOT:
                        if is_clean(result):
                            self.write(operation.next_prefix + encode_result(result) + "}")
                            self._go_live(operation)
                            return
                        # Not shareable (or the feed is gone): this operation runs alone.
                        if operation.feed is not None:
                            operation.feed.leave(operation)
                        operation.state, operation.held = LIVE, []
                    if first and isinstance(result, PreExecutionError):
                        await self._pre_execution_error(operation, result)
                        return
                    if not isinstance(result, ExecutionResult):
                        error = GraphQLError(
                            "Incremental delivery is not supported over graphql-transport-ws"
                        )
                        self.finish(
                            operation,
                            dumps({"id": operation.id, "type": "error", "payload": [error.formatted]}),
                        )
                        return
                    if not operation.completed:  # a mutation its client completed: unheard
                        self.write(operation.next_prefix + encode_result(result) + "}")
                    first = False
            self.finish(operation, dumps({"id": operation.id, "type": "complete"}))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscription operation failed")
            self.finish(operation, dumps({"id": operation.id, "type": "complete"}))

    async def _pre_execution_error(self, operation: Operation, result: PreExecutionError) -> None:
        errors = result.errors or []
        reason = close_reason(errors[0]) if errors else None
        if reason is not None:
            self.operations.pop(operation.id, None)
            operation.completed = True
            await self.close(4400, reason)
            return
        self.finish(
            operation,
            dumps({"id": operation.id, "type": "error", "payload": [error.formatted for error in errors]}),
        )
