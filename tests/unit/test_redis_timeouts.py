"""Every Redis client Weir builds gives up on a frozen Redis (SIGSTOP) within its timeouts
(issue 16, item 5): the request budgets, Dramatiq's broker client and the scheduler's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.exceptions

from server.config import Settings
from server.events import REDIS_SOCKET_TIMEOUT_SECONDS, sync_redis_client
from server.scope import Scope
from server.syncs import queue
from server.web.budgets import Budgets, RedisBuckets
from server.worker.broker import build_broker
from tests.scaleout.cluster import OwnRedis

BOUND_SECONDS = 2 * REDIS_SOCKET_TIMEOUT_SECONDS + 2.0  # generous; figures printed


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[OwnRedis]:
    own = OwnRedis(tmp_path)
    own.start()
    try:
        yield own
    finally:
        own.thaw()
        own.stop()


async def test_request_budgets_wait_on_a_frozen_redis_once_then_count_locally(frozen: OwnRedis) -> None:
    buckets = RedisBuckets(frozen.url)
    budgets = Budgets(Settings(rate_limit_key_per_minute=2), buckets=buckets)
    scope = Scope(organization_id="org_1", api_key_id="key_frozen")
    try:
        assert await budgets.spend(scope) == 0  # through Redis
        frozen.freeze()
        took = []
        for _ in range(3):
            started = time.monotonic()
            await budgets.spend(scope)
            took.append(time.monotonic() - started)
        print(f"\nrequest budget with Redis frozen: {', '.join(f'{t:.2f}' for t in took)} s")
        assert took[0] < BOUND_SECONDS
        assert max(took[1:]) < 0.5  # Redis is known to be away: straight to the local buckets
    finally:
        frozen.thaw()
        await budgets.close()


@pytest.mark.parametrize("build", ["worker", "scheduler"])
def test_dramatiq_brokers_fail_fast_on_a_frozen_redis(frozen: OwnRedis, build: str) -> None:
    if build == "worker":
        client = build_broker(Settings(redis_url=frozen.url)).client  # type: ignore[attr-defined]
    else:
        previous = queue._broker
        client = queue.use_redis(frozen.url).client  # type: ignore[attr-defined]
        queue.use_broker(previous)
    assert client.ping()
    frozen.freeze()
    started = time.monotonic()
    with pytest.raises(redis.exceptions.RedisError):
        client.ping()
    took = time.monotonic() - started
    print(f"\n{build} broker's ping on a frozen Redis gave up after {took:.2f} s")
    assert took < BOUND_SECONDS


def test_the_blocking_client_retries_a_dropped_connection_once(frozen: OwnRedis) -> None:
    client = sync_redis_client(frozen.url)
    assert client.ping()
    frozen.stop()
    frozen.start()  # the pooled connection is dead; one retry on a fresh one succeeds
    assert client.ping()
