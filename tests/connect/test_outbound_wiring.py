"""Every connection made for a tenant passes the outbound guard, and an end user learns only
"could not connect". Here in production (loopback closed) against real servers on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from server import http as http_clients
from server import outbound
from server.config import Secret
from server.connections.checks import connector_context, run_check
from server.connectors import postgres, smtp
from server.connectors.base import ConnectorSpec, OAuthSpec
from server.connectors.registry import get_connector
from server.destinations.base import build_destination
from server.integrations.oauth import OAuthClient, TokenError, request_token
from server.outbound import AddressRefused, Policy
from tests.conftest import POSTGRES_URL
from tests.connect.conftest import CREATE, SUBMIT

CREATE_CONNECTION = """mutation($input: CreateConnectionInput!) {
  createConnection(input: $input) { id status }
}"""
REFUSED = "is not an allowed destination (the outbound policy refuses it)"


@pytest.fixture
def settings(settings: Any, http_answering: str) -> Any:
    """The suite's settings in production (only globally routable addresses), with Stripe's
    base URL on loopback."""
    return settings.replace(env="production", connector_base_urls={"stripe": http_answering})


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pg_credentials(**changes: Any) -> dict[str, Any]:
    parts = urlsplit(POSTGRES_URL)
    return {
        "host": parts.hostname,
        "port": parts.port or 5432,
        "database": parts.path.lstrip("/"),
        "user": parts.username or "postgres",
        "password": parts.password or "",
        "sslmode": "disable",
        **changes,
    }


@pytest.fixture
async def http_answering() -> AsyncIterator[str]:
    """An HTTP server on loopback that answers every request with 200 ``{}``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def connect_token(tenant: Any, *integrations: str) -> str:
    data = await tenant.data(
        CREATE, {"input": {"workspaceId": tenant.workspace_id, "allowedIntegrations": list(integrations)}}
    )
    return data["createConnectSession"]["token"]


# -- what the end user (a connect token) sees -----------------------------------------------


@pytest.mark.parametrize("port", ["open", "closed"])
async def test_end_user_sees_only_could_not_connect_for_a_postgres_on_loopback(tenant, port):
    # A server listening and a closed port read exactly the same on the connect page.
    credentials = pg_credentials(port=closed_port()) if port == "closed" else pg_credentials()
    token = await connect_token(tenant, "postgres")
    body = await tenant.graphql(SUBMIT, {"name": "postgres", "credentials": credentials}, key=token)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["extensions"]["fields"] == [
        {"field": "input.credentials", "message": "could not connect to PostgreSQL"}
    ]


async def test_end_user_sees_only_could_not_connect_for_an_http_connector_on_loopback(tenant):
    token = await connect_token(tenant, "stripe")
    body = await tenant.graphql(
        SUBMIT, {"name": "stripe", "credentials": {"secret_text": "sk_test_123456789"}}, key=token
    )
    [error] = body["errors"]
    assert error["extensions"]["fields"] == [
        {"field": "input.credentials.secret_text", "message": "could not connect to Stripe"}
    ]


async def test_an_api_key_is_told_the_outbound_policy_refused(tenant):
    body = await tenant.graphql(
        CREATE_CONNECTION,
        {
            "input": {
                "integrationName": "postgres",
                "authType": "CUSTOM_AUTH",
                "scope": "WORKSPACE",
                "workspaceId": tenant.workspace_id,
                "props": pg_credentials(),
                "check": True,
            }
        },
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "CHECK_FAILED"
    assert error["message"] == f"could not reach PostgreSQL: could not connect: 127.0.0.1 {REFUSED}"


# -- each wiring point ----------------------------------------------------------------------


async def test_a_postgres_source_read_is_refused(settings):
    context = connector_context(
        settings=settings, integration_name="postgres", http=httpx.AsyncClient(), credentials=pg_credentials()
    )
    with pytest.raises(AddressRefused):
        async for _ in postgres.read(context, "anything", {"schema": "public"}, None):
            pass
    opened = connector_context(
        settings=settings.replace(outbound_allow=("127.0.0.0/8",)),
        integration_name="postgres",
        http=httpx.AsyncClient(),
        credentials=pg_credentials(),
    )
    assert (await postgres.check(opened, pg_credentials())).ok  # the operator opened loopback


async def test_an_http_connector_check_is_refused_when_it_connects(settings):
    result = await run_check(
        settings=settings,
        spec=get_connector("stripe").SPEC,
        auth_type="SECRET_TEXT",
        credentials={"secret_text": "sk_test_123456789"},
    )
    assert not result.ok and not result.reachable
    assert result.message == "the provider's address is not allowed by the outbound policy"


async def test_smtp_is_refused(settings):
    context = connector_context(
        settings=settings, integration_name="smtp", http=httpx.AsyncClient(), credentials={}
    )
    credentials = {
        "host": "127.0.0.1",
        "port": closed_port(),
        "username": "u",
        "password": "p4ssw0rd-secret",
        "security": "NONE",
    }
    result = await smtp.check(context, credentials)
    assert not result.ok and not result.reachable
    assert REFUSED in result.message


async def test_an_oauth_token_endpoint_on_loopback_is_refused(settings, http_answering):
    spec = ConnectorSpec(
        name="acme",
        display_name="Acme",
        category="CRM",
        auth_types=("OAUTH2",),
        description="",
        oauth=OAuthSpec(authorize_url=f"{http_answering}/authorize", token_url=f"{http_answering}/token"),
    )
    client = OAuthClient(
        spec=spec, auth_type="OAUTH2", client_id="id", client_secret=Secret("secret"), scopes=()
    )
    async with http_clients.client(Policy.from_settings(settings)) as http:
        with pytest.raises(TokenError) as refused:
            await request_token(
                http=http,
                client=client,
                grant_type="authorization_code",
                code="c",
                redirect_uri="https://weir.test/oauth/callback",
            )
    assert refused.value.error == "unreachable"
    assert str(refused.value.description) == "could not connect to the token endpoint"


async def test_a_workspace_warehouse_on_loopback_is_refused(settings):
    own = build_destination(POSTGRES_URL, outbound=Policy.from_settings(settings))
    with pytest.raises(AddressRefused):
        await own.open()
    # The deployment's own warehouse is the operator's: not guarded.
    deployment = build_destination(POSTGRES_URL)
    await deployment.open()
    await deployment.close()


@pytest.mark.parametrize("sslmode", ["prefer", "allow", "disable"])
async def test_a_checked_postgres_connection_keeps_libpq_sslmodes(sslmode):
    # Connected by address, ``prefer`` and ``allow`` still fall back to clear text when the
    # server has no TLS (the test server may or may not have it).
    credentials = pg_credentials(sslmode=sslmode)
    connection = await outbound.connect_postgres(
        Policy(networks=outbound.LOOPBACK),
        host=credentials["host"],
        port=credentials["port"],
        sslmode=sslmode,
        user=credentials["user"],
        database=credentials["database"],
        password=credentials["password"],
    )
    try:
        assert await connection.fetchval("SELECT 1") == 1
    finally:
        await connection.close()
