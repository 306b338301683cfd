"""The same idempotencyKey within 24 hours returns the first result without calling the
provider again; a different request with the key, or a repeat while the first still runs, is
CONFLICT; a failure a retry could fix is not kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from server import ids
from server.actions import idempotency
from server.actions.housekeeping import prune_expired_action_results
from server.actions.models import ActionResult
from server.calls.models import CallLog
from server.connectors import budget
from tests.actions.conftest import MESSAGE, Acme, failure
from tests.calls.helpers import flush_calls


async def _ready(acme: Acme) -> str:
    return await acme.connection(scope="USER", endUserId=acme.alice.id)


async def test_a_repeat_with_the_same_key_replays_the_first_result(
    acme: Acme, messages: Any, app: Any
) -> None:
    connection_id = await _ready(acme)

    first = await acme.executed(endUserId=acme.alice.id, idempotencyKey="order-1001")
    again = await acme.executed(endUserId=acme.alice.id, idempotencyKey="order-1001")

    assert messages.requests == 1  # counted at the provider
    assert first["replayed"] is False
    assert again["replayed"] is True
    assert again["output"] == first["output"] == {"id": 1, "channel": "C123", "text": "Deploy finished"}
    assert (again["connectionId"], again["resolvedBy"]) == (connection_id, "END_USER")
    # Both are in the call log: the replay is a request of its own.
    await flush_calls(app)
    logged = await CallLog.filter(organization_id=acme.tenant.organization_id).count()
    assert logged == 2


async def test_the_same_key_with_a_different_request_is_a_conflict(acme: Acme, messages: Any) -> None:
    await _ready(acme)
    await acme.executed(endUserId=acme.alice.id, idempotencyKey="order-1002")

    changed_input = failure(
        await acme.execute(
            endUserId=acme.alice.id, idempotencyKey="order-1002", input={**MESSAGE, "text": "Other"}
        )
    )
    changed_end_user = failure(await acme.execute(endUserId=acme.bob.id, idempotencyKey="order-1002"))

    for refused in (changed_input, changed_end_user):
        assert refused["extensions"] == {"code": "CONFLICT", "field": "input.idempotencyKey"}
        assert refused["message"].startswith("input.idempotencyKey:")
    assert messages.requests == 1


async def test_keys_belong_to_one_organization(acme: Acme, other_tenant: Any, messages: Any) -> None:
    await _ready(acme)
    await acme.executed(endUserId=acme.alice.id, idempotencyKey="shared-name")

    theirs = failure(
        await acme.execute(
            key=other_tenant.key, workspaceId=other_tenant.workspace_id, idempotencyKey="shared-name"
        )
    )

    # Their request runs on its own (and finds no connection): no replay, no conflict.
    assert theirs["extensions"]["code"] == "CONNECTION_REQUIRED"


async def test_a_provider_refusal_is_kept_and_raised_again_without_a_call(acme: Acme, messages: Any) -> None:
    await _ready(acme)
    messages.error_status = 404

    first = failure(await acme.execute(endUserId=acme.alice.id, idempotencyKey="order-1003"))
    messages.error_status = None
    again = failure(await acme.execute(endUserId=acme.alice.id, idempotencyKey="order-1003"))

    assert first["extensions"] == {"code": "PROVIDER_ERROR", "providerStatus": 404}
    assert again["extensions"] == {"code": "PROVIDER_ERROR", "providerStatus": 404, "replayed": True}
    assert again["message"] == first["message"]
    assert messages.requests == 1


async def test_a_rate_limited_call_is_not_kept_so_the_retry_runs(acme: Acme, messages: Any) -> None:
    await _ready(acme)
    messages.retry_after = 120

    limited = failure(await acme.execute(endUserId=acme.alice.id, idempotencyKey="order-1004"))
    messages.retry_after = None
    # The connection's rate budget remembers the provider's Retry-After: too early, the retry
    # is refused without a call (and is not kept either) ...
    early = failure(await acme.execute(endUserId=acme.alice.id, idempotencyKey="order-1004"))
    assert messages.requests == 1
    budget.shared.reset()  # ... as if the two minutes had passed
    retried = await acme.executed(endUserId=acme.alice.id, idempotencyKey="order-1004")

    assert limited["extensions"]["code"] == early["extensions"]["code"] == "RATE_LIMITED"
    assert 110 <= early["extensions"]["retryAfter"] <= 120
    assert retried["replayed"] is False
    assert messages.sent == [MESSAGE]


async def test_a_failure_before_the_call_is_not_kept(acme: Acme, messages: Any) -> None:
    required = failure(await acme.execute(endUserId=acme.alice.id, idempotencyKey="order-1005"))
    await _ready(acme)

    done = await acme.executed(endUserId=acme.alice.id, idempotencyKey="order-1005")

    assert required["extensions"]["code"] == "CONNECTION_REQUIRED"
    assert done["replayed"] is False
    assert messages.requests == 1


async def test_a_repeat_while_the_first_still_runs_is_a_conflict(acme: Acme, messages: Any) -> None:
    await _ready(acme)
    messages.gate = asyncio.Event()

    first = asyncio.create_task(acme.execute(endUserId=acme.alice.id, idempotencyKey="order-1006"))
    await asyncio.wait_for(messages.arrived.wait(), 10)  # the first call is at the provider
    repeat = failure(await acme.execute(endUserId=acme.alice.id, idempotencyKey="order-1006"))
    messages.gate.set()
    finished = await first

    assert repeat["extensions"] == {"code": "CONFLICT", "field": "input.idempotencyKey"}
    assert "still running" in repeat["message"]
    assert finished["data"]["executeAction"]["replayed"] is False
    assert messages.requests == 1


async def test_of_two_simultaneous_claims_one_runs(acme: Acme) -> None:
    claims = await asyncio.gather(
        *(
            idempotency.claim(
                organization_id=acme.tenant.organization_id, key="race", request_fingerprint="f" * 64
            )
            for _ in range(2)
        ),
        return_exceptions=True,
    )

    rows = [claim for claim in claims if isinstance(claim, ActionResult)]
    conflicts = [claim for claim in claims if isinstance(claim, idempotency.IdempotencyConflict)]
    assert (len(rows), len(conflicts)) == (1, 1), claims
    assert await ActionResult.filter(idempotency_key="race").count() == 1


async def _stored_row(acme: Acme, key: str, **values: Any) -> ActionResult:
    """The row a first call with ``key`` (and MESSAGE for alice) would have claimed."""
    from server.actions.service import ActionRequest

    request = ActionRequest(
        integration_name="testmessages",
        action="send_message",
        input=MESSAGE,
        workspace_id=acme.workspace_id,
        end_user_id=acme.alice.id,
    )
    return await ActionResult.create(
        id=ids.new_id("action_result"),
        organization_id=acme.tenant.organization_id,
        idempotency_key=key,
        fingerprint=request.fingerprint(),
        **values,
    )


async def test_an_abandoned_first_call_is_taken_over_after_its_lease(acme: Acme, messages: Any) -> None:
    await _ready(acme)
    now = datetime.now(UTC)
    row = await _stored_row(acme, "order-1007", status="IN_PROGRESS", expires_at=now + timedelta(hours=23))
    await ActionResult.filter(id=row.id).update(created_at=now - timedelta(minutes=10))

    done = await acme.executed(endUserId=acme.alice.id, idempotencyKey="order-1007")

    assert done["replayed"] is False
    assert messages.requests == 1
    assert (await ActionResult.get(id=row.id)).status == "SUCCEEDED"


async def test_an_expired_result_is_not_replayed_and_is_pruned(acme: Acme, messages: Any) -> None:
    await _ready(acme)
    now = datetime.now(UTC)
    await _stored_row(
        acme, "order-1008", status="SUCCEEDED", output='{"output":{"old":true}}', expires_at=now
    )
    old = await _stored_row(acme, "order-1009", status="SUCCEEDED", output="{}", expires_at=now)
    fresh = await _stored_row(
        acme, "order-1010", status="SUCCEEDED", output="{}", expires_at=now + timedelta(hours=1)
    )

    done = await acme.executed(endUserId=acme.alice.id, idempotencyKey="order-1008")
    pruned = await prune_expired_action_results(now=now + timedelta(seconds=1), limit=100)

    assert done["replayed"] is False and done["output"]["id"] == 1
    assert pruned == 1
    assert not await ActionResult.exists(id=old.id)
    assert await ActionResult.exists(id=fresh.id)


async def test_an_input_the_action_refused_is_kept_with_its_fields(acme: Acme) -> None:
    await _ready(acme)
    request = {"endUserId": acme.alice.id, "action": "run_query", "input": {"sql": "DELETE FROM t"}}

    first = failure(await acme.execute(idempotencyKey="query-1", **request))
    again = failure(await acme.execute(idempotencyKey="query-1", **request))

    fields = [{"field": "input.input.sql", "message": "must be a read-only query (SELECT)"}]
    assert first["extensions"] == {"code": "VALIDATION_FAILED", "fields": fields}
    assert again["extensions"] == {"code": "VALIDATION_FAILED", "fields": fields, "replayed": True}


async def test_the_provider_gets_a_key_derived_from_the_host_s(acme: Acme, other_tenant: Any) -> None:
    await _ready(acme)
    request = {"endUserId": acme.alice.id, "action": "run_query", "input": {"sql": "select 1"}}

    first = await acme.executed(idempotencyKey="customer-42", **request)
    second = await acme.executed(idempotencyKey="customer-43", **request)

    sent = first["output"]["idempotency_key"]
    assert sent.startswith("weir_") and "customer-42" not in sent
    assert sent == idempotency.provider_key(organization_id=acme.tenant.organization_id, key="customer-42")
    assert second["output"]["idempotency_key"] != sent
    # Another organization's same key is another key at the provider.
    assert idempotency.provider_key(organization_id=other_tenant.organization_id, key="customer-42") != sent
