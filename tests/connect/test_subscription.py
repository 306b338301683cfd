"""``connectSessionUpdated`` over graphql-transport-ws: current state first, then each change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import websockets

from server.connect.models import ConnectSession
from tests.connect.conftest import SELECT, SUBMIT, create_session
from tests.graphql_ws import GraphQLWebSocket

UPDATED = """subscription($id: ID!) {
  connectSessionUpdated(id: $id) { id status connectionId errorCode connection { id } }
}"""


async def _subscribe(live_server, tenant, session_id):
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    assert (await ws.acknowledged())["type"] == "connection_ack"
    await ws.subscribe(UPDATED, {"id": session_id})
    return ws


async def _status(ws) -> dict:
    message = await ws.receive()
    assert message["type"] == "next", message
    return message["payload"]["data"]["connectSessionUpdated"]


async def test_subscriber_sees_every_transition_until_completed(live_server, acme):
    created = await create_session(acme, integrationName="testkey")
    ws = await _subscribe(live_server, acme, created["session"]["id"])
    assert (await _status(ws))["status"] == "PENDING"
    await acme.graphql(SELECT, {"name": "testkey"}, key=created["token"])
    assert (await _status(ws))["status"] == "CONNECTING"
    await acme.graphql(SUBMIT, {"credentials": {"secret_text": "sk_good"}}, key=created["token"])
    done = await _status(ws)
    assert done["status"] == "COMPLETED" and done["connection"]["id"] == done["connectionId"]
    assert (await ws.receive())["type"] == "complete"  # a final status ends the stream
    await ws.close()


async def test_subscriber_is_told_when_time_runs_out(live_server, acme):
    created = await create_session(acme, integrationName="testkey")
    await ConnectSession.filter(id=created["session"]["id"]).update(
        expires_at=datetime.now(UTC) + timedelta(seconds=0.5)
    )
    ws = await _subscribe(live_server, acme, created["session"]["id"])
    assert (await _status(ws))["status"] == "PENDING"
    expired = await _status(ws)
    assert (expired["status"], expired["errorCode"]) == ("EXPIRED", "EXPIRED")
    await ws.close()


async def test_a_connect_token_follows_its_own_session_only(live_server, acme):
    created = await create_session(acme, integrationName="testkey")
    other = await create_session(acme, integrationName="testkey")
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {created['token']}")
    assert (await ws.acknowledged())["type"] == "connection_ack"
    await ws.subscribe(UPDATED, {"id": created["session"]["id"]})
    assert (await _status(ws))["status"] == "PENDING"
    await ws.subscribe(UPDATED, {"id": other["session"]["id"]})
    message = await ws.receive()
    assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    await ws.close()


async def test_a_bad_connect_token_cannot_open_a_socket(live_server, acme):
    ws = await GraphQLWebSocket.connect(live_server, "Bearer weir_ct_forged")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await ws.receive()
    assert closed.value.rcvd.code == 4403
