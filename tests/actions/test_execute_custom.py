"""executeAction with a custom integration whose actions are data (the declarative engine): the
request it describes reaches the provider, with the derived idempotency key; a refusal is
PROVIDER_ERROR."""

from __future__ import annotations

import copy
from typing import Any

from server.actions import idempotency
from tests.actions.conftest import CONFIGURE, CREATE_CONNECTION, failure
from tests.connectors.test_action_engine import ACTIONS, TOKEN, emulator

EXECUTE = """
mutation($input: ExecuteActionInput!) {
  executeAction(input: $input) { output connectionId resolvedBy replayed }
}"""
CREATE_CUSTOM = """
mutation($input: CreateCustomIntegrationInput!) { createCustomIntegration(input: $input) { id } }"""


def _definition() -> dict[str, Any]:
    return {
        "name": "echo_desk",
        "display_name": "Echo Desk",
        "category": "OTHER",
        "description": "Answers with what it was sent.",
        "auth": {"type": "api_key"},
        "api": {"base_url": "https://echo.example/api"},
        "check": {"path": "/me"},
        "actions": {name: copy.deepcopy(ACTIONS[name]) for name in ("post_message", "refused")},
    }


async def _installed(tenant: Any, serve_emulator: Any) -> str:
    url = await serve_emulator(emulator())
    await tenant.data(
        CREATE_CUSTOM, {"input": {"workspaceId": tenant.workspace_id, "definition": _definition()}}
    )
    await tenant.data(
        CONFIGURE,
        {
            "input": {
                "workspaceId": tenant.workspace_id,
                "integrationName": "echo_desk",
                "apiBaseUrl": f"{url}/api",
            }
        },
    )
    created = await tenant.data(
        CREATE_CONNECTION,
        {
            "input": {
                "integrationName": "echo_desk",
                "authType": "SECRET_TEXT",
                "secretText": TOKEN,
                "scope": "WORKSPACE",
                "workspaceId": tenant.workspace_id,
            }
        },
    )
    return created["createConnection"]["id"]


async def _execute(tenant: Any, connection_id: str, action: str, input: dict[str, Any], **more: Any) -> Any:
    given = {
        "integrationName": "echo_desk",
        "action": action,
        "workspaceId": tenant.workspace_id,
        "connectionId": connection_id,
        "input": input,
        **more,
    }
    return await tenant.graphql(EXECUTE, {"input": given})


async def test_a_custom_integration_s_action_runs_as_its_definition_says(
    tenant: Any, serve_emulator: Any
) -> None:
    connection_id = await _installed(tenant, serve_emulator)
    listed = await tenant.data(
        'query($w: ID) { integration(name: "echo_desk", workspaceId: $w) { actions { name readOnly } } }',
        {"w": tenant.workspace_id},
    )

    body = await _execute(
        tenant,
        connection_id,
        "post_message",
        {"channel": "C1", "text": "hello", "author": "ana"},
        idempotencyKey="msg-1",
    )

    names = sorted(action["name"] for action in listed["integration"]["actions"])
    assert names == ["post_message", "refused"]
    assert "errors" not in body, body
    echo = body["data"]["executeAction"]["output"]
    assert (echo["method"], echo["path"]) == ("POST", "/api/channels/C1/messages")
    assert echo["body"]["text"] == "hello"
    assert echo["idempotency"] == idempotency.provider_key(
        organization_id=tenant.organization_id, key="msg-1"
    )


async def test_a_custom_integration_s_refusal_is_a_provider_error(tenant: Any, serve_emulator: Any) -> None:
    connection_id = await _installed(tenant, serve_emulator)

    refused = failure(await _execute(tenant, connection_id, "refused", {}))

    assert refused["extensions"] == {"code": "PROVIDER_ERROR", "providerStatus": 404}
    assert "channel_not_found" in refused["message"]
