"""Publish/subscribe for live status: an in-memory bus and a Redis pub/sub bus.

Events are plain JSON-able dicts published on a channel. Channel names always start with the
organization (``org:<id>:...``), so a subscriber can only ever listen inside its own tenant.

Both buses fan out locally the same way: each process keeps one queue per subscriber. The
Redis bus holds one pub/sub connection per process, subscribes to a channel when its first local
subscriber arrives, decodes each message once and hands the same dict to every local queue.

Publishing is safe from any thread or event loop (the embedded worker runs on its own loop):
a queue is only ever touched on the loop that created it.

Redis pub/sub keeps nothing for a subscriber that is away: events published while Redis is down
or frozen are lost. So when the Redis bus gets its subscriptions back after a gap, it hands every
local subscriber ``RESYNC`` (see ``is_resync``); each subscription answers by re-reading the
current state from the database and sending what changed. That re-read is what makes it safe
for ``publish`` to drop events rather than wait for Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

log = logging.getLogger("weir.events")

SUBSCRIBER_QUEUE_SIZE = 1000
REDIS_PREFIX = "weir:"

# Every Redis client Weir builds gives up within seconds on a Redis that is away or frozen
# (SIGSTOP, a partition), instead of redis-py's default of ten retries of 5 s each.
REDIS_CONNECT_TIMEOUT_SECONDS = 1.0
REDIS_SOCKET_TIMEOUT_SECONDS = 2.0
REDIS_TIMEOUTS = {
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_SECONDS,
    "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
}
# How long a subscription waits for Redis to confirm it before going on without (a gap).
SUBSCRIBE_CONFIRM_SECONDS = REDIS_SOCKET_TIMEOUT_SECONDS

# What a subscriber receives after the bus lost Redis and got it back: events may have been
# missed, so re-read the current state. Never published; compare with ``is_resync``.
RESYNC: dict[str, Any] = {"type": "weir.bus.resync"}


def is_resync(event: dict[str, Any]) -> bool:
    return event is RESYNC


def redis_client(url: str, **options: Any) -> Any:
    """A ``redis.asyncio`` client with Weir's timeouts. A dropped connection (Redis restarted)
    is retried once on a fresh one; a timeout is not retried: Redis is frozen, fail now."""
    import redis.asyncio as redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    return redis.from_url(url, **{**REDIS_TIMEOUTS, "retry": retry, **options})


def sync_redis_client(url: str) -> Any:
    """The blocking client (Dramatiq's broker), with the same timeouts and retry."""
    import redis
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.retry import Retry

    retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    return redis.Redis.from_url(url, **REDIS_TIMEOUTS, retry=retry)


def channel(organization_id: str, *parts: str) -> str:
    """``channel("org_1", "workspace", "ws_2")`` -> ``"org:org_1:workspace:ws_2"``."""
    return ":".join(("org", organization_id, *parts))


class EventBus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, event: dict[str, Any]) -> None: ...

    async def publish_many(self, events: list[tuple[str, dict[str, Any]]]) -> None: ...

    def subscribe(
        self, channel: str
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]: ...

    async def ping(self) -> None: ...


class _Subscriber:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)

    def deliver(self, event: dict[str, Any]) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._put(event)
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._put, event)

    def _put(self, event: dict[str, Any]) -> None:
        if self.queue.full():
            # A subscriber that stopped reading must not stall everyone else: drop its oldest.
            self.queue.get_nowait()
            log.warning("subscriber queue full; dropped its oldest event")
        self.queue.put_nowait(event)

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.queue.get()


class _LocalFanout:
    """Channel -> subscribers of this process. Shared by both buses."""

    def __init__(self) -> None:
        self.subscribers: dict[str, set[_Subscriber]] = {}

    def add(self, name: str) -> tuple[_Subscriber, bool]:
        subscriber = _Subscriber()
        group = self.subscribers.setdefault(name, set())
        group.add(subscriber)
        return subscriber, len(group) == 1

    def remove(self, name: str, subscriber: _Subscriber) -> bool:
        group = self.subscribers.get(name, set())
        group.discard(subscriber)
        if not group:
            self.subscribers.pop(name, None)
            return True
        return False

    def deliver(self, name: str, event: dict[str, Any]) -> None:
        for subscriber in list(self.subscribers.get(name, ())):
            subscriber.deliver(event)


class InMemoryEventBus:
    """The embedded default: every publisher and subscriber lives in this one process."""

    def __init__(self) -> None:
        self._fanout = _LocalFanout()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        self._fanout.deliver(channel, event)

    async def publish_many(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        for name, event in events:
            self._fanout.deliver(name, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        subscriber, _ = self._fanout.add(channel)
        try:
            yield subscriber.events()
        finally:
            self._fanout.remove(channel, subscriber)


class RedisEventBus:
    """Events cross processes through Redis pub/sub (``WEIR_REDIS_URL``)."""

    def __init__(self, url: str, *, reconnect_delay: float = 0.5) -> None:
        self._redis = redis_client(url, decode_responses=True, health_check_interval=15)
        self._url = url
        self._fanout = _LocalFanout()
        self._pubsub: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._reconnect_delay = reconnect_delay
        self._subscribed = asyncio.Event()
        # Redis channel -> resolved when Redis confirms the SUBSCRIBE (the listener reads it).
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._broken = False  # the last resubscription failed; the listener retries it
        self._closing = False

    async def start(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="weir-redis-events")

    async def close(self) -> None:
        self._closing = True  # redis-py can swallow a cancellation mid-read: the loop checks this
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        await self._redis.aclose()

    async def ping(self) -> None:
        await self._redis.ping()

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        # Live status is best effort: the database is the truth, every subscription starts with
        # a snapshot and re-reads it after a Redis gap (``RESYNC``), so Redis being away or
        # frozen must never fail or hold up the run or request publishing. The event is dropped
        # after the client's timeouts (seconds; a dropped connection is retried once).
        try:
            await self._redis.publish(REDIS_PREFIX + channel, json.dumps(event, default=str))
        except Exception as exc:
            log.warning("event not published on %s (%s)", channel, exc.__class__.__name__)

    async def publish_many(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Publish in one round trip (a pipeline), e.g. the runs of a whole scheduler batch."""
        if not events:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for name, event in events:
                    pipe.publish(REDIS_PREFIX + name, json.dumps(event, default=str))
                await pipe.execute()
        except Exception as exc:  # dropped, as in ``publish``
            log.warning("%d event(s) not published (%s)", len(events), exc.__class__.__name__)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        await self.start()
        subscriber, first = self._fanout.add(channel)
        name = REDIS_PREFIX + channel
        try:
            if first:
                await self._ensure_pubsub()
                self._confirmations[name] = asyncio.get_running_loop().create_future()
                try:
                    await self._pubsub.subscribe(name)
                except Exception as exc:
                    # Redis is away: the subscriber starts from its snapshot all the same, and
                    # the listener subscribes every channel, then resyncs, once Redis is back.
                    log.warning("event bus cannot subscribe yet (%s)", exc.__class__.__name__)
                    self._broken = True
                    self._confirmations.pop(name, None)
            await self._confirmed(name)
            yield subscriber.events()
        finally:
            if self._fanout.remove(channel, subscriber) and self._pubsub is not None:
                self._confirmations.pop(name, None)
                with contextlib.suppress(Exception):
                    await self._pubsub.unsubscribe(name)

    async def _confirmed(self, name: str) -> None:
        """Wait until Redis has the subscription, so that an event published once the caller
        has read its snapshot cannot go out before it (SUBSCRIBE is only sent, not awaited).
        Bounded: a Redis that does not answer is a gap the listener resyncs after."""
        pending = self._confirmations.get(name)
        if pending is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pending), SUBSCRIBE_CONFIRM_SECONDS)

    async def _ensure_pubsub(self) -> None:
        if self._pubsub is None:
            self._pubsub = self._redis.pubsub()
            self._subscribed.set()

    async def _listen(self) -> None:
        while not self._closing:
            await self._subscribed.wait()
            try:
                pubsub = self._pubsub
                if not pubsub.subscribed:
                    if self._broken:
                        # A resubscription failed (Redis was still away): try again.
                        await asyncio.sleep(self._reconnect_delay)
                        await self._resubscribe()
                    else:
                        await asyncio.sleep(0.05)
                    continue
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    # A second of silence. A frozen Redis closes no connection, so ask it: a
                    # ping that times out is a gap like any other (resubscribe, then resync).
                    await self._redis.ping()
                    continue
                if message.get("type") == "subscribe":
                    pending = self._confirmations.pop(message["channel"], None)
                    if pending is not None and not pending.done():
                        pending.set_result(None)
                    continue
                if message.get("type") != "message":
                    continue
                name = message["channel"][len(REDIS_PREFIX) :]
                self._fanout.deliver(name, json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis restarted or the network blinked: resubscribe.
                log.warning("event bus lost Redis (%s); reconnecting", exc.__class__.__name__)
                await asyncio.sleep(self._reconnect_delay)
                await self._resubscribe()

    async def _resubscribe(self) -> None:
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        self._pubsub = self._redis.pubsub()
        names = list(self._fanout.subscribers)
        self._broken = False
        if names:
            try:
                await self._pubsub.subscribe(*(REDIS_PREFIX + name for name in names))
            except Exception:
                self._broken = True
                return
            log.warning("event bus has Redis back; %d channel(s) resync", len(names))
            # Whatever was published during the gap is lost: every subscriber re-reads.
            for name in names:
                self._fanout.deliver(name, RESYNC)


class SharedLookups:
    """One database read per event per process, however many local subscribers it reaches.

    Every local subscriber of a channel receives the *same* event dict, so the first one to ask
    starts the lookup and the others await the same task. Entries are keyed by the event's
    identity (held here, so the id is not reused) and the most recent ``size`` are kept.
    """

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._tasks: OrderedDict[tuple[int, int], tuple[dict[str, Any], asyncio.Task[Any]]] = OrderedDict()

    async def get(self, event: dict[str, Any], fetch: Callable[[], Awaitable[Any]]) -> Any:
        loop = asyncio.get_running_loop()
        key = (id(event), id(loop))
        found = self._tasks.get(key)
        if found is None or found[0] is not event:
            found = (event, loop.create_task(_awaited(fetch)))
            self._tasks[key] = found
            while len(self._tasks) > self.size:
                self._tasks.popitem(last=False)
        return await asyncio.shield(found[1])


async def _awaited(fetch: Callable[[], Awaitable[Any]]) -> Any:
    return await fetch()  # an ORM query set is awaitable but not a coroutine


def build_event_bus(redis_url: str | None) -> EventBus:
    return RedisEventBus(redis_url) if redis_url else InMemoryEventBus()
