"""Credential checks are limited per connection and per connect session: concurrent checks of
one connection share one provider call, and each has a budget of checks a minute."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.config import Settings
from server.connections.check_limits import CheckLimiter
from server.errors import RateLimited
from tests.conftest import client_for, make_tenant
from tests.emulators import openai as openai_emulator
from tests.emulators.common import serve

CREATE = """mutation($i: CreateConnectionInput!) { createConnection(input: $i) { id } }"""
TEST_ONE = "mutation($id: ID!) { testConnection(id: $id) { ok message } }"


class SlowOpenAI:
    """The OpenAI emulator behind a delay (so checks overlap), counting every request."""

    def __init__(self, delay: float = 0.3) -> None:
        self.emulator = openai_emulator.OpenAIEmulator()
        self.delay = delay
        self.in_flight = self.most_in_flight = 0

    @property
    def requests(self) -> int:
        return len(self.emulator.controls.calls)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.emulator.app(scope, receive, send)
            return
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            await self.emulator.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def _aliased(count: int) -> str:
    fields = " ".join(f"t{n}: testConnection(id: $id) {{ ok message }}" for n in range(count))
    return f"mutation($id: ID!) {{ {fields} }}"


async def _openai_connection(tenant: Any) -> str:
    created = await tenant.data(
        CREATE,
        {
            "i": {
                "workspaceId": tenant.workspace_id,
                "integrationName": "openai",
                "scope": "WORKSPACE",
                "authType": "SECRET_TEXT",
                "secretText": openai_emulator.KEY,
            }
        },
    )
    return created["createConnection"]["id"]


@pytest.fixture
async def provider() -> Any:
    slow = SlowOpenAI()
    async with serve(slow) as url:
        slow.url = url  # type: ignore[attr-defined]
        yield slow


async def test_thirty_aliased_checks_of_one_connection_make_one_provider_call(
    database: Settings, provider: SlowOpenAI
) -> None:
    settings = database.replace(connector_base_urls={"openai": provider.url})
    async with client_for(settings) as http:
        tenant = await make_tenant(http, "Acme")
        connection_id = await _openai_connection(tenant)
        before = provider.requests

        body = await tenant.graphql(_aliased(30), {"id": connection_id})

    assert "errors" not in body, body["errors"]
    assert all(result["ok"] for result in body["data"].values())
    assert len(body["data"]) == 30
    assert provider.requests - before == 1


async def test_concurrent_checks_from_separate_requests_share_one_provider_call(
    database: Settings, provider: SlowOpenAI
) -> None:
    settings = database.replace(connector_base_urls={"openai": provider.url}, checks_reuse_seconds=0)
    async with client_for(settings) as http:
        tenant = await make_tenant(http, "Acme")
        connection_id = await _openai_connection(tenant)
        before = provider.requests

        bodies = await asyncio.gather(*[tenant.graphql(TEST_ONE, {"id": connection_id}) for _ in range(8)])

    assert all(body["data"]["testConnection"]["ok"] for body in bodies)
    assert provider.requests - before == 1 and provider.most_in_flight == 1


async def test_checks_beyond_the_budget_are_rate_limited_with_retry_after(
    database: Settings, provider: SlowOpenAI
) -> None:
    provider.delay = 0
    settings = database.replace(
        connector_base_urls={"openai": provider.url}, checks_per_minute=3, checks_reuse_seconds=0
    )
    async with client_for(settings) as http:
        tenant = await make_tenant(http, "Acme")
        first, second = await _openai_connection(tenant), await _openai_connection(tenant)
        before = provider.requests
        answers = [await tenant.graphql(TEST_ONE, {"id": first}) for _ in range(5)]
        other = await tenant.graphql(TEST_ONE, {"id": second})

    assert [bool(a.get("errors")) for a in answers] == [False, False, False, True, True]
    error = answers[3]["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= error["extensions"]["retryAfter"] <= 60
    assert "at most 3 a minute" in error["message"]
    assert other["data"]["testConnection"]["ok"]  # each connection has its own budget
    assert provider.requests - before == 4


async def test_another_organization_cannot_spend_a_connections_budget(
    database: Settings, provider: SlowOpenAI
) -> None:
    provider.delay = 0
    settings = database.replace(
        connector_base_urls={"openai": provider.url}, checks_per_minute=1, checks_reuse_seconds=0
    )
    async with client_for(settings) as http:
        owner = await make_tenant(http, "Acme")
        stranger = await make_tenant(http, "Globex")
        connection_id = await _openai_connection(owner)
        probes = [await stranger.graphql(TEST_ONE, {"id": connection_id}) for _ in range(3)]
        mine = await owner.graphql(TEST_ONE, {"id": connection_id})

    assert {p["errors"][0]["extensions"]["code"] for p in probes} == {"NOT_FOUND"}
    assert mine["data"]["testConnection"]["ok"]


# -- the limiter itself ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_budget_slides_with_the_window() -> None:
    clock = Clock()
    limiter = CheckLimiter(per_minute=2, reuse_seconds=0, clock=clock)

    async def check() -> str:
        return "ok"

    assert await limiter.run("connection:a", check) == "ok"
    clock.now += 30
    assert await limiter.run("connection:a", check) == "ok"
    with pytest.raises(RateLimited) as refused:
        await limiter.run("connection:a", check)
    assert refused.value.retry_after == 30
    assert refused.value.extensions() == {"code": "RATE_LIMITED", "retryAfter": 30}
    clock.now += 30  # the first check left the window
    assert await limiter.run("connection:a", check) == "ok"
    assert await limiter.run("connection:b", check) == "ok"


async def test_concurrent_callers_share_one_check_and_its_failure() -> None:
    limiter = CheckLimiter(per_minute=1)
    started = 0
    release = asyncio.Event()

    async def check() -> str:
        nonlocal started
        started += 1
        await release.wait()
        raise ConnectionError("provider down")

    waiters = [asyncio.ensure_future(limiter.run("connection:a", check)) for _ in range(5)]
    await asyncio.sleep(0)
    waiters[0].cancel()  # one caller leaving does not cancel the others' check
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)

    assert started == 1
    assert isinstance(results[0], asyncio.CancelledError)
    assert all(isinstance(r, ConnectionError) for r in results[1:])


async def test_a_result_is_reused_briefly_for_the_same_credentials_only() -> None:
    clock = Clock()
    limiter = CheckLimiter(per_minute=2, reuse_seconds=5, clock=clock)
    calls: list[str] = []

    def check(label: str) -> Any:
        async def run() -> str:
            calls.append(label)
            return label

        return run

    assert await limiter.run("connection:a", check("first"), version="v1") == "first"
    assert await limiter.run("connection:a", check("again"), version="v1") == "first"
    assert await limiter.run("connection:a", check("new key"), version="v2") == "new key"
    clock.now += 5
    with pytest.raises(RateLimited):  # two checks started this minute; reuse has expired
        await limiter.run("connection:a", check("late"), version="v2")
    assert calls == ["first", "new key"]


async def test_a_zero_budget_keeps_single_flight_only() -> None:
    limiter = CheckLimiter(per_minute=0)

    async def check() -> int:
        return 1

    assert [await limiter.run("connection:a", check) for _ in range(100)] == [1] * 100
