"""Shared steps of the webhook tests: connections that emit events, an independent verifier."""

from __future__ import annotations

import hashlib
import hmac

from server.config import Settings
from server.connections import service as connections
from server.connections.models import Connection
from server.crypto import KeyRing
from server.scope import Scope
from server.webhooks.models import WebhookDelivery

SECRET_KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123456789"


async def make_connection(
    scope: Scope, workspace_id: str, settings: Settings, key_ring: KeyRing, external_id: str | None = None
) -> Connection:
    """A WORKSPACE connection to OpenAI (emits ``connection.created``)."""
    return await connections.create_connection(
        scope=scope,
        key_ring=key_ring,
        settings=settings,
        integration_name="openai",
        auth_type="SECRET_TEXT",
        credentials={"secret_text": SECRET_KEY},
        connection_scope="WORKSPACE",
        workspace_id=workspace_id,
        external_id=external_id,
    )


def independent_signatures(secret: str, timestamp: str, body: bytes) -> str:
    """What docs/webhooks.md tells receivers to compute, written without Weir's code."""
    return hmac.new(secret.encode("utf-8"), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def header_values(header: str) -> list[str]:
    return [part.strip()[len("v1=") :] for part in header.split(",") if part.strip().startswith("v1=")]


async def deliveries_of(endpoint_id: str) -> list[WebhookDelivery]:
    return await WebhookDelivery.filter(endpoint_id=endpoint_id).order_by("event_id", "id")
