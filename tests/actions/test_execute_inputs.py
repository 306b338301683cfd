"""executeAction checks its input before anything is looked up or sent: a JSON object within
size and depth, valid against the action's schema (every problem named by its JSON path, no
submitted value quoted), and what the action itself refuses."""

from __future__ import annotations

import json
from typing import Any

from tests.actions.conftest import EXECUTE, Acme, failure
from tests.actions.support import NAME

SECRET_LOOKING = "hunter2-do-not-echo"


def fields(error: dict[str, Any]) -> dict[str, str]:
    assert error["extensions"]["code"] == "VALIDATION_FAILED", error
    return {item["field"]: item["message"] for item in error["extensions"]["fields"]}


async def test_every_schema_problem_is_named_by_its_path_without_the_value(acme: Acme, messages: Any) -> None:
    await acme.connection(scope="USER", endUserId=acme.alice.id)
    bad = {
        "channel": SECRET_LOOKING,  # fails the pattern
        "priority": SECRET_LOOKING,  # not an integer
        "tags": ["a", "b", "c", "d"],  # too many
        "thread": {"ts": SECRET_LOOKING, "extra": 1},  # fails the pattern; unknown field
        "notify": SECRET_LOOKING,  # not an email address
        SECRET_LOOKING: True,  # unknown field (its name is the client's own, and is the path)
    }

    error = failure(await acme.execute(endUserId=acme.alice.id, input=bad))

    found = fields(error)
    assert found == {
        "input.input.channel": "must match the pattern ^C[0-9A-Z]+$",
        "input.input.priority": "must be of type integer",
        "input.input.tags": "must have at most 3 items",
        "input.input.text": "is required",
        "input.input.thread.extra": "is not an input of this action",
        "input.input.thread.ts": "must match the pattern ^[0-9]+[.][0-9]+$",
        "input.input.notify": "must be a valid email",
        f"input.input.{SECRET_LOOKING}": "is not an input of this action",
    }
    assert all(SECRET_LOOKING not in message for message in found.values())
    assert messages.sent == []


async def test_the_input_must_be_a_json_object(acme: Acme) -> None:
    for value in (["C1", "hi"], "text", 3, None):
        error = failure(await acme.execute(input=value))
        if value is None:  # input is required by the schema: GraphQL itself refuses null
            assert error["extensions"]["code"] == "BAD_REQUEST"
            continue
        assert fields(error) == {"input.input": "must be a JSON object"}


async def test_an_input_over_256_kb_is_refused(acme: Acme, messages: Any) -> None:
    big = {"channel": "C1", "text": "x", "tags": ["y" * 60_000] * 5}

    error = failure(await acme.execute(input=big))

    assert fields(error) == {"input.input": "must be at most 262144 bytes as JSON"}
    assert messages.sent == []


async def test_an_input_nested_deeper_than_32_levels_is_refused(acme: Acme) -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(40):
        inner["a"] = {}
        inner = inner["a"]

    error = failure(await acme.execute(input={"channel": "C1", "text": "x", "thread": deep}))

    assert fields(error) == {"input.input": "must be nested at most 32 levels deep"}


async def test_a_number_json_cannot_hold_is_refused(acme: Acme) -> None:
    # Python's JSON parser reads NaN, which no provider's JSON accepts.
    body = json.dumps(
        {
            "query": EXECUTE,
            "variables": {
                "input": {
                    "integrationName": NAME,
                    "action": "send_message",
                    "workspaceId": acme.workspace_id,
                    "input": {"channel": "C1", "text": "x", "priority": float("nan")},
                }
            },
        }
    )
    response = await acme.tenant.http.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {acme.tenant.key}", "Content-Type": "application/json"},
    )

    error = failure(response.json())
    assert fields(error) == {"input.input.priority": "must be a finite number"}


async def test_what_the_action_itself_refuses_is_a_validation_error_at_its_path(acme: Acme) -> None:
    await acme.connection(scope="USER", endUserId=acme.alice.id)

    refused = failure(
        await acme.execute(endUserId=acme.alice.id, action="run_query", input={"sql": "DELETE FROM t"})
    )
    allowed = await acme.executed(endUserId=acme.alice.id, action="run_query", input={"sql": "select 1"})

    assert fields(refused) == {"input.input.sql": "must be a read-only query (SELECT)"}
    assert allowed["output"] == {"rows": [], "caller": "action", "idempotency_key": None}


async def test_an_unknown_action_or_integration_is_named(acme: Acme, other_tenant: Any) -> None:
    action = failure(await acme.execute(action="drop_everything"))
    integration = failure(await acme.execute(integrationName="nope"))

    assert list(fields(action)) == ["input.action"]
    assert "drop_everything" in action["message"]
    assert list(fields(integration)) == ["input.integrationName"]


async def test_the_request_s_own_fields_are_checked(acme: Acme) -> None:
    long_key = failure(await acme.execute(idempotencyKey="k" * 256))
    empty_key = failure(await acme.execute(idempotencyKey="  "))
    both = failure(await acme.execute(connectionId="conn_1", connectionExternalId="x"))
    both_users = failure(await acme.execute(endUserId=acme.alice.id, endUserExternalId="alice"))
    unknown_user = failure(await acme.execute(endUserExternalId="nobody"))

    assert fields(long_key) == {"input.idempotencyKey": "must be at most 255 characters"}
    assert list(fields(empty_key)) == ["input.idempotencyKey"]
    assert list(fields(both)) == ["input.connectionExternalId"]
    assert list(fields(both_users)) == ["input.endUserExternalId"]
    assert unknown_user["extensions"]["code"] == "NOT_FOUND"
