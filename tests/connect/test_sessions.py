"""Connect sessions through the GraphQL API: creation, the connect token, every transition."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from server.connect import service as sessions
from server.connect.models import ConnectSession
from server.errors import Conflict
from server.orgs.models import EndUser
from tests.connect.conftest import (
    REDIRECT_URI,
    SELECT,
    SESSION,
    STATE,
    SUBMIT,
    create_session,
)

CANCEL = "mutation Cancel($id: ID!) { cancelConnectSession(id: $id) { id status errorCode } }"
VIEWER = "query { viewer { organization { id } } }"


async def test_create_connect_session_returns_a_token_stored_only_hashed(acme, settings):
    created = await create_session(
        acme, allowedIntegrations=["testkey", "testdb"], endUserExternalId="user-42", redirectUri=REDIRECT_URI
    )
    token = created["token"]
    assert token.startswith("weir_ct_")
    assert created["connectUrl"] == f"http://weir.test/connect?token={token}"
    session = created["session"]
    assert session["status"] == "PENDING"
    assert session["allowedIntegrations"] == ["testkey", "testdb"]
    assert session["endUser"] == {"externalId": "user-42"}
    row = await ConnectSession.get(id=session["id"])
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(dict(row))
    lifetime = row.expires_at - row.created_at
    assert abs(lifetime.total_seconds() - settings.connect_session_ttl_seconds) < 5


async def test_end_user_is_created_once_from_its_external_id(acme):
    await create_session(
        acme, integrationName="testkey", endUserExternalId="user-7", endUserDisplayName="Ada"
    )
    await create_session(acme, integrationName="testkey", endUserExternalId="user-7")
    users = await EndUser.filter(external_id="user-7")
    assert len(users) == 1 and users[0].display_name == "Ada"


async def test_redirect_uri_must_be_exactly_an_allowed_one(acme):
    body = await acme.graphql(
        "mutation($i: CreateConnectSessionInput!) { createConnectSession(input: $i) { token } }",
        {"i": {"workspaceId": acme.workspace_id, "redirectUri": REDIRECT_URI + "/"}},
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["extensions"]["fields"][0]["field"] == "input.redirectUri"


async def test_unknown_integration_is_a_field_error(acme):
    body = await acme.graphql(
        "mutation($i: CreateConnectSessionInput!) { createConnectSession(input: $i) { token } }",
        {"i": {"workspaceId": acme.workspace_id, "allowedIntegrations": ["testkey", "nope"]}},
    )
    fields = body["errors"][0]["extensions"]["fields"]
    assert fields == [
        {"field": "input.allowedIntegrations.1", "message": "'nope' is not an integration of this workspace"}
    ]


async def test_default_integrations_are_the_usable_ones(acme):
    created = await create_session(acme)
    assert set(created["session"]["allowedIntegrations"]) == {"testoauth", "testkey", "testdb"}


async def test_connect_token_runs_only_the_connect_page_operations(acme):
    token = (await create_session(acme, integrationName="testkey"))["token"]
    forbidden = [
        VIEWER,
        'mutation { createConnectSession(input: {workspaceId: "x"}) { token } }',
        "query { connectSessionState { id } workspaces { edges { cursor } } }",
        "query { ...F } fragment F on Query { viewer { apiKey { id } } }",
        "query { __schema { types { name } } }",
    ]
    for document in forbidden:
        response = await acme.http.post(
            "/graphql", json={"query": document}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 403, document
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    state = await acme.graphql(STATE, key=token)
    assert state["data"]["connectSessionState"]["status"] == "PENDING"


async def test_api_key_cannot_run_the_connect_page_mutations(acme):
    body = await acme.graphql(SELECT, {"name": "testkey"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_session_moves_pending_connecting_completed(acme):
    created = await create_session(
        acme, allowedIntegrations=["testkey", "testdb"], redirectUri=REDIRECT_URI, externalId="acct-1"
    )
    token, session_id = created["token"], created["session"]["id"]
    selected = await acme.graphql(SELECT, {"name": "testkey"}, key=token)
    assert selected["data"]["selectIntegration"]["status"] == "CONNECTING"

    refused = await acme.graphql(SUBMIT, {"credentials": {"secret_text": "sk_bad"}}, key=token)
    error = refused["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["extensions"]["fields"] == [
        {
            "field": "input.credentials.secret_text",
            "message": "Test Key refused the credentials: The provider rejected this API key (401).",
        }
    ]
    assert (await ConnectSession.get(id=session_id)).status == "CONNECTING"

    done = await acme.graphql(SUBMIT, {"credentials": {"secret_text": "sk_good"}}, key=token)
    result = done["data"]["submitCredentials"]
    assert result["status"] == "COMPLETED" and result["connectionId"].startswith("conn_")
    assert result["redirectUrl"] == (
        f"{REDIRECT_URI}?session_id={session_id}&connection_id={result['connectionId']}"
    )
    seen = (await acme.data(SESSION, {"id": session_id}))["connectSession"]
    assert seen["status"] == "COMPLETED" and seen["connectionId"] == result["connectionId"]

    again = await acme.graphql(SUBMIT, {"credentials": {"secret_text": "sk_good"}}, key=token)
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_custom_auth_form_creates_a_connection(acme):
    token = (await create_session(acme, integrationName="testdb"))["token"]
    done = await acme.graphql(
        SUBMIT,
        {
            "name": "testdb",
            "credentials": {"host": "db.internal", "port": 5432, "sslmode": "require", "password": "pw"},
        },
        key=token,
    )
    assert done["data"]["submitCredentials"]["status"] == "COMPLETED"


async def test_selecting_an_integration_not_offered_is_refused(acme):
    token = (await create_session(acme, integrationName="testkey"))["token"]
    body = await acme.graphql(SELECT, {"name": "testdb"}, key=token)
    assert body["errors"][0]["extensions"]["fields"][0]["field"] == "input.integrationName"


async def test_expired_token_is_unauthenticated_and_the_session_expired(acme):
    created = await create_session(acme, integrationName="testkey")
    await ConnectSession.filter(id=created["session"]["id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    response = await acme.http.post(
        "/graphql", json={"query": STATE}, headers={"Authorization": f"Bearer {created['token']}"}
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    seen = (await acme.data(SESSION, {"id": created["session"]["id"]}))["connectSession"]
    assert seen["status"] == "EXPIRED" and seen["errorCode"] == "EXPIRED"


async def test_cancelled_session_token_stops_working(acme):
    created = await create_session(acme, integrationName="testkey")
    cancelled = await acme.data(CANCEL, {"id": created["session"]["id"]})
    assert cancelled["cancelConnectSession"]["status"] == "EXPIRED"
    assert cancelled["cancelConnectSession"]["errorCode"] == "CANCELLED"
    body = await acme.graphql(STATE, key=created["token"])
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    again = await acme.graphql(CANCEL, {"id": created["session"]["id"]})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_a_cancel_wins_over_the_page_moving_the_session_meanwhile(acme, monkeypatch):
    """Opening the page picks the only integration (PENDING -> CONNECTING) while a cancel,
    which read PENDING, is on its way: the cancel reads again and still ends the session."""
    created = await create_session(acme, integrationName="testkey")
    read = sessions.get_connect_session
    raced = []

    async def read_then_the_page_moves(**kwargs):
        session = await read(**kwargs)
        if not raced:
            raced.append(session.status)
            row = await ConnectSession.get(id=session.id)
            await sessions.transition(session=row, status="CONNECTING", bus=None)
        return session

    monkeypatch.setattr(sessions, "get_connect_session", read_then_the_page_moves)
    cancelled = (await acme.data(CANCEL, {"id": created["session"]["id"]}))["cancelConnectSession"]
    assert raced == ["PENDING"]
    assert (cancelled["status"], cancelled["errorCode"]) == ("EXPIRED", "CANCELLED")
    row = await ConnectSession.get(id=created["session"]["id"])
    assert (row.status, row.error_code) == ("EXPIRED", "CANCELLED")


async def test_another_organization_cannot_see_a_session(acme, other_tenant):
    created = await create_session(acme, integrationName="testkey")
    body = await other_tenant.graphql(SESSION, {"id": created["session"]["id"]})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_failed_session_can_be_retried_by_selecting_again(acme):
    created = await create_session(acme, integrationName="testkey")
    row = await ConnectSession.get(id=created["session"]["id"])
    await sessions.transition(session=row, status="CONNECTING", bus=None)
    await sessions.transition(
        session=row, status="FAILED", bus=None, error_code="ACCESS_DENIED", error_message="denied"
    )
    retried = await acme.graphql(SELECT, {"name": "testkey"}, key=created["token"])
    assert retried["data"]["selectIntegration"]["status"] == "CONNECTING"
    state = (await acme.graphql(STATE, key=created["token"]))["data"]["connectSessionState"]
    assert state["errorCode"] is None


MOVES = [(start, end) for start in sessions.STATUSES for end in sessions.STATUSES]


@pytest.mark.parametrize(("start", "end"), MOVES)
async def test_transition_follows_the_table(acme, start, end):
    created = await create_session(acme, integrationName="testkey")
    await ConnectSession.filter(id=created["session"]["id"]).update(status=start)
    row = await ConnectSession.get(id=created["session"]["id"])
    if end in sessions.ALLOWED_MOVES[start]:
        moved = await sessions.transition(session=row, status=end, bus=None)
        assert moved.status == end
    else:
        with pytest.raises(Conflict):
            await sessions.transition(session=row, status=end, bus=None)
        assert (await ConnectSession.get(id=row.id)).status == start


async def test_racing_transitions_move_a_session_once(acme):
    created = await create_session(acme, integrationName="testkey")
    first = await ConnectSession.get(id=created["session"]["id"])
    second = await ConnectSession.get(id=created["session"]["id"])
    await sessions.transition(session=first, status="CONNECTING", bus=None)
    with pytest.raises(Conflict):
        await sessions.transition(session=second, status="EXPIRED", bus=None)
