"""Built-in integrations need no connection: executeAction runs them with the key-value store
scoped to the workspace and, when one is named, the end user."""

from __future__ import annotations

from typing import Any

from server.calls.models import CallLog
from tests.actions.conftest import Acme, failure
from tests.calls.helpers import flush_calls


async def _kv(acme: Acme, action: str, input: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return await acme.executed(integrationName="kv_store", action=action, input=input, **fields)


async def test_a_built_in_runs_without_a_connection(acme: Acme, app: Any) -> None:
    done = await acme.executed(
        integrationName="hash_encode", action="hash", input={"text": "abc", "algorithm": "sha256"}
    )

    assert done["connectionId"] is None and done["resolvedBy"] is None
    assert "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" in str(done["output"])
    await flush_calls(app)
    logged = await CallLog.get(organization_id=acme.tenant.organization_id)
    assert (logged.integration_name, logged.connection_id, logged.status) == (
        "hash_encode",
        None,
        "SUCCEEDED",
    )


async def test_the_key_value_store_is_scoped_to_the_workspace_and_the_end_user(acme: Acme) -> None:
    await _kv(acme, "put", {"key": "plan", "value": {"tier": "workspace"}})
    await _kv(acme, "put", {"key": "plan", "value": {"tier": "alice"}}, endUserId=acme.alice.id)

    workspace = await _kv(acme, "get", {"key": "plan"})
    alice = await _kv(acme, "get", {"key": "plan"}, endUserExternalId="alice")
    bob = await _kv(acme, "get", {"key": "plan"}, endUserId=acme.bob.id)
    staging = await _kv(acme, "get", {"key": "plan"}, workspaceId=acme.staging_id)

    assert workspace["output"]["value"] == {"tier": "workspace"}
    assert alice["output"]["value"] == {"tier": "alice"}
    assert bob["output"]["found"] is False
    assert staging["output"]["found"] is False


async def test_a_built_in_replays_with_an_idempotency_key(acme: Acme) -> None:
    first = await _kv(acme, "increment", {"key": "visits"}, idempotencyKey="visit-1")
    again = await _kv(acme, "increment", {"key": "visits"}, idempotencyKey="visit-1")
    read = await _kv(acme, "get", {"key": "visits"})

    assert first["output"]["value"] == again["output"]["value"] == 1
    assert again["replayed"] is True
    assert read["output"]["value"] == 1


async def test_a_built_in_switched_off_in_the_workspace_is_refused(acme: Acme) -> None:
    await acme.tenant.data(
        """mutation($input: ConfigureWorkspaceIntegrationInput!) {
             configureWorkspaceIntegration(input: $input) { id } }""",
        {"input": {"workspaceId": acme.workspace_id, "integrationName": "kv_store", "enabled": False}},
    )

    refused = failure(await acme.execute(integrationName="kv_store", action="get", input={"key": "plan"}))

    assert refused["extensions"]["code"] == "FORBIDDEN"
