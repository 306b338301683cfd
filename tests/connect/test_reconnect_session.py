"""The reconnect session of a connection in NEEDS_REAUTHORIZATION: ready on read, reused until
it is used or expires, single use, expiring after WEIR_RECONNECT_SESSION_TTL_SECONDS, reusing
the connection, and never shown to a connect token. Against the OAuth emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from server.connect.models import ConnectSession
from server.connections import status as statuses
from server.connections.models import Connection
from tests.connect.conftest import SELECT, connect_with_oauth, consent, create_session, start_oauth

RECONNECT = """query($id: ID!) { connection(id: $id) {
  health reconnectSession { id token connectUrl expiresAt }
} }"""


async def _revoked(acme: Any) -> Connection:
    first = await connect_with_oauth(acme)
    connection = await Connection.get(id=first["connectionId"])
    await statuses.set_status(
        connection=connection, status="ERROR", reason="The provider refused the refresh token", bus=None
    )
    return connection


async def _reconnect_session(acme: Any, connection_id: str) -> dict[str, Any] | None:
    data = await acme.data(RECONNECT, {"id": connection_id})
    return data["connection"]["reconnectSession"]


async def test_a_connection_needing_reauthorization_carries_a_ready_session(acme, provider):
    connection = await _revoked(acme)
    before = datetime.now(UTC)
    ready = await _reconnect_session(acme, connection.id)
    assert ready is not None
    assert ready["token"].startswith("weir_ct_") and ready["token"] in ready["connectUrl"]
    expires = datetime.fromisoformat(ready["expiresAt"])
    assert (
        before + timedelta(days=7) - timedelta(minutes=1) <= expires <= datetime.now(UTC) + timedelta(days=7)
    )
    # Read again: the same session and token (only its hash is stored).
    assert await _reconnect_session(acme, connection.id) == ready
    row = await ConnectSession.get(id=ready["id"])
    assert row.reconnect_connection_id == connection.id and ready["token"] not in str(row.token_hash)

    # The end user follows it: the same connection comes back WORKING.
    url = await start_oauth(acme, ready["token"])
    page = await acme.http.get("/oauth/callback", params=await consent(url))
    assert page.status_code == 200
    stored = await Connection.get(id=connection.id)
    assert (stored.status, stored.health) == ("ACTIVE", "WORKING")
    assert await Connection.all().count() == 1
    assert await _reconnect_session(acme, connection.id) is None

    # Single use: the used token cannot start the flow again.
    again = await acme.graphql(SELECT, {"name": "testoauth"}, key=ready["token"])
    assert again.get("errors"), again


async def test_a_working_connection_has_none(acme, provider):
    first = await connect_with_oauth(acme)
    assert await _reconnect_session(acme, first["connectionId"]) is None
    assert await ConnectSession.all().count() == 1  # the first connect only


async def test_an_expired_session_is_replaced_and_its_token_stops_working(acme, provider):
    connection = await _revoked(acme)
    old = await _reconnect_session(acme, connection.id)
    assert old is not None
    await ConnectSession.filter(id=old["id"]).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    new = await _reconnect_session(acme, connection.id)
    assert new is not None and new["id"] != old["id"] and new["token"] != old["token"]
    refused = await acme.graphql(SELECT, {"name": "testoauth"}, key=old["token"])
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_ttl_is_configurable(acme, provider, app, settings):
    app.state.runtime.services.settings = settings.replace(reconnect_session_ttl_seconds=3600)
    connection = await _revoked(acme)
    ready = await _reconnect_session(acme, connection.id)
    assert ready is not None
    expires = datetime.fromisoformat(ready["expiresAt"])
    assert expires <= datetime.now(UTC) + timedelta(hours=1)


async def test_a_connect_token_never_sees_it(acme, provider):
    connection = await _revoked(acme)
    ready = await _reconnect_session(acme, connection.id)
    assert ready is not None
    other = await create_session(acme, integrationName="testoauth")
    body = await acme.graphql(RECONNECT, {"id": connection.id}, key=other["token"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert ready["token"] not in str(body)
    # Not even its own session's token.
    body = await acme.graphql(RECONNECT, {"id": connection.id}, key=ready["token"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert ready["token"] not in str(body.get("data"))
