"""One way in for every document (server.api.documents): HTTP POST and GET, a connect token's
requests and WebSocket ``subscribe`` refuse a document over a limit with the same
``LIMIT_EXCEEDED`` before any validation rule runs; WebSocket messages are capped like HTTP
bodies; a socket's subscriptions are capped; deeply nested JSON is a 400 or a 4400, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server.api import documents
from tests.graphql_ws import GraphQLWebSocket
from tests.web.test_ws_protocol import close_of, initialised, open_socket, receive, send

MAX_TOKENS = 400
WORKSPACE = "subscription($id: ID!) { workspaceUpdated(id: $id) { id } }"
CREATE_SESSION = """mutation($w: ID!) {
  createConnectSession(input: {workspaceId: $w, integrationName: "demo"}) { token session { id } }
}"""
# Over the token limit, and made of the root fields a connect token may run: the refusal must
# come from the limit, not from the connect-token policy or validation.
OVER_TOKENS = "{ " + " ".join("__typename" for _ in range(MAX_TOKENS + 1)) + " }"
OVER_TOKENS_SUBSCRIPTION = "subscription " + OVER_TOKENS


@pytest.fixture
def settings(settings):
    return settings.replace(graphql_max_tokens=MAX_TOKENS, ws_max_subscriptions=2, max_body_bytes=200_000)


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    original = documents.validate_document

    def counted(schema: Any, document: Any, rules: Any) -> Any:
        calls.append(document)
        return original(schema, document, rules)

    monkeypatch.setattr(documents, "validate_document", counted)
    return calls


def assert_limit(error: dict[str, Any], limit: str) -> None:
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    assert error["extensions"]["limit"] == limit


async def connect_token(tenant: Any) -> str:
    return (await tenant.data(CREATE_SESSION, {"w": tenant.workspace_id}))["createConnectSession"]["token"]


async def test_every_path_refuses_an_over_token_document_before_validation(live_server, tenant, validations):
    token = await connect_token(tenant)
    validations.clear()
    answers = [
        await tenant.http.post(
            "/graphql", json={"query": OVER_TOKENS}, headers={"Authorization": f"Bearer {tenant.key}"}
        ),
        await tenant.http.get(
            "/graphql", params={"query": OVER_TOKENS}, headers={"Authorization": f"Bearer {tenant.key}"}
        ),
        await tenant.http.post(
            "/graphql", json={"query": OVER_TOKENS}, headers={"Authorization": f"Bearer {token}"}
        ),
    ]
    for response in answers:
        assert response.status_code == 200, response.text
        assert_limit(response.json()["errors"][0], "tokens")
    for secret in (tenant.key, token):
        ws = await GraphQLWebSocket.connect(live_server, f"Bearer {secret}")
        assert (await ws.acknowledged())["type"] == "connection_ack"
        operation_id = await ws.subscribe(OVER_TOKENS_SUBSCRIPTION)
        error = await ws.receive()
        assert (error["id"], error["type"]) == (operation_id, "error")
        assert_limit(error["payload"][0], "tokens")
        await ws.close()
    assert validations == []


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        ("{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }", "aliases"),
        ("query Deep " + "{ viewer " * 14 + "{ id }" + " }" * 14, "depth"),
        # One field doubled by each of 11 fragments: 2048 fields from a few hundred tokens.
        (
            "{ ...F0 } "
            + " ".join(
                f"fragment F{i} on Query {{ ...F{i + 1} ... on Query {{ ...F{i + 1} }} }}" for i in range(11)
            )
            + " fragment F11 on Query { __typename }",
            "fields",
        ),
        ("{ __typename }" + " " * 100_001, "length"),
    ],
)
async def test_depth_aliases_fields_and_length_are_refused_before_validation(
    tenant, validations, query, limit
):
    response = await tenant.http.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {tenant.key}"}
    )
    assert_limit(response.json()["errors"][0], limit)
    assert validations == []


async def test_a_websocket_message_over_the_body_limit_closes_with_1009(live_server, tenant):
    socket = await initialised(live_server, tenant)
    await send(
        socket,
        {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": "{ __typename }", "variables": {"pad": "x" * 200_001}},
        },
    )
    code, reason = await close_of(socket)
    assert code == 1009 and "200000" in reason


async def test_a_socket_runs_at_most_its_cap_of_subscriptions(live_server, tenant):
    socket = await initialised(live_server, tenant)
    subscribe = {
        "type": "subscribe",
        "payload": {"query": WORKSPACE, "variables": {"id": tenant.workspace_id}},
    }
    for operation_id in ("a", "b"):
        await send(socket, {**subscribe, "id": operation_id})
        assert (await receive(socket))["type"] == "next"
    await send(socket, {**subscribe, "id": "c"})
    error = await receive(socket)
    assert (error["id"], error["type"]) == ("c", "error")
    assert_limit(error["payload"][0], "subscriptions")
    assert error["payload"][0]["extensions"]["maximum"] == 2
    # The others go on, and completing one makes room.
    await send(socket, {"id": "a", "type": "complete"})
    await send(socket, {**subscribe, "id": "c"})
    assert (await receive(socket))["id"] == "c"
    await socket.close()


@pytest.mark.parametrize(
    "body",
    ["[" * 1024 + "]" * 1024, '{"query": "{ __typename }", "variables": ' + '{"a":' * 400 + "1" + "}" * 401],
)
async def test_deeply_nested_json_is_a_400_not_a_500(tenant, body):
    response = await tenant.http.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {tenant.key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "nested" in response.json()["errors"][0]["message"]


async def test_deeply_nested_get_variables_are_a_400(tenant):
    response = await tenant.http.get(
        "/graphql",
        params={"query": "{ __typename }", "variables": "[" * 2000 + "]" * 2000},
        headers={"Authorization": f"Bearer {tenant.key}"},
    )
    assert response.status_code == 400
    assert "nested" in response.json()["errors"][0]["message"]


async def test_deeply_nested_json_on_a_websocket_closes_with_4400(live_server):
    socket = await open_socket(live_server)
    await send(
        socket, json.dumps({"type": "connection_init"})[:-1] + ',"payload":' + "[" * 1024 + "]" * 1024 + "}"
    )
    code, reason = await close_of(socket)
    assert code == 4400 and "nested" in reason
