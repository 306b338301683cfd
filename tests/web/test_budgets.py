"""Request budgets per API key and per connect token: RATE_LIMITED with Retry-After, nobody
else affected, and the budget comes back."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from server.config import Settings
from server.connect.service import ConnectScope
from server.orgs.api_keys import create_api_key
from server.scope import Scope
from server.web.budgets import Budgets, LocalBuckets, RedisBuckets
from tests.conftest import REDIS_URL, client_for, make_tenant, require_service
from tests.graphql_ws import GraphQLWebSocket
from tests.serving import serve

VIEWER = "{ viewer { organization { id } } }"
SESSION = """mutation($w: ID!) {
  createConnectSession(input: {workspaceId: $w, integrationName: "demo"}) { token }
}"""
SYNCS = "subscription($w: ID) { eltSyncUpdated(workspaceId: $w) { kind } }"


async def _post(tenant, key=None):
    return await tenant.http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {key or tenant.key}"}
    )


async def _state(tenant, token):
    return await tenant.http.post(
        "/graphql",
        json={"query": "{ connectSessionState { id } }"},
        headers={"Authorization": f"Bearer {token}"},
    )


def _rate_limited(response) -> int:
    assert response.status_code == 429, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1 and error["extensions"]["retryAfter"] == retry_after
    return retry_after


async def test_an_api_key_over_its_budget_is_rate_limited_alone(settings):
    async with client_for(settings.replace(rate_limit_key_per_minute=3)) as http:
        tenant = await make_tenant(http, "Acme")
        other = await make_tenant(http, "Globex")
        sibling = await create_api_key(organization_id=tenant.organization_id, name="sibling")
        for _ in range(3):
            assert (await _post(tenant)).status_code == 200
        refused = await _post(tenant)
        # 3 a minute come back one every 20 seconds.
        assert _rate_limited(refused) == 20
        assert tenant.key not in refused.text
        # Another key (of another organization, or of the same one) has its own budget.
        assert (await _post(other)).status_code == 200
        assert (await _post(tenant, sibling.secret)).status_code == 200


async def test_a_budget_comes_back_after_retry_after(settings):
    async with client_for(settings.replace(rate_limit_key_per_minute=120)) as http:
        tenant = await make_tenant(http, "Acme")
        for _ in range(200):
            response = await _post(tenant)
            if response.status_code != 200:
                break
        retry_after = _rate_limited(response)
        assert retry_after == 1  # two a second
        await asyncio.sleep(retry_after)
        assert (await _post(tenant)).status_code == 200


async def test_a_connect_token_has_its_own_budget(settings):
    limited = settings.replace(rate_limit_connect_token_per_minute=2, rate_limit_key_per_minute=1000)
    async with client_for(limited) as http:
        tenant = await make_tenant(http, "Acme")
        token = (await tenant.data(SESSION, {"w": tenant.workspace_id}))["createConnectSession"]["token"]
        fresh = (await tenant.data(SESSION, {"w": tenant.workspace_id}))["createConnectSession"]["token"]
        assert (await _state(tenant, token)).status_code == 200
        assert (await _state(tenant, token)).status_code == 200
        assert _rate_limited(await _state(tenant, token)) == 30
        # Neither another session's token nor the API key that made them is affected.
        assert (await _state(tenant, fresh)).status_code == 200
        assert (await _post(tenant)).status_code == 200


async def test_websocket_operations_spend_the_budget_too(settings):
    from server.embedded import create_app
    from server.web.ws_server import WeirWebSocketProtocol

    application = create_app(settings.replace(rate_limit_key_per_minute=3))
    async with application.router.lifespan_context(application):
        async with serve(application, ws=WeirWebSocketProtocol) as url:
            import httpx

            async with httpx.AsyncClient(base_url=url) as http:
                tenant = await make_tenant(http, "Acme")
                assert (await _post(tenant)).status_code == 200  # HTTP and WebSocket share it
                ws = await GraphQLWebSocket.connect(url.removeprefix("http://"), f"Bearer {tenant.key}")
                assert (await ws.acknowledged())["type"] == "connection_ack"
                await ws.subscribe(SYNCS, {"w": tenant.workspace_id})
                await ws.subscribe(SYNCS, {"w": tenant.workspace_id})
                third = await ws.subscribe(SYNCS, {"w": tenant.workspace_id})
                while (message := await ws.receive()).get("id") != third:
                    pass
                assert message["type"] == "error", message
                extensions = message["payload"][0]["extensions"]
                assert extensions == {"code": "RATE_LIMITED", "retryAfter": 20}
                # The socket stays open: the client may retry that operation later.
                await ws.socket.send('{"type":"ping"}')
                while (await ws.receive())["type"] != "pong":
                    pass
                await ws.close()
                assert _rate_limited(await _post(tenant)) >= 1


def test_the_budgets_are_settings_and_zero_turns_them_off():
    settings = Settings.from_env(
        {"WEIR_RATE_LIMIT_KEY_PER_MINUTE": "0", "WEIR_RATE_LIMIT_CONNECT_TOKEN_PER_MINUTE": "50"}
    )
    budgets = Budgets(settings)
    assert budgets.budget_of(Scope(organization_id="org_1", api_key_id="key_1")) is None
    assert budgets.budget_of(ConnectScope(organization_id="org_1", connect_session_id="cs_1")) == (
        "connect_session:cs_1",
        50,
    )
    defaults = Settings()
    assert defaults.rate_limit_key_per_minute > 0 and defaults.rate_limit_connect_token_per_minute > 0


def test_a_local_bucket_refills_at_its_rate():
    now = [100.0]
    buckets = LocalBuckets(clock=lambda: now[0])
    assert [buckets.take_now("k", 60) for _ in range(60)] == [0.0] * 60
    assert buckets.take_now("k", 60) == pytest.approx(1.0)
    now[0] += 0.5
    assert buckets.take_now("k", 60) == pytest.approx(0.5)
    now[0] += 0.5
    assert buckets.take_now("k", 60) == 0.0
    assert buckets.take_now("other", 60) == 0.0


async def test_with_redis_every_replica_spends_the_same_budget():
    require_service("Redis", REDIS_URL, 6379, "WEIR_TEST_REDIS_URL")
    settings = Settings(redis_url=REDIS_URL, rate_limit_key_per_minute=5)
    replica_1, replica_2 = Budgets(settings), Budgets(settings)
    scope = Scope(organization_id="org_1", api_key_id=f"key_{uuid.uuid4().hex}")
    try:
        spent = [await replica.spend(scope) for replica in (replica_1, replica_2) * 3]
        assert spent[:5] == [0] * 5 and spent[5] == 12  # 5 a minute: one back every 12 s
    finally:
        await replica_1.close()
        await replica_2.close()


async def test_without_redis_a_replica_counts_on_its_own():
    buckets = RedisBuckets("redis://127.0.0.1:1/0")  # nothing listens there
    budgets = Budgets(Settings(rate_limit_key_per_minute=2), buckets=buckets)
    scope = Scope(organization_id="org_1", api_key_id="key_1")
    try:
        assert [await budgets.spend(scope) for _ in range(3)] == [0, 0, 30]
    finally:
        await budgets.close()
