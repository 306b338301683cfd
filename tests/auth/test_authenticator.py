"""One way to say who is calling: HTTP and WebSocket authenticate through
``Authenticator.authenticate`` (server.auth), with the same outcome, and the authenticator's
memory of keys belongs to the services container that built it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import websockets

from server.auth.authenticator import (
    Authenticator,
    secret_from_connection_params,
    secret_from_headers,
)
from server.errors import Unauthenticated
from server.orgs.models import ApiKey
from tests.graphql_ws import GraphQLWebSocket

CREATE_KEY = 'mutation { createApiKey(input: {name: "doomed"}) { apiKey { id } secret } }'
REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }"
VIEWER = "{ viewer { apiKey { id } } }"


def _record_secrets(authenticator: Authenticator) -> list[str | None]:
    """Every secret ``authenticator.authenticate`` is asked about, in order."""
    seen: list[str | None] = []
    authenticate = authenticator.authenticate

    async def recording(secret: str | None):  # type: ignore[no-untyped-def]
        seen.append(secret)
        return await authenticate(secret)

    authenticator.authenticate = recording  # type: ignore[method-assign]
    return seen


async def _refused_over_websocket(live_server: str, secret: str) -> int:
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {secret}")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await ws.acknowledged()
    return closed.value.rcvd.code


async def test_http_and_websocket_ask_the_same_function_and_agree_on_a_revoked_key(app, live_server, tenant):
    created = (await tenant.data(CREATE_KEY))["createApiKey"]
    secret = created["secret"]
    seen = _record_secrets(app.state.runtime.services.auth)

    assert (await tenant.graphql(VIEWER, key=secret))["data"]["viewer"]["apiKey"]["id"]
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {secret}")
    assert (await ws.acknowledged())["type"] == "connection_ack"
    await ws.close()
    assert seen == [secret, secret]

    await tenant.data(REVOKE, {"id": created["apiKey"]["id"]})
    seen.clear()
    response = await tenant.http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await _refused_over_websocket(live_server, secret) == 4403
    assert seen == [secret, secret]


async def test_a_connect_token_is_the_same_caller_over_http_and_websocket(app, live_server, tenant):
    created = await tenant.data(
        "mutation($w: ID!) { createConnectSession(input: {workspaceId: $w, integrationName: "
        '"demo", endUserExternalId: "u-1"}) { token session { id } } }',
        {"w": tenant.workspace_id},
    )
    token = created["createConnectSession"]["token"]
    seen = _record_secrets(app.state.runtime.services.auth)
    state = await tenant.graphql("{ connectSessionState { status } }", key=token)
    assert state["data"]["connectSessionState"]["status"] == "PENDING"
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {token}")
    assert (await ws.acknowledged())["type"] == "connection_ack"
    await ws.close()
    assert seen == [token, token]


def test_the_secret_is_read_the_same_way_from_headers_and_connection_params():
    for given in ("Bearer weir_sk_abc", "bearer  weir_sk_abc "):
        assert secret_from_headers({"authorization": given}) == "weir_sk_abc"
        assert secret_from_connection_params({"authorization": given}) == "weir_sk_abc"
    assert secret_from_headers({"x-api-key": "weir_sk_abc"}) == "weir_sk_abc"
    assert secret_from_connection_params({"x-api-key": "weir_sk_abc"}) == "weir_sk_abc"
    assert secret_from_connection_params({"Authorization": "weir_sk_abc"}) == "weir_sk_abc"
    assert secret_from_headers({}) is None and secret_from_connection_params({}) is None


async def test_each_authenticator_remembers_keys_for_itself_only(database):
    from server import ids
    from server.orgs.api_keys import create_api_key
    from server.orgs.models import Organization

    organization = await Organization.create(id=ids.new_id("organization"), name="Acme")
    created = await create_api_key(organization_id=organization.id, name="k")
    first, second = Authenticator(), Authenticator()
    assert (await first.authenticate(created.secret)).api_key_id == created.api_key.id

    # Revoked behind both authenticators' backs: the one that saw the key answers from memory
    # until told; the other one (another app, another test) has nothing to forget.
    await ApiKey.filter(id=created.api_key.id).update(revoked_at=datetime.now(UTC))
    assert (await first.authenticate(created.secret)).api_key_id == created.api_key.id
    with pytest.raises(Unauthenticated):
        await second.authenticate(created.secret)
    first.forget_api_key(created.api_key.id)
    with pytest.raises(Unauthenticated):
        await first.authenticate(created.secret)


async def test_the_services_container_closes_what_it_built(settings):
    from server.api.context import Services
    from server.events import InMemoryEventBus
    from server.scope import Scope

    services = Services(settings=settings, bus=InMemoryEventBus(), key_ring=None)  # type: ignore[arg-type]
    client = services.connect_http()
    assert services.connect_http() is client  # one per process
    services.auth.api_key_cache.put("hash", Scope(organization_id="org"))
    await services.aclose()
    assert client.is_closed
    assert services.auth.api_key_cache.get("hash") is None
