"""The rate budget per connection: what it learns from answers, who waits, who is refused, and
the same rules through Redis (every behaviour runs on both the local and the Redis budget)."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from server.connectors import budget as budgets
from server.connectors.base import ConnectorContext
from server.connectors.budget import LocalBudget, RedisBudget
from server.connectors.http import ProviderRateLimited, RateLimitHeaders, RetryPolicy, request
from tests.conftest import REDIS_URL, require_service
from tests.emulators.rest_api import LIMIT, REMAINING, RESET, TOKEN, RestApiEmulator

START = 1_764_000_000.0  # a whole second, so every reset kind can name it exactly


class FakeTime:
    """A clock and a sleep that moves it, so a 60 s wait takes no time; ``slept`` lists waits."""

    def __init__(self) -> None:
        self.now = START
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture(params=["local", "redis"])
async def budget(
    request: pytest.FixtureRequest, fake_time: FakeTime
) -> AsyncIterator[LocalBudget | RedisBudget]:
    if request.param == "local":
        yield LocalBudget(clock=fake_time.clock, sleep=fake_time.sleep)
        return
    require_service("Redis", REDIS_URL, 6379, "WEIR_TEST_REDIS_URL")
    remote = RedisBudget(REDIS_URL, clock=fake_time.clock, sleep=fake_time.sleep)
    yield remote
    await remote.close()


@pytest.fixture
def key() -> str:
    return f"conn_test{uuid.uuid4().hex}"


def headers(**values: object) -> httpx.Headers:
    names = {"remaining": "X-RateLimit-Remaining", "limit": "X-RateLimit-Limit", "reset": "X-RateLimit-Reset"}
    return httpx.Headers(
        {names.get(name, name.replace("_", "-")): str(value) for name, value in values.items()}
    )


async def refused(budget: LocalBudget | RedisBudget, key: str, caller: str) -> float:
    """The ``retry_after`` of the refusal ``caller`` gets (fails when it is let through)."""
    with pytest.raises(ProviderRateLimited) as raised:
        await budget.before_call(key, caller)
    assert raised.value.retry_after is not None
    return raised.value.retry_after


# -- learning ------------------------------------------------------------------------------------


def reset_header(kind: str, moment: float) -> str:
    return {
        "epoch_seconds": str(int(moment)),
        "epoch_millis": str(int(moment * 1000)),
        "seconds": str(int(moment - START)),
        "iso8601": datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z"),
        "http_date": format_datetime(datetime.fromtimestamp(moment, UTC), usegmt=True),
    }[kind]


@pytest.mark.parametrize("kind", ["epoch_seconds", "epoch_millis", "seconds", "iso8601", "http_date"])
async def test_remaining_limit_and_reset_are_learned_for_each_reset_kind(budget, key, fake_time, kind):
    names = RateLimitHeaders(reset_kind=kind)
    answer = headers(remaining=5, limit=50, reset=reset_header(kind, START + 30))
    await budget.after_call(key, 200, answer, names)
    # 5 left of 50: inside the reserve (5), so the proxy is told to come back at the reset...
    assert await refused(budget, key, "proxy") == 30
    await budget.before_call(key, "sync")  # ...while a sync goes on
    # The state ends at the reset: a new window, nothing known, nobody is held.
    fake_time.now = START + 30
    await budget.before_call(key, "proxy")
    assert fake_time.slept == []


async def test_without_a_limit_header_the_highest_remaining_stands_in_for_it(budget, key, fake_time):
    await budget.after_call(key, 200, headers(remaining=100, reset=int(START + 60)), RateLimitHeaders())
    await budget.after_call(key, 200, headers(remaining=10, reset=int(START + 60)), RateLimitHeaders())
    assert await refused(budget, key, "action") == 60  # reserve: 10% of 100


async def test_answers_without_rate_limit_headers_mean_no_limit(budget, key, fake_time):
    for _ in range(3):
        await budget.after_call(
            key, 200, httpx.Headers({"content-type": "application/json"}), RateLimitHeaders()
        )
    for caller in ("sync", "action", "proxy", "check"):
        await budget.before_call(key, caller)
    assert fake_time.slept == []


async def test_an_older_answer_does_not_give_back_units_within_a_window(budget, key, fake_time):
    reset = int(START + 60)
    await budget.after_call(key, 200, headers(remaining=12, limit=100, reset=reset), RateLimitHeaders())
    await budget.after_call(key, 200, headers(remaining=40, limit=100, reset=reset), RateLimitHeaders())
    # Still 12 left: two calls before the reserve (10) refuses the proxy.
    await budget.before_call(key, "proxy")
    await budget.before_call(key, "proxy")
    assert await refused(budget, key, "proxy") == 60
    # A later reset is a new window: its count is believed.
    await budget.after_call(key, 200, headers(remaining=90, limit=100, reset=reset + 60), RateLimitHeaders())
    await budget.before_call(key, "proxy")


# -- who waits, who is refused -------------------------------------------------------------------


async def test_a_429_holds_every_caller_until_retry_after(budget, key, fake_time):
    await budget.after_call(key, 429, httpx.Headers({"Retry-After": "5"}), RateLimitHeaders())
    for caller in ("proxy", "action", "check"):
        assert await refused(budget, key, caller) == 5
    await budget.before_call(key, "sync")  # a sync waits the 5 s out
    assert fake_time.slept == [5]
    await budget.before_call(key, "proxy")  # and then everyone goes


async def test_remaining_zero_with_a_reset_holds_every_caller(budget, key, fake_time):
    await budget.after_call(
        key, 200, headers(remaining=0, limit=100, reset=int(START + 20)), RateLimitHeaders()
    )
    assert await refused(budget, key, "check") == 20
    await budget.before_call(key, "sync")
    assert fake_time.slept == [20]


async def test_the_reserve_refuses_proxy_and_action_calls_but_not_syncs(budget, key, fake_time):
    await budget.after_call(
        key, 200, headers(remaining=11, limit=100, reset=int(START + 45)), RateLimitHeaders()
    )
    await budget.before_call(key, "proxy")  # 11 -> 10: the reserve
    assert await refused(budget, key, "proxy") == 45
    assert await refused(budget, key, "action") == 45
    for _ in range(10):  # the reserve is the syncs' (and a check's): all ten units
        await budget.before_call(key, "sync")
    assert await refused(budget, key, "check") == 45  # now nothing is left for anyone
    await budget.before_call(key, "sync")  # a sync waits for the reset
    assert fake_time.slept == [45]


async def test_waits_are_bounded_by_what_each_caller_may_wait(budget, key, fake_time):
    await budget.after_call(key, 429, httpx.Headers({"Retry-After": "2"}), RateLimitHeaders())
    await budget.before_call(key, "proxy")  # 2 s: an interactive caller may wait that long
    assert fake_time.slept == [2]
    await budget.after_call(key, 429, httpx.Headers({"Retry-After": "3"}), RateLimitHeaders())
    assert await refused(budget, key, "proxy") == 3  # too long: told to retry, not held
    await budget.after_call(key, 429, httpx.Headers({"Retry-After": "61"}), RateLimitHeaders())
    assert await refused(budget, key, "sync") == 61  # a sync waits a minute at most
    assert fake_time.slept == [2]


async def test_concurrent_callers_each_spend_a_unit(budget, key, fake_time):
    await budget.after_call(
        key, 200, headers(remaining=15, limit=100, reset=int(START + 60)), RateLimitHeaders()
    )
    results = await asyncio.gather(
        *(budget.before_call(key, "proxy") for _ in range(20)), return_exceptions=True
    )
    assert sum(result is None for result in results) == 5  # 15 down to the reserve of 10
    assert all(isinstance(result, ProviderRateLimited) for result in results if result is not None)


async def test_a_daylong_retry_after_is_capped(budget, key, fake_time):
    await budget.after_call(key, 429, httpx.Headers({"Retry-After": "99999999999"}), RateLimitHeaders())
    assert await refused(budget, key, "sync") == budgets.MAX_HORIZON


# -- Redis -----------------------------------------------------------------------------------------


async def test_two_budgets_on_one_redis_share_what_they_learn(key, fake_time):
    require_service("Redis", REDIS_URL, 6379, "WEIR_TEST_REDIS_URL")
    api = RedisBudget(REDIS_URL, clock=fake_time.clock, sleep=fake_time.sleep)
    worker = RedisBudget(REDIS_URL, clock=fake_time.clock, sleep=fake_time.sleep)
    try:
        await worker.after_call(
            key, 200, headers(remaining=2, limit=20, reset=int(START + 30)), RateLimitHeaders()
        )
        assert await refused(api, key, "proxy") == 30  # the API process sees the worker's answer
        await api.before_call(key, "sync")
        await worker.before_call(key, "sync")  # two units spent across both: none left
        assert await refused(worker, key, "check") == 30
        stored = await api._redis.hgetall(budgets.REDIS_PREFIX + key)
        assert float(stored["remaining"]) == 0 and float(stored["reset_at"]) == START + 30
    finally:
        await api.close()
        await worker.close()


async def test_the_redis_hash_expires_at_the_reset(key):
    require_service("Redis", REDIS_URL, 6379, "WEIR_TEST_REDIS_URL")
    remote = RedisBudget(REDIS_URL)  # the real clock: the TTL is a real one
    try:
        reset = math.ceil(remote.clock()) + 30
        await remote.after_call(key, 200, headers(remaining=50, limit=100, reset=reset), RateLimitHeaders())
        ttl = await remote._redis.pttl(budgets.REDIS_PREFIX + key)
        assert 28_000 < ttl <= 32_000
    finally:
        await remote._redis.delete(budgets.REDIS_PREFIX + key)
        await remote.close()


async def test_with_redis_down_the_local_budget_answers_and_says_so_once(key, fake_time, caplog):
    down = RedisBudget("redis://127.0.0.1:1/0", clock=fake_time.clock, sleep=fake_time.sleep)
    try:
        with caplog.at_level(logging.WARNING, logger="weir.rate_budget"):
            await down.before_call(key, "proxy")  # nothing known: goes
            await down.after_call(key, 429, httpx.Headers({"Retry-After": "30"}), RateLimitHeaders())
            assert await refused(down, key, "proxy") == 30  # learned locally all the same
            assert await refused(down, key, "action") == 30
        warnings = [r for r in caplog.records if r.name == "weir.rate_budget"]
        assert len(warnings) == 1 and "fall back" in warnings[0].getMessage()
    finally:
        await down.close()


def test_the_shared_budget_is_one_per_process_without_redis_and_one_per_loop_with_it():
    shared = budgets.SharedBudgets()

    async def pick() -> tuple[object, object, object]:
        picked = shared.for_url(None), shared.for_url(REDIS_URL), shared.for_url(REDIS_URL)
        await shared.close()
        return picked

    first = asyncio.run(pick())
    other: list[tuple[object, object, object]] = []
    thread = threading.Thread(target=lambda: other.append(asyncio.run(pick())))  # the worker's loop
    thread.start()
    thread.join()
    local, remote, again = first
    assert local is other[0][0] is shared.local  # one local budget: the API and worker loops share it
    assert remote is again and remote is not other[0][1]  # a Redis client per loop
    assert isinstance(remote, RedisBudget) and remote.local is shared.local
    shared.local.learn_now("conn_x", budgets.Observation(blocked_until=1e18))
    shared.reset()
    assert shared.local.window("conn_x") is None


# -- through http.request, against an emulated provider with a quota ----------------------------

QUOTA = RateLimitHeaders(remaining=REMAINING, reset=RESET, limit=LIMIT, reset_kind="epoch_seconds")
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02, max_wait=60)


@pytest.fixture
async def provider(serve_emulator) -> RestApiEmulator:
    emulator = RestApiEmulator(items=3)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def call(context: ConnectorContext, provider: RestApiEmulator, names: RateLimitHeaders = QUOTA):
    url = f"{provider.url}/bearer/offset"  # type: ignore[attr-defined]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    return request(context, "GET", url, headers=auth, rate_limit=names, policy=FAST)


def contexts(http: httpx.AsyncClient, budget: LocalBudget, key: str, *callers: str) -> list[ConnectorContext]:
    return [
        ConnectorContext(http=http, base_url=None, connection_id=key, caller=caller, budget=budget)
        for caller in callers
    ]


async def test_a_burst_of_proxy_calls_stops_before_the_quota_so_a_sync_still_gets_through(
    provider, http, key
):
    provider.controls.quota = 20  # reserve: 2
    budget = LocalBudget()
    proxy, sync = contexts(http, budget, key, "proxy", "sync")
    await call(proxy, provider)  # the first answer teaches the budget the window
    results = await asyncio.gather(*(call(proxy, provider) for _ in range(30)), return_exceptions=True)
    sent = [r for r in results if isinstance(r, httpx.Response)]
    refusals = [r for r in results if isinstance(r, ProviderRateLimited)]
    assert len(sent) + len(refusals) == 30 and len(sent) == 17  # 19 left, 2 kept back
    assert all(r.retry_after and 0 < r.retry_after <= 61 for r in refusals)
    assert provider.controls.over_quota == 0  # the provider never had to refuse anyone
    answer = await call(sync, provider)
    assert answer.status_code == 200 and answer.headers[REMAINING] == "1"
    assert provider.controls.over_quota == 0


@pytest.mark.parametrize("kind", ["epoch_seconds", "epoch_millis", "seconds", "iso8601", "http_date"])
async def test_request_learns_the_window_from_each_reset_kind(provider, http, key, kind):
    provider.controls.quota, provider.controls.quota_window = 10, 30
    provider.controls.reset_kind = kind
    budget = LocalBudget()
    (proxy,) = contexts(http, budget, key, "proxy")
    for _ in range(9):  # the reserve of 10 is 1: nine calls, then refused
        await call(
            proxy, provider, RateLimitHeaders(remaining=REMAINING, reset=RESET, limit=LIMIT, reset_kind=kind)
        )
    with pytest.raises(ProviderRateLimited) as raised:
        await call(
            proxy, provider, RateLimitHeaders(remaining=REMAINING, reset=RESET, limit=LIMIT, reset_kind=kind)
        )
    assert raised.value.retry_after is not None and 25 <= raised.value.retry_after <= 31
    assert len(provider.controls.calls) == 9


async def test_a_429_from_the_provider_holds_the_connection_s_other_callers(provider, http, key):
    provider.controls.rate_limited = 1  # one 429 with Retry-After: 1
    held = asyncio.Event()

    async def sleep(seconds: float) -> None:
        held.set()
        await asyncio.sleep(seconds)

    budget = LocalBudget(sleep=sleep)
    proxy, check = contexts(http, budget, key, "proxy", "check")
    first = asyncio.create_task(call(proxy, provider))  # gets the 429, waits 1 s, retries
    await held.wait()
    with pytest.raises(ProviderRateLimited) as raised:  # a check may not wait: refused unsent
        await call(check, provider)
    assert raised.value.retry_after == 1
    assert (await first).status_code == 200
    assert len(provider.controls.calls) == 2  # the 429 and the retry; the check never went


async def test_request_without_a_connection_id_does_not_use_the_budget(provider, http):
    budget = LocalBudget()
    budget.learn_now("conn_other", budgets.Observation(blocked_until=1e18))
    context = ConnectorContext(http=http, base_url=None, caller="check", budget=budget)
    assert (await call(context, provider)).status_code == 200
