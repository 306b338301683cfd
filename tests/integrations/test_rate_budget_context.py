"""Syncs, actions and the proxy get one rate budget per connection through ``connector_context``:
what one of them learns from the provider holds the others back."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from server.connections.models import Connection
from server.connectors import budget as budgets
from server.connectors.http import DEFAULT_RATE_LIMIT, ProviderRateLimited, bearer, request
from server.crypto import load_key_ring
from server.integrations import refresh
from tests.conftest import REDIS_URL, require_service
from tests.connect.conftest import acme, connect_with_oauth, provider  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
async def fresh_budgets() -> AsyncIterator[None]:
    budgets.shared.reset()
    yield
    await budgets.shared.close()
    budgets.shared.reset()


async def _contexts(acme, settings, http, *callers):  # noqa: F811 (acme is the fixture's value)
    session = await connect_with_oauth(acme, endUserExternalId="u1")
    connection = await Connection.get(id=session["connectionId"])
    key_ring = load_key_ring(settings)
    return connection, [
        await refresh.connector_context(
            settings=settings, key_ring=key_ring, connection=connection, http=http, bus=None, caller=caller
        )
        for caller in callers
    ]


async def test_every_caller_of_a_connection_shares_its_budget(acme, provider, settings):  # noqa: F811
    sent: list[str] = []

    async def count(request: httpx.Request) -> None:
        sent.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [count]}) as http:
        connection, (sync, proxy, action) = await _contexts(acme, settings, http, "sync", "proxy", "action")
        assert (sync.caller, proxy.caller, action.caller) == ("sync", "proxy", "action")
        assert sync.connection_id == proxy.connection_id == connection.id
        assert sync.budget is proxy.budget is action.budget is budgets.shared.local
        me = f"{provider.base_url}/api/me"
        answer = await request(proxy, "GET", me, auth=bearer("access_token"))
        assert answer.json()["login"] == "emulated-user"
        # A sync's call is told to slow down for 30 s: the proxy and actions are held too.
        assert sync.budget is not None
        await sync.budget.after_call(
            connection.id, 429, httpx.Headers({"Retry-After": "30"}), DEFAULT_RATE_LIMIT
        )
        before = len(sent)
        for context in (proxy, action):
            with pytest.raises(ProviderRateLimited) as raised:
                await request(context, "GET", me, auth=bearer("access_token"))
            assert raised.value.retry_after == 30
        assert len(sent) == before  # refused here, never sent to the provider


async def test_with_redis_the_budget_is_shared_through_it(acme, provider, settings):  # noqa: F811
    require_service("Redis", REDIS_URL, 6379, "WEIR_TEST_REDIS_URL")
    settings = dataclasses.replace(settings, redis_url=REDIS_URL)
    async with httpx.AsyncClient() as http:
        connection, (sync, proxy) = await _contexts(acme, settings, http, "sync", "proxy")
        assert isinstance(sync.budget, budgets.RedisBudget) and sync.budget is proxy.budget
        # Another process (its own client on the same Redis) learns the connection is blocked.
        other = budgets.RedisBudget(REDIS_URL)
        try:
            await other.after_call(
                connection.id, 429, httpx.Headers({"Retry-After": "20"}), DEFAULT_RATE_LIMIT
            )
        finally:
            await other.close()
        with pytest.raises(ProviderRateLimited) as raised:
            await request(proxy, "GET", f"{provider.base_url}/api/me", auth=bearer("access_token"))
        assert raised.value.retry_after == 20
