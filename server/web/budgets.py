"""Request budgets: how much one API key or one connect token may ask of Weir per minute.

Every GraphQL request over HTTP and every operation (``subscribe``) over WebSocket spends one
unit of its credential's budget: ``WEIR_RATE_LIMIT_KEY_PER_MINUTE`` for an API key,
``WEIR_RATE_LIMIT_CONNECT_TOKEN_PER_MINUTE`` for a connect token (0 turns one off). A budget is
a token bucket holding a minute's worth, refilled continuously, so a client may burst up to its
whole minute and then goes at the steady rate. Over budget, HTTP answers 429 with
``Retry-After`` and a WebSocket operation ends with one ``error`` message; both carry
``extensions.code`` ``RATE_LIMITED`` and ``retryAfter`` (whole seconds until one unit is back).

With ``WEIR_REDIS_URL`` the buckets live in Redis (one atomic script per request, on Redis's
clock), so a key's budget is the same however many API replicas share the load. Without Redis
(the embedded default, one process) they live in this process. If Redis cannot be reached, a
replica falls back to its own buckets rather than refusing or waving everyone through.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from server.config import Settings
from server.connect.service import ConnectScope
from server.events import redis_client
from server.scope import Scope

log = logging.getLogger("weir.budgets")

REDIS_PREFIX = "weir:budget:"
# Buckets kept per process; the least recently used go first (a full bucket is no loss).
MAX_LOCAL_BUCKETS = 100_000

# KEYS[1] the bucket; ARGV[1] its capacity (the per-minute budget). Returns, as a string (Redis
# truncates Lua numbers to integers), 0 when a unit was spent, else the seconds until one is back.
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = capacity / 60
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(now - at, 0) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 61)
return tostring(wait)
"""


class LocalBuckets:
    """Token buckets in this process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def take(self, key: str, capacity: int) -> float:
        return self.take_now(key, capacity)

    def take_now(self, key: str, capacity: int) -> float:
        """Spend one unit of ``key``'s bucket: 0 if there was one, else seconds until there is."""
        now = self.clock()
        tokens, at = self._buckets.pop(key, (float(capacity), now))
        rate = capacity / 60
        tokens = min(float(capacity), tokens + max(now - at, 0.0) * rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > MAX_LOCAL_BUCKETS:
            self._buckets.popitem(last=False)
        return wait


class RedisBuckets:
    """Token buckets shared by every process through Redis, with local ones as a fallback."""

    def __init__(self, url: str, *, fallback: LocalBuckets | None = None) -> None:
        # Short timeouts: a request waits on a frozen Redis for a second at most, and only the
        # first request of each ``RETRY_SECONDS`` does; the others go straight to the fallback.
        self._redis = redis_client(url, decode_responses=True, socket_connect_timeout=0.5, socket_timeout=1.0)
        self._take = self._redis.register_script(_TAKE)
        self.fallback = fallback or LocalBuckets()
        self._warned_at = -math.inf
        self._down_until = -math.inf

    RETRY_SECONDS = 5.0

    async def take(self, key: str, capacity: int) -> float:
        if time.monotonic() < self._down_until:
            return self.fallback.take_now(key, capacity)
        try:
            return float(await self._take(keys=[REDIS_PREFIX + key], args=[capacity]))
        except Exception as exc:  # Redis away: this replica keeps counting on its own
            self._down_until = time.monotonic() + self.RETRY_SECONDS
            if time.monotonic() - self._warned_at > 60:
                self._warned_at = time.monotonic()
                log.warning("request budgets fall back to this process (%s)", exc.__class__.__name__)
            return self.fallback.take_now(key, capacity)

    async def close(self) -> None:
        await self._redis.aclose()


class Budgets:
    """The budget of whoever is calling, from ``Scope``: its key and its size."""

    def __init__(self, settings: Settings, *, buckets: LocalBuckets | RedisBuckets | None = None) -> None:
        self.key_per_minute = settings.rate_limit_key_per_minute
        self.connect_token_per_minute = settings.rate_limit_connect_token_per_minute
        if buckets is None:
            buckets = RedisBuckets(settings.redis_url) if settings.redis_url else LocalBuckets()
        self.buckets = buckets

    def budget_of(self, scope: Scope) -> tuple[str, int] | None:
        """The bucket and per-minute size for ``scope``; None when it has no budget."""
        if isinstance(scope, ConnectScope):
            if scope.connect_session_id and self.connect_token_per_minute:
                return f"connect_session:{scope.connect_session_id}", self.connect_token_per_minute
            return None
        if scope.api_key_id and self.key_per_minute:
            return f"api_key:{scope.api_key_id}", self.key_per_minute
        return None

    async def spend(self, scope: Scope) -> int:
        """Spend one unit of the caller's budget: 0 if it may go on, else the whole seconds to
        wait (for ``Retry-After``)."""
        budget = self.budget_of(scope)
        if budget is None:
            return 0
        wait = await self.buckets.take(*budget)
        return 0 if wait <= 0 else max(1, math.ceil(wait))

    async def close(self) -> None:
        if isinstance(self.buckets, RedisBuckets):
            await self.buckets.close()


def rate_limited_message(scope: Scope, retry_after: int) -> str:
    who = "connect token" if isinstance(scope, ConnectScope) else "API key"
    return f"this {who} has used its request budget; retry after {retry_after} s"
