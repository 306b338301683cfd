"""Fixtures for the proxy: the echo API emulator, integrations pointing at it, connections."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from server.connections import service as connections
from server.connections.models import Connection
from server.connectors import registry
from server.connectors.definition import parse_definition
from server.crypto import load_key_ring
from server.scope import Scope
from tests.emulators.common import serve
from tests.emulators.echo_api import EchoApi

TOKEN = "sk-proxy-test-credential-0123456789"


def definition(base_url: str, name: str, auth: dict[str, Any]) -> dict[str, Any]:
    """A catalog-format integration whose API is the echo emulator under ``/v1``."""
    return {
        "name": name,
        "display_name": name.title(),
        "category": "OTHER",
        "description": "The echo API emulator.",
        "auth": copy.deepcopy(auth),
        "api": {"base_url": f"{base_url}/v1"},
        "check": {"path": "/echo/check"},
        "streams": [
            {
                "name": "items",
                "path": "/echo/items",
                "record_selector": "items",
                "primary_key": ["id"],
                "pagination": {"type": "none"},
                "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
            }
        ],
    }


@dataclass
class Proxied:
    """The echo emulator, its base URL, and a tenant with a workspace connection to it."""

    api: EchoApi
    url: str
    tenant: Any
    connection: Connection

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.tenant.key}",
            "X-Weir-Connection-Id": self.connection.id,
            **extra,
        }


@pytest.fixture
async def echo_api() -> AsyncIterator[tuple[EchoApi, str]]:
    api = EchoApi()
    api.controls.tokens.add(TOKEN)
    async with serve(api.app()) as url:
        yield api, url


@pytest.fixture
def echo_integrations(echo_api: tuple[EchoApi, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, url = echo_api
    for name, auth in (
        ("echoapi", {"type": "api_key"}),
        ("echoquery", {"type": "api_key", "in": "query", "name": "api_key", "value": "{api_key}"}),
    ):
        monkeypatch.setitem(registry.CONNECTORS, name, parse_definition(definition(url, name, auth)))


async def add_connection(
    settings: Any, tenant: Any, integration: str = "echoapi", **extra: Any
) -> Connection:
    """A SECRET_TEXT connection: the workspace's, the end user's given as ``end_user_id``, or
    the organization's with ``connection_scope="ORGANIZATION"``."""
    if "end_user_id" not in extra and "connection_scope" not in extra:
        extra.update(connection_scope="WORKSPACE", workspace_id=tenant.workspace_id)
    return await connections.create_connection(
        scope=Scope(organization_id=tenant.organization_id),
        key_ring=load_key_ring(settings),
        settings=settings,
        integration_name=integration,
        auth_type="SECRET_TEXT",
        credentials={"secret_text": TOKEN},
        **extra,
    )


@pytest.fixture
async def proxied(
    echo_api: tuple[EchoApi, str], echo_integrations: None, tenant: Any, settings: Any
) -> Proxied:
    api, url = echo_api
    return Proxied(api=api, url=url, tenant=tenant, connection=await add_connection(settings, tenant))
