"""executeAction picks its connection as resolveConnection does: one test per branch, and the
rejections (another workspace's or end user's connection, a restricted key, a connect token)."""

from __future__ import annotations

from typing import Any

from server.calls.models import CallLog
from server.orgs.api_keys import create_api_key
from tests.actions.conftest import MESSAGE, Acme, failure
from tests.actions.support import NAME
from tests.calls.helpers import flush_calls


async def test_an_explicit_connection_id_is_used_and_the_provider_answers(acme: Acme, messages: Any) -> None:
    connection_id = await acme.connection(scope="WORKSPACE", workspaceId=acme.workspace_id)

    done = await acme.executed(connectionId=connection_id)

    assert done["resolvedBy"] == "CONNECTION_ID"
    assert done["connectionId"] == connection_id
    assert done["output"] == {"id": 1, "channel": "C123", "text": "Deploy finished"}
    assert done["replayed"] is False
    assert done["durationMs"] >= 0
    assert messages.sent == [MESSAGE]


async def test_a_connection_external_id_is_used(acme: Acme) -> None:
    connection_id = await acme.connection(scope="USER", endUserId=acme.alice.id, externalId="alice-slack")

    done = await acme.executed(connectionExternalId="alice-slack", endUserExternalId="alice")

    assert (done["resolvedBy"], done["connectionId"]) == ("EXTERNAL_ID", connection_id)


async def test_the_fixed_strategy_uses_the_workspace_s_fixed_connection(acme: Acme) -> None:
    fixed = await acme.connection(scope="WORKSPACE", workspaceId=acme.workspace_id)
    await acme.connection(scope="USER", endUserId=acme.alice.id)
    await acme.configure(strategy="FIXED", fixedConnectionId=fixed)

    done = await acme.executed(endUserId=acme.alice.id)

    assert (done["resolvedBy"], done["connectionId"]) == ("FIXED", fixed)


async def test_per_user_uses_the_end_user_s_own_connection_and_nothing_else(acme: Acme) -> None:
    await acme.connection(scope="WORKSPACE", workspaceId=acme.workspace_id)
    alices = await acme.connection(scope="USER", endUserId=acme.alice.id)
    await acme.configure(strategy="PER_USER")

    done = await acme.executed(endUserExternalId="alice")
    refused = failure(await acme.execute(endUserExternalId="bob"))

    assert (done["resolvedBy"], done["connectionId"]) == ("END_USER", alices)
    assert refused["extensions"]["code"] == "CONNECTION_REQUIRED"


async def test_per_user_with_fallback_falls_back_to_the_workspace_s_connection(acme: Acme) -> None:
    shared = await acme.connection(scope="WORKSPACE", workspaceId=acme.workspace_id)
    alices = await acme.connection(scope="USER", endUserId=acme.alice.id)
    await acme.configure(strategy="PER_USER_WITH_FALLBACK")

    alice = await acme.executed(endUserId=acme.alice.id)
    bob = await acme.executed(endUserId=acme.bob.id)

    assert (alice["resolvedBy"], alice["connectionId"]) == ("END_USER", alices)
    assert (bob["resolvedBy"], bob["connectionId"]) == ("FALLBACK", shared)


async def test_without_a_strategy_the_end_user_s_connection_is_used(acme: Acme) -> None:
    alices = await acme.connection(scope="USER", endUserId=acme.alice.id)

    done = await acme.executed(endUserExternalId="alice")

    assert (done["resolvedBy"], done["connectionId"]) == ("END_USER", alices)


async def test_no_connection_at_all_is_connection_required_and_nothing_is_sent(
    acme: Acme, messages: Any
) -> None:
    # A shared connection is used only by a FIXED or fallback strategy, never by default.
    await acme.connection(scope="WORKSPACE", workspaceId=acme.workspace_id)

    refused = failure(await acme.execute(endUserId=acme.bob.id))

    assert refused["extensions"]["code"] == "CONNECTION_REQUIRED"
    assert messages.sent == []


async def test_another_workspace_s_connection_is_rejected(acme: Acme, messages: Any) -> None:
    staging = await acme.connection(scope="WORKSPACE", workspaceId=acme.staging_id)

    refused = failure(await acme.execute(connectionId=staging))

    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert "another workspace" in refused["message"]
    assert messages.sent == []


async def test_another_end_user_s_connection_is_rejected_by_id_and_by_external_id(
    acme: Acme, messages: Any
) -> None:
    alices = await acme.connection(scope="USER", endUserId=acme.alice.id, externalId="alice-slack")

    by_id = failure(await acme.execute(connectionId=alices, endUserId=acme.bob.id))
    by_external_id = failure(await acme.execute(connectionExternalId="alice-slack", endUserId=acme.bob.id))
    without_end_user = failure(await acme.execute(connectionId=alices))

    assert by_id["extensions"]["code"] == "FORBIDDEN"
    assert "another end user" in by_id["message"]
    assert by_external_id["extensions"]["code"] == "FORBIDDEN"
    assert without_end_user["extensions"]["code"] == "FORBIDDEN"
    assert messages.sent == []


async def test_an_end_user_of_another_workspace_is_rejected(acme: Acme) -> None:
    await acme.connection(scope="USER", endUserId=acme.alice.id)

    refused = failure(await acme.execute(endUserId=acme.carol.id))

    assert refused["extensions"]["code"] == "VALIDATION_FAILED"
    assert refused["extensions"]["fields"][0]["field"] == "input.endUserId"


async def test_a_key_restricted_to_one_workspace_reaches_nothing_of_another(
    acme: Acme, messages: Any
) -> None:
    staging_key = await create_api_key(
        organization_id=acme.tenant.organization_id, name="staging", workspace_id=acme.staging_id
    )
    default_connection = await acme.connection(scope="WORKSPACE", workspaceId=acme.workspace_id)
    staging_connection = await acme.connection(scope="WORKSPACE", workspaceId=acme.staging_id)

    other_workspace = failure(await acme.execute(key=staging_key.secret, connectionId=default_connection))
    # Its own workspace, but naming the other workspace's connection: absent, not forbidden.
    other_connection = failure(
        await acme.execute(
            key=staging_key.secret, workspaceId=acme.staging_id, connectionId=default_connection
        )
    )
    own = await acme.tenant.graphql(
        """mutation($input: ExecuteActionInput!) { executeAction(input: $input) { connectionId } }""",
        {
            "input": {
                "integrationName": NAME,
                "action": "send_message",
                "workspaceId": acme.staging_id,
                "connectionId": staging_connection,
                "input": MESSAGE,
            }
        },
        key=staging_key.secret,
    )

    assert other_workspace["extensions"]["code"] == "NOT_FOUND"
    assert other_connection["extensions"]["code"] == "NOT_FOUND"
    assert own["data"]["executeAction"]["connectionId"] == staging_connection
    assert len(messages.sent) == 1


async def test_a_restricted_key_may_not_use_an_organization_connection(acme: Acme, messages: Any) -> None:
    """It may read one (resolveConnection, connections) but, as for syncs and tests, never
    call the provider with it: by id and through the fallback alike."""
    staging_key = await create_api_key(
        organization_id=acme.tenant.organization_id, name="staging", workspace_id=acme.staging_id
    )
    shared = await acme.connection(scope="ORGANIZATION")
    await acme.configure(strategy="PER_USER_WITH_FALLBACK", workspaceId=acme.staging_id)

    by_id = failure(
        await acme.execute(key=staging_key.secret, workspaceId=acme.staging_id, connectionId=shared)
    )
    by_fallback = failure(await acme.execute(key=staging_key.secret, workspaceId=acme.staging_id))
    unrestricted = await acme.executed(workspaceId=acme.staging_id, connectionId=shared)

    assert by_id["extensions"]["code"] == "FORBIDDEN" and "organization-wide" in by_id["message"]
    assert by_fallback["extensions"]["code"] == "FORBIDDEN"
    assert unrestricted["connectionId"] == shared
    assert len(messages.sent) == 1


async def test_another_organization_cannot_use_the_integration_s_connections(
    acme: Acme, other_tenant: Any, messages: Any
) -> None:
    connection_id = await acme.connection(scope="WORKSPACE", workspaceId=acme.workspace_id)

    in_their_workspace = failure(await acme.execute(key=other_tenant.key, connectionId=connection_id))
    in_own_workspace = failure(
        await acme.execute(
            key=other_tenant.key, workspaceId=other_tenant.workspace_id, connectionId=connection_id
        )
    )

    assert in_their_workspace["extensions"]["code"] == "NOT_FOUND"
    assert in_own_workspace["extensions"]["code"] == "NOT_FOUND"
    assert messages.sent == []


async def test_a_connect_token_cannot_execute_actions(acme: Acme, messages: Any) -> None:
    await acme.connection(scope="USER", endUserId=acme.alice.id)
    session = await acme.tenant.data(
        """mutation($input: CreateConnectSessionInput!) { createConnectSession(input: $input) { token } }""",
        {"input": {"workspaceId": acme.workspace_id, "endUserExternalId": "alice"}},
    )

    refused = failure(
        await acme.execute(key=session["createConnectSession"]["token"], endUserExternalId="alice")
    )

    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert messages.sent == []


async def test_every_execution_of_a_known_action_is_in_the_call_log(acme: Acme, app: Any) -> None:
    alices = await acme.connection(scope="USER", endUserId=acme.alice.id)
    await acme.executed(endUserId=acme.alice.id)
    failure(await acme.execute(endUserId=acme.bob.id))

    await flush_calls(app)
    rows = await CallLog.filter(organization_id=acme.tenant.organization_id).order_by("created_at", "id")

    assert [(row.status, row.error_code) for row in rows] == [
        ("SUCCEEDED", None),
        ("FAILED", "CONNECTION_REQUIRED"),
    ]
    succeeded = rows[0]
    assert (succeeded.kind, succeeded.integration_name, succeeded.action) == ("ACTION", NAME, "send_message")
    assert (succeeded.connection_id, succeeded.end_user_id) == (alices, acme.alice.id)
    assert succeeded.workspace_id == acme.workspace_id
    assert succeeded.api_key_id is not None
    assert succeeded.http_status == 200
    assert rows[1].end_user_id == acme.bob.id and rows[1].connection_id is None


async def test_integration_lists_its_actions(acme: Acme) -> None:
    data = await acme.tenant.data(
        """query($name: String!) { integration(name: $name) {
             requiresConnection
             actions { name displayName description inputSchema outputSchema readOnly } } }""",
        {"name": NAME},
    )

    integration = data["integration"]
    assert integration["requiresConnection"] is True
    assert [(a["name"], a["readOnly"]) for a in integration["actions"]] == [
        ("send_message", False),
        ("run_query", True),
    ]
    assert integration["actions"][0]["inputSchema"]["required"] == ["channel", "text"]


async def test_resolve_connection_takes_a_connection_id(acme: Acme) -> None:
    connection_id = await acme.connection(scope="WORKSPACE", workspaceId=acme.workspace_id)

    data = await acme.tenant.data(
        """mutation($input: ResolveConnectionInput!) {
             resolveConnection(input: $input) { resolvedBy connection { id } } }""",
        {"input": {"workspaceId": acme.workspace_id, "integrationName": NAME, "connectionId": connection_id}},
    )

    assert data["resolveConnection"] == {"resolvedBy": "CONNECTION_ID", "connection": {"id": connection_id}}
