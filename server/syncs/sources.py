"""How a sync reaches its source: the connector module, its credentials and its context."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import httpx

from server.config import Settings
from server.connections.models import Connection
from server.connectors.base import ConnectorContext
from server.connectors.registry import get_connector
from server.crypto import KeyRing
from server.errors import NotFound


def connector_for(connection: Connection) -> ModuleType:
    module = get_connector(connection.integration_name)
    if module is None:
        raise NotFound("integration", connection.integration_name)
    return module


def load_credentials(*, key_ring: KeyRing, connection: Connection) -> dict[str, Any]:
    """The connection's decrypted credentials (``{}`` for a connector that needs none)."""
    if connection.credentials_encrypted is None:
        return {}
    plaintext = key_ring.decrypt(connection.credentials_encrypted, associated_data=connection.id)
    return json.loads(plaintext)


def connector_context(*, settings: Settings, integration_name: str, http: httpx.AsyncClient,
                      credentials: dict[str, Any]) -> ConnectorContext:
    module = get_connector(integration_name)
    default = module.SPEC.base_url if module is not None else None
    return ConnectorContext(
        http=http,
        base_url=settings.connector_base_urls.get(integration_name, default),
        credentials=credentials,
    )
