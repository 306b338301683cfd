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
- ``connection_init`` authenticates the API key (or connect token) of its payload (``4403``
  when it is bad; ``4429`` when sent twice;
  ``4408`` when none came within ``INIT_TIMEOUT``); the answer is ``connection_ack``. Revoking
  the credential later closes the socket with ``4403`` (server.web.revocation). A connect token
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
import collections
import contextlib
import json
import logging
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
)
from strawberry.http.websocket_origin import (
    is_same_origin,
    normalize_allowed_origins,
    normalize_origin,
)
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from server.api.context import Context, Services
from server.api.documents import LIMIT_EXCEEDED, DocumentRejected
from server.api.loaders import Loaders
from server.api.shared import FANNED_OUT
from server.connect import service as connect_sessions
from server.errors import WeirError
from server.logs import request_id_var
from server.orgs.api_keys import authenticate
from server.scope import Scope
from server.web import json_input
from server.web.budgets import Budgets, rate_limited_message
from server.web.connect_token import connect_token_may_run
from server.web.revocation import Revocations
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
from server.web.ws_server import DIRECT, Written, text_frame

log = logging.getLogger("weir.graphql.ws")

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT = 60.0
# Without direct writes (another ASGI server), messages wait in a per-connection outbox; a peer
# that leaves this many unsent is closed rather than buffered without bound.
SLOW_PEER_MESSAGES = 1000
# Close code for a peer that stopped reading ("try again later": graphql-ws clients reconnect,
# and a new subscription starts with a fresh snapshot).
TOO_SLOW = 1013
# RFC 6455's "Message Too Big": what the WebSocket layer sends for a frame over its maximum.
TOO_BIG = 1009


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


class Operation:
    """One ``subscribe`` of one connection."""

    __slots__ = ("completed", "connection", "feed", "held", "id", "next_prefix", "operation_name",
                 "query", "state", "task", "variables")

    def __init__(self, connection: Connection, operation_id: str, payload: dict[str, Any]) -> None:
        self.connection = connection
        self.id = operation_id
        self.query = payload["query"]
        self.variables = payload.get("variables")
        self.operation_name = payload.get("operationName")
        # Every `next` of this operation starts the same way: the id is encoded once.
        self.next_prefix = '{"id":' + json.dumps(operation_id) + ',"type":"next","payload":'
        self.completed = False
        self.task: asyncio.Task[None] | None = None
        self.feed: Feed | None = None
        self.state = STARTING
        self.held: list[str | None] = []


class Malformed(Exception):
    """A message that is not what the protocol defines; closes the socket with ``4400``."""


def fanned_out(document: DocumentNode, operation_name: str | None) -> bool:
    """True when the operation is a subscription to one field of ``FANNED_OUT``."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation.value != "subscription":
        return False
    selections = operations[0].selection_set.selections
    return (len(selections) == 1 and isinstance(selections[0], FieldNode)
            and selections[0].name.value in FANNED_OUT)


def _error_message(operation_id: str, message: str, code: str, **extra: Any) -> str:
    """The ``error`` message ending one operation, with Weir's ``extensions.code``."""
    return _dumps({"id": operation_id, "type": "error",
                   "payload": [{"message": message, "extensions": {"code": code, **extra}}]})


def _close_reason(error: GraphQLError) -> str | None:
    """Why an error before execution closes the socket (per the protocol), if it does."""
    if isinstance(error, GraphQLSyntaxError):
        return error.message
    if isinstance(error.original_error, CannotGetOperationTypeError):
        return error.original_error.as_http_error_reason()
    return None


def _operation_id(message: dict[str, Any]) -> str:
    operation_id = message.get("id")
    if not isinstance(operation_id, str):
        raise Malformed(f"Invalid {message['type']} message: 'id' must be a string")
    return operation_id


def _optional_object(message: dict[str, Any], name: str, where: str) -> dict[str, Any] | None:
    """``message[name]`` when it is an object, ``None`` when null or absent."""
    value = message.get(name)
    if value is not None and not isinstance(value, dict):
        raise Malformed(f"Invalid {where}: '{name}' must be an object or null")
    return value


def subscribe_payload(message: dict[str, Any]) -> dict[str, Any]:
    """The payload of a ``subscribe`` message, checked against PROTOCOL.md."""
    payload = message.get("payload")
    if not isinstance(payload, dict):
        raise Malformed("Invalid subscribe message: 'payload' must be an object")
    if not isinstance(payload.get("query"), str):
        raise Malformed("Invalid subscribe payload: 'query' must be a string")
    if payload.get("operationName") is not None and not isinstance(payload["operationName"], str):
        raise Malformed("Invalid subscribe payload: 'operationName' must be a string or null")
    _optional_object(payload, "variables", "subscribe payload")
    _optional_object(payload, "extensions", "subscribe payload")
    return payload


def _connection_secret(params: dict[str, Any]) -> str | None:
    raw = params.get("authorization") or params.get("Authorization") or params.get("x-api-key")
    if not isinstance(raw, str):
        return None
    scheme, _, value = raw.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else raw.strip()


class GraphQLTransportWS:
    """The ASGI endpoint: the handshake, then one ``Connection`` per socket."""

    def __init__(self, services: Services, schema: Any,
                 revocations: Revocations | None = None, budgets: Budgets | None = None) -> None:
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
        log.warning("Rejected WebSocket connection from origin %r to host %r. If pages on this "
                    "origin should be able to connect, add it to WEIR_CORS_ORIGINS.", text, host)
        return False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        if not self.origin_allowed(dict(scope.get("headers") or [])):
            await send({"type": "websocket.close", "code": 1008})  # before accepting: a 403
            return
        if PROTOCOL not in (scope.get("subprotocols") or []):
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 4406,
                        "reason": "Subprotocol not acceptable"})
            return
        await send({"type": "websocket.accept", "subprotocol": PROTOCOL})
        await Connection(self, scope, receive, send).serve()


class Connection:
    def __init__(self, endpoint: GraphQLTransportWS, scope: dict[str, Any], receive: Any,
                 send: Any) -> None:
        self.endpoint = endpoint
        self.receive, self.send = receive, send
        self.direct = (scope.get("extensions") or {}).get(DIRECT)
        self.outbox: collections.deque[str] = collections.deque()
        self.writer: asyncio.Task[None] | None = None
        self.closed = False
        # The scope is filled in by connection_init; until then it grants nothing.
        self.context = Context(services=endpoint.services, scope=Scope(organization_id=""),
                               request_id=request_id_var.get())
        self.init_received = False
        self.acknowledged = False
        self.operations: dict[str, Operation] = {}

    # -- writing ---------------------------------------------------------------------------------

    def write(self, text: str, frame: bytes | None = None) -> None:
        """Send one message (``frame``, when given, is its text frame); never waits. A peer
        that stopped reading is closed."""
        if self.closed:
            return
        if self.direct is not None:
            written = self.direct.write(frame if frame is not None else text_frame(text.encode()))
            if written is Written.TOO_SLOW:
                self.closed = True
                self.direct.close_slow_peer(TOO_SLOW, "subscriber too slow")
            return
        self.outbox.append(text)
        if len(self.outbox) > SLOW_PEER_MESSAGES:
            # Waiting for the outbox to drain could take forever: drop it and close.
            self.closed = True
            self.outbox.clear()
            if self.writer is not None:
                self.writer.cancel()
            task = asyncio.ensure_future(self.send({"type": "websocket.close", "code": TOO_SLOW,
                                                    "reason": "subscriber too slow"}))
            task.add_done_callback(_retrieve)
            return
        if self.writer is None:
            self.writer = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.outbox and not self.closed:
                await self.send({"type": "websocket.send", "text": self.outbox.popleft()})
        except Exception:  # the peer is gone: its disconnect ends the connection
            self.closed = True
        finally:
            self.writer = None

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        writer = self.writer
        if writer is not None:
            with contextlib.suppress(Exception):
                await writer
        self.closed = True
        with contextlib.suppress(Exception):
            await self.send({"type": "websocket.close", "code": code, "reason": reason})

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
                    await self.close(4400, "WebSocket message must be valid JSON"
                                     if str(exc) == "not valid JSON" else f"WebSocket message: {exc}")
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
                _optional_object(message, "payload", "ping message")
                self.write('{"type":"pong"}')
            elif kind == "pong":
                _optional_object(message, "payload", "pong message")
            elif kind == "subscribe":
                await self.on_subscribe(message)
            elif kind == "complete":
                self.stop(_operation_id(message))
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
        secret = _connection_secret(payload)
        try:
            if secret and secret.startswith(connect_sessions.TOKEN_PREFIX):
                scope: Scope = await connect_sessions.authenticate_token(
                    secret, bus=self.endpoint.services.bus)
            else:
                scope = await authenticate(secret)
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
        operation_id = _operation_id(message)
        payload = subscribe_payload(message)
        if operation_id in self.operations:
            await self.close(4409, f"Subscriber for {operation_id} already exists")
            return
        maximum = self.endpoint.services.settings.ws_max_subscriptions
        if len(self.operations) >= maximum:
            self.write(_error_message(
                operation_id, f"this socket already runs {maximum} subscriptions: complete one "
                "first, or open another socket", LIMIT_EXCEEDED, limit="subscriptions",
                maximum=maximum))
            return
        operation = Operation(self, operation_id, payload)
        self.operations[operation_id] = operation
        # Spent first, as over HTTP: a refused document costs its sender too.
        budgets = self.endpoint.budgets
        retry_after = await budgets.spend(self.context.scope) if budgets is not None else 0
        if retry_after:
            self.finish(operation, _error_message(
                operation.id, rate_limited_message(self.context.scope, retry_after),
                "RATE_LIMITED", retryAfter=retry_after))
            return
        # The one way in (server.api.documents): parsed and measured once, within the limits,
        # before the checks below read it and before any validation rule runs.
        try:
            document: DocumentNode | None = await self.endpoint.schema.documents.prepare_async(
                operation.query)
        except DocumentRejected as exc:
            self.finish(operation, _dumps({"id": operation.id, "type": "error",
                                           "payload": [exc.formatted]}))
            return
        except GraphQLError:
            document = None  # a syntax error: running the operation reports it
        if isinstance(self.context.scope, connect_sessions.ConnectScope) and (
            document is None or not connect_token_may_run(document, subscription=True)
        ):
            self.finish(operation, _error_message(
                operation.id, "a connect token may only subscribe to connectSessionUpdated "
                "of its own session", "FORBIDDEN"))
            return
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
        if operation.task is not None:
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
            self.finish(operation, _dumps({"id": operation.id, "type": "complete"}))

    def _go_live(self, operation: Operation) -> None:
        operation.state = LIVE
        held, operation.held = operation.held, []
        for text in held:
            if text is _COMPLETE:
                self.finish(operation, _dumps({"id": operation.id, "type": "complete"}))
                return
            self.write(text)

    async def run(self, operation: Operation) -> None:
        """Run ``operation`` through the schema and send its results; for a feed member that
        joined late, only up to its snapshot."""
        try:
            stream = await self.endpoint.schema.stream(
                operation.query, variable_values=operation.variables,
                context_value=self.context, operation_name=operation.operation_name)
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
                            "Incremental delivery is not supported over graphql-transport-ws")
                        self.finish(operation, _dumps({"id": operation.id, "type": "error",
                                                       "payload": [error.formatted]}))
                        return
                    self.write(operation.next_prefix + encode_result(result) + "}")
                    first = False
            self.finish(operation, _dumps({"id": operation.id, "type": "complete"}))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscription operation failed")
            self.finish(operation, _dumps({"id": operation.id, "type": "complete"}))

    async def _pre_execution_error(self, operation: Operation, result: PreExecutionError) -> None:
        errors = result.errors or []
        reason = _close_reason(errors[0]) if errors else None
        if reason is not None:
            self.operations.pop(operation.id, None)
            operation.completed = True
            await self.close(4400, reason)
            return
        self.finish(operation, _dumps({"id": operation.id, "type": "error",
                                       "payload": [error.formatted for error in errors]}))


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
