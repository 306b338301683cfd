"""Revocation reaches live connections: revoking a key, deleting an end user or cancelling a
connect session closes every WebSocket it authenticated (4403) within 2 seconds, and the
authentication cache forgets a revoked key on the event (across processes: tests/scaleout)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
import websockets

from server.auth.key_cache import AUTH_CACHE_SECONDS
from server.auth.revocation import Revocations
from server.orgs.models import ApiKey
from server.revocations import API_KEY, CONNECT_SESSION, END_USER, credential, publish_revocation
from tests.graphql_ws import GraphQLWebSocket

BOUND = 2.0
SYNCS = "subscription($w: ID) { eltSyncUpdated(workspaceId: $w) { kind } }"
SESSION = "subscription($id: ID!) { connectSessionUpdated(id: $id) { id status } }"
CREATE_KEY = 'mutation { createApiKey(input: {name: "doomed"}) { apiKey { id } secret } }'
REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }"
CREATE_SESSION = """mutation($w: ID!, $user: String) {
  createConnectSession(input: {workspaceId: $w, integrationName: "demo",
                               endUserExternalId: $user}) {
    token session { id endUser { id } }
  }
}"""


async def _open(live_server, secret):
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {secret}")
    assert (await ws.acknowledged())["type"] == "connection_ack"
    return ws


async def _closed_within(ws, seconds):
    """Read until the server closes the socket; return (close code, seconds it took)."""
    started = time.monotonic()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await ws.receive(timeout=seconds + 1)
    return closed.value.rcvd.code, time.monotonic() - started


async def _new_key(tenant):
    created = (await tenant.data(CREATE_KEY))["createApiKey"]
    return created["apiKey"]["id"], created["secret"]


async def test_revoking_a_key_closes_its_websockets_and_stops_it_at_once(live_server, tenant):
    key_id, secret = await _new_key(tenant)
    ws = await _open(live_server, secret)
    await ws.subscribe(SYNCS, {"w": tenant.workspace_id})
    bystander = await _open(live_server, tenant.key)
    await bystander.subscribe(SYNCS, {"w": tenant.workspace_id})
    assert (await tenant.graphql("{ viewer { organization { id } } }", key=secret))["data"]

    await tenant.data(REVOKE, {"id": key_id})
    code, took = await _closed_within(ws, BOUND)
    assert code == 4403 and took < BOUND
    response = await tenant.http.post(
        "/graphql",
        json={"query": "{ viewer { apiKey { id } } }"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 401
    # Another key's socket stays open and working.
    await bystander.socket.send('{"type":"ping"}')
    assert (await bystander.receive())["type"] == "pong"
    await bystander.close()


async def test_cancelling_a_connect_session_closes_its_tokens_socket(live_server, tenant):
    created = await tenant.data(CREATE_SESSION, {"w": tenant.workspace_id})
    token = created["createConnectSession"]["token"]
    session_id = created["createConnectSession"]["session"]["id"]
    ws = await _open(live_server, token)
    await ws.subscribe(SESSION, {"id": session_id})
    assert (await ws.receive())["payload"]["data"]["connectSessionUpdated"]["status"] == "PENDING"

    await tenant.data("mutation($id: ID!) { cancelConnectSession(id: $id) { id } }", {"id": session_id})
    code, took = await _closed_within(ws, BOUND)
    assert code == 4403 and took < BOUND
    refused = await tenant.graphql("{ connectSessionState { id } }", key=token)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_deleting_an_end_user_closes_the_sockets_of_its_connect_tokens(live_server, tenant):
    created = await tenant.data(CREATE_SESSION, {"w": tenant.workspace_id, "user": "customer-9"})
    token = created["createConnectSession"]["token"]
    session = created["createConnectSession"]["session"]
    ws = await _open(live_server, token)
    await ws.subscribe(SESSION, {"id": session["id"]})
    assert (await ws.receive())["type"] == "next"

    await tenant.data(
        "mutation($id: ID!) { deleteEndUser(id: $id) { deletedId } }", {"id": session["endUser"]["id"]}
    )
    code, took = await _closed_within(ws, BOUND)
    assert code == 4403 and took < BOUND
    refused = await tenant.graphql("{ connectSessionState { id } }", key=token)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_connect_tokens_socket_follows_its_own_session_only(live_server, tenant):
    mine = await tenant.data(CREATE_SESSION, {"w": tenant.workspace_id})
    other = await tenant.data(CREATE_SESSION, {"w": tenant.workspace_id})
    ws = await _open(live_server, mine["createConnectSession"]["token"])
    await ws.subscribe(SESSION, {"id": other["createConnectSession"]["session"]["id"]})
    message = await ws.receive()
    assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND", message
    forbidden = await ws.subscribe(SYNCS, {"w": tenant.workspace_id})
    while (message := await ws.receive()).get("id") != forbidden:
        pass
    assert message["type"] == "error"
    assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    await ws.close()


async def test_the_auth_cache_forgets_a_key_revoked_elsewhere_on_the_event(app, tenant):
    """Another process revoked it: the database says so and the bus carries the event. This
    process's cache (which would otherwise answer for up to AUTH_CACHE_SECONDS) forgets it."""
    key_id, secret = await _new_key(tenant)
    viewer = "{ viewer { apiKey { id } } }"
    assert (await tenant.graphql(viewer, key=secret))["data"]["viewer"]["apiKey"]["id"] == key_id
    await ApiKey.filter(id=key_id).update(revoked_at=datetime.now(UTC))
    # Still cached: the revocation happened behind this process's back.
    assert "data" in await tenant.graphql(viewer, key=secret)
    published = time.monotonic()
    await publish_revocation(app.state.runtime.services.bus, kind=API_KEY, object_id=key_id)
    # Refused as soon as the listener ran: well before the cache entry would have expired.
    while "data" in (body := await tenant.graphql(viewer, key=secret)):
        assert time.monotonic() - published < AUTH_CACHE_SECONDS / 4, body
        await asyncio.sleep(0.01)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


class FakeSocket:
    def __init__(self) -> None:
        self.closed: tuple[int, str] | None = None

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_the_sweep_closes_sockets_whose_revocation_event_was_lost(app, tenant):
    """No event at all (Redis was away, or ``weir keys revoke`` had no bus): the periodic sweep
    asks the database and closes what no longer holds."""
    key_id, _ = await _new_key(tenant)
    created = await tenant.data(CREATE_SESSION, {"w": tenant.workspace_id, "user": "c-1"})
    session = created["createConnectSession"]["session"]
    services = app.state.runtime.services
    revocations = Revocations(services.bus, services.auth)
    revoked_key, live_key, cancelled, live_user = (FakeSocket() for _ in range(4))
    revocations.register(revoked_key, {credential(API_KEY, key_id)})
    revocations.register(live_key, {credential(API_KEY, (await ApiKey.get(prefix=tenant.key[:14])).id)})
    revocations.register(cancelled, {credential(CONNECT_SESSION, session["id"])})
    revocations.register(live_user, {credential(END_USER, session["endUser"]["id"])})
    await ApiKey.filter(id=key_id).update(revoked_at=datetime.now(UTC))
    await tenant.data("mutation($id: ID!) { cancelConnectSession(id: $id) { id } }", {"id": session["id"]})
    assert await revocations.sweep() == 2
    await revocations.stop()  # lets the close tasks finish
    assert revoked_key.closed == (4403, "Forbidden") and cancelled.closed == (4403, "Forbidden")
    assert live_key.closed is None and live_user.closed is None
