"""The messages of ``graphql-transport-ws``: their shapes, as PROTOCOL.md defines them, and the
ones Weir writes. ``server.web.ws_protocol`` speaks the protocol with them.
"""

from __future__ import annotations

import json
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
)
from strawberry.schema.exceptions import CannotGetOperationTypeError

from server.api.shared import FANNED_OUT

PROTOCOL = "graphql-transport-ws"
# Close code for a peer that stopped reading ("try again later": graphql-ws clients reconnect,
# and a new subscription starts with a fresh snapshot).
TOO_SLOW = 1013
# RFC 6455's "Message Too Big": what the WebSocket layer sends for a frame over its maximum.
TOO_BIG = 1009


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


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
    return (
        len(selections) == 1
        and isinstance(selections[0], FieldNode)
        and selections[0].name.value in FANNED_OUT
    )


def error_message(operation_id: str, message: str, code: str, **extra: Any) -> str:
    """The ``error`` message ending one operation, with Weir's ``extensions.code``."""
    return dumps(
        {
            "id": operation_id,
            "type": "error",
            "payload": [{"message": message, "extensions": {"code": code, **extra}}],
        }
    )


def close_reason(error: GraphQLError) -> str | None:
    """Why an error before execution closes the socket (per the protocol), if it does."""
    if isinstance(error, GraphQLSyntaxError):
        return error.message
    if isinstance(error.original_error, CannotGetOperationTypeError):
        return error.original_error.as_http_error_reason()
    return None


def operation_id_of(message: dict[str, Any]) -> str:
    operation_id = message.get("id")
    if not isinstance(operation_id, str):
        raise Malformed(f"Invalid {message['type']} message: 'id' must be a string")
    return operation_id


def optional_object(message: dict[str, Any], name: str, where: str) -> dict[str, Any] | None:
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
    optional_object(payload, "variables", "subscribe payload")
    optional_object(payload, "extensions", "subscribe payload")
    return payload
