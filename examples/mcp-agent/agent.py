"""A scripted MCP agent (no model): two end users, one MCP server, one token each.

It creates an MCP server exposing the PostgreSQL integration's read-only actions and the
built-in key-value store, gives ``alice`` a PostgreSQL connection and ``bob`` none, mints an
MCP token for each, then, with the official ``mcp`` SDK's Streamable HTTP client:

- lists each one's tools: alice sees ``postgres.*`` and ``kv_store.*``, bob only ``kv_store.*``;
- calls ``postgres.query`` for alice (her connection) and for bob (``CONNECTION_REQUIRED``
  with a connect URL he can open to connect his own database);
- writes a note with ``kv_store.put`` as alice and reads it back as alice and as bob (bob's
  store is his own: not found).

Run it against a Weir started with ``weir serve`` (not in production mode, so the loopback
database is allowed)::

    WEIR_API_KEY=weir_sk_... python examples/mcp-agent/agent.py

Settings (environment): ``WEIR_URL`` (default ``http://127.0.0.1:8000``), ``WEIR_API_KEY``
(required), ``WEIR_WORKSPACE_ID`` (default: the key's first workspace), and alice's database:
``PGHOST`` (127.0.0.1), ``PGPORT`` (5432), ``PGDATABASE`` (postgres), ``PGUSER`` (postgres),
``PGPASSWORD`` (empty).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from typing import Any

import httpx
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

# The MCP SDK's HTTP client takes the headers (httpx2: the SDK's own dependency).
MCP_TIMEOUT = httpx2.Timeout(30, read=300)

WEIR_URL = os.environ.get("WEIR_URL", "http://127.0.0.1:8000").rstrip("/")

WORKSPACE = "query { workspaces(first: 1) { edges { node { id } } } }"
CREATE_END_USER = """mutation($input: CreateEndUserInput!) { createEndUser(input: $input) { id } }"""
CREATE_CONNECTION = """mutation($input: CreateConnectionInput!) { createConnection(input: $input) { id } }"""
CREATE_SERVER = """mutation($input: CreateMcpServerInput!) { createMcpServer(input: $input) { id } }"""
CREATE_TOKEN = """mutation($input: CreateMcpTokenInput!) { createMcpToken(input: $input) { secret } }"""


async def graphql(api_key: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{WEIR_URL}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {api_key}"},
        )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"][0]["message"])
    return body["data"]


async def setup(api_key: str) -> dict[str, str]:
    """The MCP server, alice with a connection, bob without; an MCP token for each."""
    workspace_id = (
        os.environ.get("WEIR_WORKSPACE_ID")
        or (await graphql(api_key, WORKSPACE))["workspaces"]["edges"][0]["node"]["id"]
    )
    run = secrets.token_hex(3)  # fresh end users on every run
    users = {}
    for name in ("alice", "bob"):
        created = await graphql(
            api_key,
            CREATE_END_USER,
            {"input": {"workspaceId": workspace_id, "externalId": f"{name}-{run}"}},
        )
        users[name] = created["createEndUser"]["id"]
    await graphql(
        api_key,
        CREATE_CONNECTION,
        {
            "input": {
                "integrationName": "postgres",
                "authType": "CUSTOM_AUTH",
                "workspaceId": workspace_id,
                "endUserId": users["alice"],
                "props": {
                    "host": os.environ.get("PGHOST", "127.0.0.1"),
                    "port": int(os.environ.get("PGPORT", "5432")),
                    "database": os.environ.get("PGDATABASE", "postgres"),
                    "user": os.environ.get("PGUSER", "postgres"),
                    "password": os.environ.get("PGPASSWORD", ""),
                    "sslmode": "disable",
                },
            }
        },
    )
    server = await graphql(
        api_key,
        CREATE_SERVER,
        {
            "input": {
                "workspaceId": workspace_id,
                "name": f"scripted agent {run}",
                "integrations": ["postgres", "kv_store"],
                "actions": ["postgres.query", "postgres.list_tables", "kv_store.get", "kv_store.put"],
            }
        },
    )
    server_id = server["createMcpServer"]["id"]
    tokens = {}
    for name, end_user_id in users.items():
        minted = await graphql(
            api_key,
            CREATE_TOKEN,
            {"input": {"mcpServerId": server_id, "name": name, "endUserId": end_user_id, "ttlSeconds": 3600}},
        )
        tokens[name] = minted["createMcpToken"]["secret"]
    return tokens


async def act_as(name: str, token: str, steps: list[tuple[str, dict[str, Any]]]) -> None:
    """One end user's agent: list the tools, then call each step's tool."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=MCP_TIMEOUT)
    async with http, streamable_http_client(f"{WEIR_URL}/mcp", http_client=http) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
            print(f"{name} sees: {', '.join(sorted(tool.name for tool in tools)) or '(no tools)'}")
            for tool, arguments in steps:
                result = await session.call_tool(tool, arguments)
                outcome = "error" if result.is_error else "ok"
                print(f"  {name} calls {tool}: {outcome} {json.dumps(result.structured_content)[:300]}")


async def main() -> None:
    api_key = os.environ["WEIR_API_KEY"]
    tokens = await setup(api_key)
    query = ("postgres.query", {"query": "SELECT current_database() AS db"})
    await act_as(
        "alice",
        tokens["alice"],
        [
            query,
            ("kv_store.put", {"key": "note", "value": "alice's note"}),
            ("kv_store.get", {"key": "note"}),
        ],
    )
    await act_as("bob", tokens["bob"], [query, ("kv_store.get", {"key": "note"})])


if __name__ == "__main__":
    asyncio.run(main())
