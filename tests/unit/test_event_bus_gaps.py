"""The Redis event bus across a Redis gap (issue 16, items 4 and 5): a Redis of the test's own
is stopped, started again or frozen (SIGSTOP); subscribers get ``RESYNC`` once it is back, and
nothing waits on a frozen Redis longer than the client's timeouts."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.events import REDIS_SOCKET_TIMEOUT_SECONDS, RedisEventBus, channel, is_resync
from tests.scaleout.cluster import OwnRedis

# Generous bounds for a shared 2-CPU machine; the figures are printed.
BACK_BOUND_SECONDS = 5.0
FROZEN_CALL_BOUND_SECONDS = 2 * REDIS_SOCKET_TIMEOUT_SECONDS + 2.0


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[OwnRedis]:
    own = OwnRedis(tmp_path)
    own.start()
    try:
        yield own
    finally:
        if own.process is not None:
            own.thaw()
        own.stop()


async def next_event(events: AsyncIterator[dict[str, Any]], timeout: float) -> dict[str, Any]:
    return await asyncio.wait_for(events.__anext__(), timeout)


async def wait_for_delivery(
    publisher: RedisEventBus, name: str, events: AsyncIterator[dict[str, Any]], marker: dict[str, Any]
) -> None:
    """Publish ``marker`` until it arrives (a subscription is live only once Redis confirmed it)."""
    deadline = time.monotonic() + BACK_BOUND_SECONDS
    while True:
        await publisher.publish(name, marker)
        try:
            event = await next_event(events, 0.3)
        except TimeoutError:
            assert time.monotonic() < deadline, "the subscription never received an event"
            continue
        if event == marker:
            return


async def test_after_a_redis_restart_every_subscriber_gets_resync_then_events_again(redis: OwnRedis) -> None:
    api, worker = RedisEventBus(redis.url), RedisEventBus(redis.url)
    first, second = channel(f"org_{uuid.uuid4().hex}", "runs"), channel(f"org_{uuid.uuid4().hex}", "syncs")
    try:
        async with api.subscribe(first) as runs, api.subscribe(second) as syncs:
            await wait_for_delivery(worker, first, runs, {"n": 0})
            redis.stop()
            await worker.publish(first, {"lost": True})  # dropped, and said so: never raises
            await asyncio.sleep(1.0)
            back = time.monotonic()
            redis.start()  # returns once the port is open
            assert is_resync(await next_event(runs, BACK_BOUND_SECONDS))
            took = time.monotonic() - back
            assert is_resync(await next_event(syncs, BACK_BOUND_SECONDS))
            print(f"\nresync {took:.2f} s after redis-server was started again")
            await worker.publish(first, {"n": 1})
            assert await next_event(runs, BACK_BOUND_SECONDS) == {"n": 1}
    finally:
        await api.close()
        await worker.close()


async def test_a_subscription_opened_while_redis_is_down_resyncs_when_it_returns(redis: OwnRedis) -> None:
    api, worker = RedisEventBus(redis.url), RedisEventBus(redis.url)
    name = channel(f"org_{uuid.uuid4().hex}", "runs")
    redis.stop()
    try:
        async with api.subscribe(name) as events:  # opens: the caller reads its snapshot
            redis.start()
            assert is_resync(await next_event(events, BACK_BOUND_SECONDS))
            await worker.publish(name, {"n": 1})
            assert await next_event(events, BACK_BOUND_SECONDS) == {"n": 1}
    finally:
        await api.close()
        await worker.close()


async def test_a_frozen_redis_costs_publish_and_ping_seconds_and_subscribers_resync_after(
    redis: OwnRedis,
) -> None:
    api, worker = RedisEventBus(redis.url), RedisEventBus(redis.url)
    name = channel(f"org_{uuid.uuid4().hex}", "runs")
    try:
        async with api.subscribe(name) as events:
            await wait_for_delivery(worker, name, events, {"n": 0})
            redis.freeze()
            started = time.monotonic()
            await worker.publish(name, {"lost": True})
            publish_took = time.monotonic() - started
            started = time.monotonic()
            with pytest.raises(Exception):  # noqa: B017 -- redis-py's TimeoutError or ConnectionError
                await worker.ping()
            ping_took = time.monotonic() - started
            print(f"\nfrozen Redis: publish gave up after {publish_took:.2f} s, ping after {ping_took:.2f} s")
            assert publish_took < FROZEN_CALL_BOUND_SECONDS
            assert ping_took < FROZEN_CALL_BOUND_SECONDS

            await asyncio.sleep(2 * REDIS_SOCKET_TIMEOUT_SECONDS)  # the listener notices the freeze
            redis.thaw()
            back = time.monotonic()
            while True:  # events held in the frozen server may arrive first; then RESYNC
                event = await next_event(events, BACK_BOUND_SECONDS + 2 * REDIS_SOCKET_TIMEOUT_SECONDS)
                if is_resync(event):
                    break
            print(f"resync {time.monotonic() - back:.2f} s after Redis thawed")
            await worker.publish(name, {"n": 1})
            while (event := await next_event(events, BACK_BOUND_SECONDS)) != {"n": 1}:
                assert is_resync(event) or event == {"n": 0}, event
    finally:
        await api.close()
        await worker.close()
