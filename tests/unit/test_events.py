"""The event bus: in-memory and Redis backends behave the same."""

import asyncio
import threading
import uuid

import pytest

from server.events import REDIS_PREFIX, InMemoryEventBus, RedisEventBus, channel, redis_client
from tests.conftest import REDIS_URL, require_service


@pytest.fixture(params=["memory", "redis"])
async def bus(request):
    if request.param == "memory":
        instance = InMemoryEventBus()
    else:
        require_service("Redis", REDIS_URL, 6379, "WEIR_TEST_REDIS_URL")
        instance = RedisEventBus(REDIS_URL)
    await instance.start()
    yield instance
    await instance.close()


async def next_event(events, timeout=3.0):
    return await asyncio.wait_for(events.__anext__(), timeout)


async def test_a_subscriber_receives_events_of_its_channel_only(bus):
    mine = channel(f"org_{uuid.uuid4().hex}", "workspace", "ws_1")
    theirs = channel(f"org_{uuid.uuid4().hex}", "workspace", "ws_1")
    async with bus.subscribe(mine) as events:
        await asyncio.sleep(0.2)
        await bus.publish(theirs, {"n": 0})
        await bus.publish(mine, {"n": 1})
        await bus.publish(mine, {"n": 2})
        assert await next_event(events) == {"n": 1}
        assert await next_event(events) == {"n": 2}


async def test_every_subscriber_of_a_channel_gets_the_event(bus):
    name = channel(f"org_{uuid.uuid4().hex}", "syncs")
    async with bus.subscribe(name) as first, bus.subscribe(name) as second:
        await asyncio.sleep(0.2)
        await bus.publish(name, {"status": "RUNNING"})
        assert await next_event(first) == {"status": "RUNNING"}
        assert await next_event(second) == {"status": "RUNNING"}


async def test_publishing_from_another_thread_and_loop_reaches_the_subscriber():
    bus = InMemoryEventBus()
    name = channel("org_x", "runs")
    async with bus.subscribe(name) as events:
        thread = threading.Thread(target=lambda: asyncio.run(bus.publish(name, {"from": "worker"})))
        thread.start()
        thread.join()
        assert await next_event(events) == {"from": "worker"}


async def test_redis_carries_events_between_two_processes_buses():
    require_service("Redis", REDIS_URL, 6379, "WEIR_TEST_REDIS_URL")
    api, worker = RedisEventBus(REDIS_URL), RedisEventBus(REDIS_URL)
    name = channel(f"org_{uuid.uuid4().hex}", "runs")
    try:
        async with api.subscribe(name) as events:
            # No pause: the subscription is confirmed by Redis before it is handed out.
            async with redis_client(REDIS_URL, decode_responses=True) as redis:
                assert await redis.pubsub_numsub(REDIS_PREFIX + name) == [(REDIS_PREFIX + name, 1)]
            await worker.publish(name, {"rows": 10})
            assert await next_event(events) == {"rows": 10}
    finally:
        await api.close()
        await worker.close()
