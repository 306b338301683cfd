"""MCP servers over Streamable HTTP, driven by the SDK's own client against a live Weir: each
token sees its server's actions with its end user's connections, runs them through the path of
executeAction, and gets CONNECTION_REQUIRED with a connect URL when there is no connection."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from server.calls.models import CallLog
from server.mcp_servers import service
from server.mcp_servers.models import McpToken
from server.scope import Scope
from tests.actions.conftest import MESSAGE, Acme, oauth_connection
from tests.actions.support import API_KEY, NAME, MessagesApi
from tests.calls.helpers import flush_calls
from tests.emulators.oauth_provider import OAuthProvider

# The SDK's own HTTP client (httpx2, which the SDK depends on), as its docs ask for headers.
MCP_TIMEOUT = httpx2.Timeout(30, read=300)
SEND = f"{NAME}.send_message"
QUERY = f"{NAME}.run_query"


@asynccontextmanager
async def mcp_session(live_server: str, token: str) -> AsyncIterator[ClientSession]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=MCP_TIMEOUT)
    async with http, streamable_http_client(f"http://{live_server}/mcp", http_client=http) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


async def _server(acme: Acme, settings: Any, **fields: Any) -> str:
    scope = Scope(organization_id=acme.tenant.organization_id)
    created = await service.create_mcp_server(
        scope=scope,
        settings=settings,
        workspace_id=acme.workspace_id,
        name="agent",
        integrations=[NAME],
        **fields,
    )
    return created.id


async def _token(acme: Acme, server_id: str, end_user_id: str | None, **fields: Any) -> str:
    scope = Scope(organization_id=acme.tenant.organization_id)
    new = await service.create_mcp_token(
        scope=scope, server_id=server_id, name="t", end_user_id=end_user_id, **fields
    )
    return new.secret


async def test_list_and_call_with_the_end_users_connection(
    acme: Acme, settings: Any, live_server: str, messages: MessagesApi, app: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)  # everything Weir, the SDK and uvicorn log
    connection_id = await acme.connection(endUserId=acme.alice.id, workspaceId=acme.workspace_id)
    server_id = await _server(acme, settings)
    token = await _token(acme, server_id, acme.alice.id)
    async with mcp_session(live_server, token) as session:
        listed = await session.list_tools()
        assert sorted(tool.name for tool in listed.tools) == [QUERY, SEND]
        send = next(tool for tool in listed.tools if tool.name == SEND)
        assert send.input_schema["required"] == ["channel", "text"]
        result = await session.call_tool(SEND, MESSAGE)
    assert not result.is_error, result
    assert result.structured_content["connectionId"] == connection_id
    assert result.structured_content["output"]["channel"] == "C123"
    assert API_KEY not in str(result)  # the secret stays in Weir
    assert API_KEY not in caplog.text and token not in caplog.text  # and out of every log
    # The call log has it, for alice, like an executeAction.
    await flush_calls(app)
    record = await CallLog.filter(organization_id=acme.tenant.organization_id, action="send_message").first()
    assert record is not None and record.end_user_id == acme.alice.id


async def test_another_end_users_connection_is_not_visible(
    acme: Acme, settings: Any, live_server: str
) -> None:
    await acme.connection(endUserId=acme.alice.id, workspaceId=acme.workspace_id)
    server_id = await _server(acme, settings)
    token = await _token(acme, server_id, acme.bob.id)
    async with mcp_session(live_server, token) as session:
        assert (await session.list_tools()).tools == []
        result = await session.call_tool(SEND, MESSAGE)
    assert result.is_error
    error = result.structured_content["error"]
    assert error["code"] == "CONNECTION_REQUIRED"
    assert error["connectUrl"].startswith(f"{settings.effective_public_url}/connect?token=")
    assert "connectionId" not in result.structured_content


async def test_read_only_policy_and_exposed_actions(acme: Acme, settings: Any, live_server: str) -> None:
    await acme.connection(endUserId=acme.alice.id, workspaceId=acme.workspace_id)
    read_only = await _token(acme, await _server(acme, settings, read_only=True), acme.alice.id)
    async with mcp_session(live_server, read_only) as session:
        assert [tool.name for tool in (await session.list_tools()).tools] == [QUERY]
        refused = await session.call_tool(SEND, MESSAGE)
    assert refused.is_error
    assert refused.structured_content["error"]["code"] == "VALIDATION_FAILED"
    narrowed = await _token(acme, await _server(acme, settings, actions=[SEND]), acme.alice.id)
    async with mcp_session(live_server, narrowed) as session:
        assert [tool.name for tool in (await session.list_tools()).tools] == [SEND]


async def test_revoked_and_expired_tokens_are_refused(acme: Acme, settings: Any, live_server: str) -> None:
    server_id = await _server(acme, settings)
    token = await _token(acme, server_id, acme.alice.id)
    row = await McpToken.get(secret_hash=service.hash_secret(token))
    await service.revoke_mcp_token(scope=Scope(organization_id=acme.tenant.organization_id), token_id=row.id)
    expired = await _token(acme, server_id, acme.alice.id, ttl_seconds=60)
    await McpToken.filter(secret_hash=service.hash_secret(expired)).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    http = httpx2.AsyncClient(timeout=MCP_TIMEOUT)
    async with http:
        for refused in (f"Bearer {token}", f"Bearer {expired}", "Bearer weir_mcp_made_up", "Basic abc"):
            response = await http.post(
                f"http://{live_server}/mcp",
                headers={"Authorization": refused, "Accept": "application/json, text/event-stream"},
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            )
            assert response.status_code == 401, refused
            assert response.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_a_tool_call_refreshes_an_expired_oauth_token(
    acme: Acme, settings: Any, live_server: str, provider: OAuthProvider
) -> None:
    await oauth_connection(acme, provider, fresh=False, endUserId=acme.alice.id)
    token = await _token(acme, await _server(acme, settings), acme.alice.id)
    async with mcp_session(live_server, token) as session:
        result = await session.call_tool(SEND, MESSAGE)
    assert not result.is_error, result
    assert [r["grant_type"] for r in provider.token_requests] == ["refresh_token"]
    text = str(result)
    for secret in provider.access_tokens | provider.refresh_tokens:
        assert secret not in text


async def test_hostile_server_input_names_the_field(acme: Acme, settings: Any) -> None:
    scope = Scope(organization_id=acme.tenant.organization_id)
    with pytest.raises(service.ValidationFailed) as caught:
        await service.create_mcp_server(
            scope=scope,
            settings=settings,
            workspace_id=acme.workspace_id,
            name="x",
            integrations=[NAME, "nope" * 40],
            actions=[f"{NAME}.delete_everything"],
        )
    assert [e.field for e in caught.value.errors] == ["input.integrations.1", "input.actions.0"]


CREATE_SERVER = """
mutation($input: CreateMcpServerInput!) { createMcpServer(input: $input) { id integrations actions readOnly } }"""
CREATE_TOKEN = """
mutation($input: CreateMcpTokenInput!) {
  createMcpToken(input: $input) { secret token { id prefix endUserId expiresAt revokedAt } }
}"""


async def test_graphql_creates_servers_and_tokens_shown_once(
    acme: Acme, settings: Any, live_server: str
) -> None:
    await acme.connection(endUserId=acme.alice.id, workspaceId=acme.workspace_id)
    created = await acme.tenant.data(
        CREATE_SERVER,
        {
            "input": {
                "workspaceId": acme.workspace_id,
                "name": "agent",
                "integrations": [NAME],
                "readOnly": True,
            }
        },
    )
    server_id = created["createMcpServer"]["id"]
    minted = await acme.tenant.data(
        CREATE_TOKEN,
        {
            "input": {
                "mcpServerId": server_id,
                "name": "alice",
                "endUserExternalId": "alice",
                "ttlSeconds": 3600,
            }
        },
    )
    secret = minted["createMcpToken"]["secret"]
    token = minted["createMcpToken"]["token"]
    assert secret.startswith(token["prefix"]) and token["endUserId"] == acme.alice.id
    assert token["expiresAt"] is not None
    listed = await acme.tenant.data(
        "query($id: ID!) { mcpServer(id: $id) { tokens { id prefix } } }", {"id": server_id}
    )
    assert secret not in str(listed)  # only the prefix is kept
    async with mcp_session(live_server, secret) as session:
        assert [tool.name for tool in (await session.list_tools()).tools] == [QUERY]
    revoked = await acme.tenant.data(
        "mutation($id: ID!) { revokeMcpToken(id: $id) { revokedAt } }", {"id": token["id"]}
    )
    assert revoked["revokeMcpToken"]["revokedAt"] is not None
    deleted = await acme.tenant.data(
        "mutation($id: ID!) { deleteMcpServer(id: $id) { deletedId } }", {"id": server_id}
    )
    assert deleted["deleteMcpServer"]["deletedId"] == server_id


async def test_graphql_hostile_input_is_validation_failed_naming_the_field(acme: Acme) -> None:
    cases = [
        (
            CREATE_SERVER,
            {"workspaceId": acme.workspace_id, "name": " ", "integrations": [NAME]},
            "input.name",
        ),
        (
            CREATE_SERVER,
            {"workspaceId": acme.workspace_id, "name": "x", "integrations": ["x" * 5000]},
            "input.integrations.0",
        ),
        (
            CREATE_SERVER,
            {"workspaceId": acme.workspace_id, "name": "x", "integrations": [NAME], "actions": ["no-dot"]},
            "input.actions.0",
        ),
    ]
    for document, given, field in cases:
        body = await acme.tenant.graphql(document, {"input": given})
        error = body["errors"][0]["extensions"]
        assert error["code"] == "VALIDATION_FAILED", body
        assert error["fields"][0]["field"] == field, body
    server = await acme.tenant.data(
        CREATE_SERVER, {"input": {"workspaceId": acme.workspace_id, "name": "x", "integrations": [NAME]}}
    )
    server_id = server["createMcpServer"]["id"]
    for given, field in [
        ({"name": "x", "ttlSeconds": 10**9}, "input.ttlSeconds"),
        ({"name": "x", "endUserId": acme.alice.id, "endUserExternalId": "alice"}, "input.endUserExternalId"),
        ({"name": "x", "endUserExternalId": "e" * 5000}, "input.endUserExternalId"),
        ({"name": "x" * 500}, "input.name"),
    ]:
        body = await acme.tenant.graphql(CREATE_TOKEN, {"input": {"mcpServerId": server_id, **given}})
        error = body["errors"][0]["extensions"]
        assert error["code"] == "VALIDATION_FAILED", body
        assert error["fields"][0]["field"] == field, body


async def test_a_workspace_token_and_an_update_seen_at_once(
    acme: Acme, settings: Any, live_server: str
) -> None:
    shared = await acme.connection(scope="WORKSPACE", workspaceId=acme.workspace_id)
    server_id = await _server(acme, settings)
    token = await _token(acme, server_id, None)
    async with mcp_session(live_server, token) as session:
        # A workspace connection is used only by the workspace's strategy, as in executeAction.
        assert (await session.list_tools()).tools == []
    await acme.configure(strategy="FIXED", fixedConnectionId=shared)
    async with mcp_session(live_server, token) as session:
        assert sorted(tool.name for tool in (await session.list_tools()).tools) == [QUERY, SEND]
        updated = await acme.tenant.data(
            'mutation($id: ID!) { updateMcpServer(input: {id: $id, name: "renamed", readOnly: true}) '
            "{ name readOnly integrations } }",
            {"id": server_id},
        )
        assert updated["updateMcpServer"] == {"name": "renamed", "readOnly": True, "integrations": [NAME]}
        assert [tool.name for tool in (await session.list_tools()).tools] == [QUERY]
        narrowed = await acme.tenant.graphql(
            'mutation($id: ID!) { updateMcpServer(input: {id: $id, actions: ["testmessages.nope"]}) { id } }',
            {"id": server_id},
        )
        assert narrowed["errors"][0]["extensions"]["fields"][0]["field"] == "input.actions.0"


async def test_each_token_has_a_request_budget(acme: Acme, settings: Any, app: Any) -> None:
    import dataclasses

    import httpx

    from server.web.budgets import Budgets
    from server.web.mcp import McpEndpoint

    endpoint = McpEndpoint(
        app.state.runtime.services, Budgets(dataclasses.replace(settings, rate_limit_key_per_minute=1))
    )
    token = await _token(acme, await _server(acme, settings), acme.alice.id)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=endpoint), base_url="http://weir.test"
    ) as http:
        first = await http.post("/mcp", headers=headers, json=ping)
        second = await http.post("/mcp", headers=headers, json=ping)
    assert first.status_code != 429
    assert second.status_code == 429 and int(second.headers["retry-after"]) >= 1
    assert second.json()["error"]["code"] == "RATE_LIMITED"


async def test_mcp_mutations_are_audited_without_the_secret(acme: Acme) -> None:
    server = await acme.tenant.data(
        CREATE_SERVER, {"input": {"workspaceId": acme.workspace_id, "name": "x", "integrations": [NAME]}}
    )
    minted = await acme.tenant.data(
        CREATE_TOKEN, {"input": {"mcpServerId": server["createMcpServer"]["id"], "name": "t"}}
    )
    log = await acme.tenant.data(
        '{ auditLog(filter: {operation: "createMcpToken"}) { edges { node { operation outcome objectId } } } }'
    )
    entries = [edge["node"] for edge in log["auditLog"]["edges"]]
    assert [(e["operation"], e["outcome"]) for e in entries] == [("createMcpToken", "SUCCEEDED")]
    everything = await acme.tenant.data(
        "{ auditLog { edges { node { id operation objectId objectType } } } }"
    )
    assert minted["createMcpToken"]["secret"] not in str(everything)


async def test_connection_required_without_a_connect_url_when_no_session_can_be_made(
    acme: Acme, settings: Any, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.connect import service as connect
    from server.errors import ValidationFailed

    async def refuse(**_: Any) -> Any:
        raise ValidationFailed.field("input.integrationName", "not offered")

    monkeypatch.setattr(connect, "create_connect_session", refuse)
    token = await _token(acme, await _server(acme, settings), acme.bob.id)
    async with mcp_session(live_server, token) as session:
        result = await session.call_tool(SEND, MESSAGE)
    assert result.is_error
    assert result.structured_content["error"]["code"] == "CONNECTION_REQUIRED"
    assert "connectUrl" not in result.structured_content["error"]


async def test_an_idempotency_key_in_meta_replays_without_calling_again(
    acme: Acme, settings: Any, live_server: str, messages: MessagesApi
) -> None:
    await acme.connection(endUserId=acme.alice.id, workspaceId=acme.workspace_id)
    await acme.connection(endUserId=acme.bob.id, workspaceId=acme.workspace_id)
    server_id = await _server(acme, settings)
    alice, bob = await _token(acme, server_id, acme.alice.id), await _token(acme, server_id, acme.bob.id)
    meta: Any = {"weir/idempotencyKey": "deploy-42"}
    async with mcp_session(live_server, alice) as session:
        first = await session.call_tool(SEND, MESSAGE, meta=meta)
        again = await session.call_tool(SEND, MESSAGE, meta=meta)
        bad = await session.call_tool(SEND, MESSAGE, meta={"weir/idempotencyKey": 7})  # type: ignore[typeddict-item]
    assert first.structured_content["replayed"] is False
    assert again.structured_content["replayed"] is True
    assert again.structured_content["output"] == first.structured_content["output"]
    assert bad.structured_content["error"]["fields"][0]["field"] == "_meta.weir/idempotencyKey"
    async with mcp_session(live_server, bob) as session:
        # The same key is bob's own: his call runs (no CONFLICT with alice's, no replay of it).
        bobs = await session.call_tool(SEND, MESSAGE, meta=meta)
    assert bobs.structured_content["replayed"] is False
    assert len(messages.sent) == 2


async def test_a_body_over_the_limit_is_refused_before_the_sdk_reads_it(
    acme: Acme, settings: Any, live_server: str
) -> None:
    import httpx

    token = await _token(acme, await _server(acme, settings), acme.alice.id)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    huge = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "ping",
        "params": {"_meta": {"pad": "x" * settings.max_body_bytes}},
    }
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        refused = await http.post("/mcp", headers=headers, json=huge)
        ping = await http.post("/mcp", headers=headers, json={"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert ping.status_code == 200 and ping.json()["id"] == 2
