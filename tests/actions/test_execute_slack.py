"""executeAction with a catalog integration whose actions are data: Slack's send_message
against the Slack emulator, and Slack's HTTP 200 ``{"ok": false}`` refusal as PROVIDER_ERROR."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.actions.conftest import CONFIGURE, CREATE_CONNECTION, failure
from tests.emulators.common import serve
from tests.emulators.slack import TOKEN, SlackEmulator

EXECUTE = """
mutation($input: ExecuteActionInput!) { executeAction(input: $input) { output resolvedBy } }"""


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    emulator = SlackEmulator()
    async with serve(emulator.app) as url:
        emulator.url = url  # type: ignore[attr-defined]
        yield emulator


@pytest.fixture
async def slack_connection(tenant: Any, slack: SlackEmulator) -> str:
    await tenant.data(
        CONFIGURE,
        {
            "input": {
                "workspaceId": tenant.workspace_id,
                "integrationName": "slack",
                "apiBaseUrl": f"{slack.url}/api",  # type: ignore[attr-defined]
            }
        },
    )
    created = await tenant.data(
        CREATE_CONNECTION,
        {
            "input": {
                "integrationName": "slack",
                "authType": "OAUTH2",
                "accessToken": TOKEN,
                "scope": "WORKSPACE",
                "workspaceId": tenant.workspace_id,
            }
        },
    )
    return created["createConnection"]["id"]


async def _send(tenant: Any, connection_id: str, channel: str) -> dict[str, Any]:
    given = {
        "integrationName": "slack",
        "action": "send_message",
        "workspaceId": tenant.workspace_id,
        "connectionId": connection_id,
        "input": {"channel": channel, "text": "Deploy finished"},
    }
    return await tenant.graphql(EXECUTE, {"input": given})


async def test_slack_send_message_posts_to_the_channel(
    tenant: Any, slack: SlackEmulator, slack_connection: str
) -> None:
    body = await _send(tenant, slack_connection, "C0WEIR0001")

    assert "errors" not in body, body
    output = body["data"]["executeAction"]["output"]
    assert output["channel"] == "C0WEIR0001" and output["ts"]
    assert [m["text"] for m in slack.messages["C0WEIR0001"]] == ["Deploy finished"]


async def test_slack_s_ok_false_is_a_provider_error(
    tenant: Any, slack: SlackEmulator, slack_connection: str
) -> None:
    refused = failure(await _send(tenant, slack_connection, "C0NOPE"))

    assert refused["extensions"]["code"] == "PROVIDER_ERROR"
    assert "channel_not_found" in refused["message"]
    assert all(not history for history in slack.messages.values())
