"""A rate budget per connection, learned from the provider's answers and shared by every caller.

Syncs, actions, the proxy and credential checks all spend one credential's allowance at the
provider. Without a shared view, a burst of proxy calls can use up the window and get the
provider to throttle a sync halfway through its run. ``http.request`` therefore asks the budget
before each attempt (``before_call``) and tells it every answer (``after_call``).

What it learns from an answer (header names from ``http.RateLimitHeaders``):

- ``remaining`` and ``limit`` in the current window, and when the window resets (``reset``, read
  as ``reset_kind``). Without a limit header, the highest remaining seen stands in for it.
- A 429 (or a 403 that says it is a rate limit) with ``Retry-After`` or a reset: nobody sends
  until then.

What it decides before a call, for the caller's kind:

- Blocked (after a 429) or nothing left (remaining 0): every caller waits for the moment the
  provider named, if that is within its patience (``MAX_WAIT``: a sync 60 s, an action or a
  proxy call 2 s, a check not at all), else ``ProviderRateLimited`` with ``retry_after``.
- The reserve: once remaining is down to ``RESERVE_SHARE`` of the limit (at least 1), actions
  and proxy calls are refused until the reset, and syncs go on. A sync is a long run that fails
  as a whole when it is throttled, and nobody is there to retry it; an action or a proxy call is
  one request whose caller gets a 429 with ``Retry-After`` and can try again.
- Otherwise it goes, and counts one unit spent, so concurrent callers do not all rely on the
  same remaining before the provider's next answer says how many are left.

Nothing known about a connection (no rate-limit header ever seen, or the window it described
has reset) means no limit. What was learned expires at the window's reset (``DEFAULT_WINDOW``
after the answer when the provider gives no reset), and no wait goes beyond ``MAX_HORIZON``.

``LocalBudget`` keeps this in the process (the API's loop and an embedded worker's loop share
it, under a thread lock). ``RedisBudget`` keeps one hash per connection, ``weir:budget:<id>``,
changed by a Lua script (atomic): one round trip before each call, and after an answer that
carried rate-limit headers one more, written in the background so the caller does not wait for
it (the next call for that connection in this process waits for it instead). The hash expires
with the state. If Redis fails it falls back to the local budget (which it keeps warm) and says
so once. ``shared`` is
the budget a process hands every connector context (``shared.for_url(settings.redis_url)``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from server.connectors.http import (
    DEFAULT_RATE_LIMIT,
    ProviderRateLimited,
    RateLimitHeaders,
    header_moment,
    rate_limit_wait,
)
from server.events import redis_client

log = logging.getLogger("weir.rate_budget")

# How long each kind of caller may be held before it is told to come back later.
MAX_WAIT = {"sync": 60.0, "action": 2.0, "proxy": 2.0, "check": 0.0}
UNKNOWN_CALLER_WAIT = 2.0
# Callers refused once the window is down to its reserve (syncs and checks are not).
RESERVE_CALLERS = frozenset({"action", "proxy"})
RESERVE_SHARE = 0.1
# How long a remaining count without a reset header is believed.
DEFAULT_WINDOW = 60.0
# The longest anything learned is kept (a daily quota), whatever a header says.
MAX_HORIZON = 86_400.0
# A later reset than this means a new window (``seconds`` resets move with the clock).
NEW_WINDOW_TOLERANCE = 1.0
# Connections remembered per process; the least recently used are forgotten first (forgetting
# one means "no limit known", which the next answer corrects).
MAX_LOCAL_CONNECTIONS = 50_000
REDIS_PREFIX = "weir:budget:"
# After a Redis error, the local budget answers alone for this long before Redis is tried again.
REDIS_RETRY_AFTER = 5.0


@dataclass(frozen=True)
class Observation:
    """What one answer said about the connection's allowance (Unix times; None: not said)."""

    remaining: int | None = None
    limit: int | None = None
    reset_at: float | None = None
    blocked_until: float | None = None

    @property
    def empty(self) -> bool:
        return self.remaining is None and self.limit is None and self.blocked_until is None


@dataclass
class Window:
    """What is known about one connection's current window."""

    expires_at: float
    remaining: float | None = None
    limit: float | None = None
    reset_at: float | None = None
    blocked_until: float | None = None


def observe(status: int, headers: Mapping[str, str], names: RateLimitHeaders, now: float) -> Observation:
    """Read an answer's rate-limit headers (``headers`` looked up case-insensitively)."""
    remaining = _count(headers.get(names.remaining))
    limit = _count(headers.get(names.limit))
    reset_text = headers.get(names.reset)
    reset_at = header_moment(reset_text, names.reset_kind, now) if reset_text else None
    wait = rate_limit_wait(status, headers, names)
    horizon = now + MAX_HORIZON
    return Observation(
        remaining=remaining,
        limit=limit,
        reset_at=None if reset_at is None else min(reset_at, horizon),
        blocked_until=None if wait is None else now + min(wait, MAX_HORIZON),
    )


def _count(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(float(text.strip()))
    except (ValueError, OverflowError):
        return None
    return max(value, 0)


def learn(window: Window | None, seen: Observation, now: float) -> Window | None:
    """``window`` updated with what one answer said (the same rules as ``_LEARN`` in Lua)."""
    if window is not None and now >= window.expires_at:
        window = None
    if seen.empty:
        return window
    fresh = (
        window is None
        or (seen.reset_at is not None and window.reset_at is None)
        or (
            seen.reset_at is not None
            and window.reset_at is not None
            and seen.reset_at > window.reset_at + NEW_WINDOW_TOLERANCE
        )
    )
    if fresh or window is None:
        # A new window; a 429's wait still stands (Retry-After is not about windows).
        reset_at = seen.reset_at if seen.reset_at is not None and seen.reset_at > now else None
        blocked_until = window.blocked_until if window is not None else None
        window = Window(now, seen.remaining, seen.limit, reset_at, blocked_until)
    else:
        if seen.remaining is not None:
            # Within one window the provider's count only goes down; an answer that says more
            # is older than one already seen (or than the units counted by ``take``). Without a
            # reset there is no window to reason about: the latest answer is believed.
            if window.remaining is None or window.reset_at is None:
                window.remaining = seen.remaining
            else:
                window.remaining = min(window.remaining, seen.remaining)
        if seen.limit is not None:
            window.limit = seen.limit
    if seen.limit is None and seen.remaining is not None:
        window.limit = max(window.limit or 0, seen.remaining)
    if seen.blocked_until is not None:
        window.blocked_until = max(window.blocked_until or 0.0, seen.blocked_until)
    window.expires_at = max(
        window.reset_at if window.reset_at is not None else now + DEFAULT_WINDOW,
        window.blocked_until or 0.0,
    )
    return window


def reserve_of(limit: float | None) -> int:
    """Units kept for syncs: ``RESERVE_SHARE`` of the limit, at least 1."""
    return max(1, math.floor((limit or 0) * RESERVE_SHARE))


def take(window: Window | None, caller: str, now: float) -> tuple[float, str]:
    """Spend one unit for ``caller``: ``(0, "")`` when it may send now (the unit is counted in
    ``window``), else the seconds until it may and why ("blocked", "exhausted", "reserve")."""
    if window is None or now >= window.expires_at:
        return 0.0, ""
    if window.blocked_until is not None and now < window.blocked_until:
        return window.blocked_until - now, "blocked"
    if window.remaining is None:
        return 0.0, ""
    until_reset = (window.reset_at if window.reset_at is not None else window.expires_at) - now
    if window.remaining <= 0:
        return until_reset, "exhausted"
    if caller in RESERVE_CALLERS and window.remaining <= reserve_of(window.limit):
        return until_reset, "reserve"
    window.remaining -= 1
    return 0.0, ""


def refusal(reason: str, retry_after: float) -> ProviderRateLimited:
    """The error for a call the budget will not let through now (``retry_after`` whole seconds)."""
    seconds = max(1, math.ceil(retry_after))
    if reason == "reserve":
        message = (
            "this connection's rate limit at the provider is nearly used up; what is left is kept "
            f"for its syncs until the limit resets (retry after {seconds} s)"
        )
    elif reason == "blocked":
        message = f"the provider asked to slow down on this connection (retry after {seconds} s)"
    else:
        message = f"this connection's rate limit at the provider is used up (retry after {seconds} s)"
    return ProviderRateLimited(0, message, retry_after=float(seconds))


class _Waiting:
    """``before_call``'s loop, shared by both budgets: take a unit, or wait within the caller's
    patience and try again (another caller may have learned that the window reset)."""

    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[Any]]

    async def _take(self, key: str, caller: str) -> tuple[float, str]:
        raise NotImplementedError

    async def before_call(self, key: str, caller: str) -> None:
        patience = MAX_WAIT.get(caller, UNKNOWN_CALLER_WAIT)
        deadline = self.clock() + patience
        while True:
            wait, reason = await self._take(key, caller)
            if wait <= 0:
                return
            if self.clock() + wait > deadline:
                raise refusal(reason, wait)
            await self.sleep(wait)


class LocalBudget(_Waiting):
    """The budget of this process, safe to share between threads (and their event loops)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._windows: OrderedDict[str, Window] = OrderedDict()

    def take_now(self, key: str, caller: str) -> tuple[float, str]:
        with self._lock:
            window = self._windows.get(key)
            if window is None:  # the common case: nothing known, nothing to do
                return 0.0, ""
            now = self.clock()
            if now >= window.expires_at:
                del self._windows[key]
                return 0.0, ""
            return take(window, caller, now)

    async def _take(self, key: str, caller: str) -> tuple[float, str]:
        return self.take_now(key, caller)

    def learn_now(self, key: str, seen: Observation) -> None:
        if seen.empty:
            return
        with self._lock:
            window = learn(self._windows.pop(key, None), seen, self.clock())
            if window is not None:
                self._windows[key] = window
                while len(self._windows) > MAX_LOCAL_CONNECTIONS:
                    self._windows.popitem(last=False)

    def window(self, key: str) -> Window | None:
        """What is known about ``key`` now (a copy), for tests and diagnostics."""
        with self._lock:
            window = self._windows.get(key)
            if window is None or self.clock() >= window.expires_at:
                return None
            return Window(**vars(window))

    async def after_call(
        self, key: str, status: int, headers: Any, names: RateLimitHeaders = DEFAULT_RATE_LIMIT
    ) -> None:
        self.learn_now(key, observe(status, headers, names, self.clock()))

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


# ``take`` in Lua. KEYS[1] the connection's hash; ARGV: now, "1" when the reserve applies to the
# caller, the reserve share. Returns {seconds to wait, reason} as strings ("0" to go).
_TAKE = """
local now = tonumber(ARGV[1])
local w = redis.call('HMGET', KEYS[1], 'expires_at', 'blocked_until', 'remaining', 'limit', 'reset_at')
local expires_at = tonumber(w[1])
if not expires_at or now >= expires_at then return {'0', ''} end
local blocked_until = tonumber(w[2])
if blocked_until and now < blocked_until then return {tostring(blocked_until - now), 'blocked'} end
local remaining = tonumber(w[3])
if not remaining then return {'0', ''} end
local until_reset = (tonumber(w[5]) or expires_at) - now
if remaining <= 0 then return {tostring(until_reset), 'exhausted'} end
if ARGV[2] == '1' then
  local reserve = math.max(1, math.floor((tonumber(w[4]) or 0) * tonumber(ARGV[3])))
  if remaining <= reserve then return {tostring(until_reset), 'reserve'} end
end
redis.call('HSET', KEYS[1], 'remaining', tostring(remaining - 1))
return {'0', ''}
"""

# ``learn`` in Lua. KEYS[1] the connection's hash; ARGV: now, remaining, limit, reset_at,
# blocked_until ("" when the answer did not say), the default window, the new-window tolerance.
_LEARN = """
local now = tonumber(ARGV[1])
local seen_remaining, seen_limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local seen_reset, seen_blocked = tonumber(ARGV[4]), tonumber(ARGV[5])
local w = redis.call('HMGET', KEYS[1], 'expires_at', 'blocked_until', 'remaining', 'limit', 'reset_at')
local expires_at = tonumber(w[1])
local known = expires_at and now < expires_at
local blocked_until, remaining, limit, reset_at = nil, nil, nil, nil
if known then
  blocked_until, remaining, limit, reset_at = tonumber(w[2]), tonumber(w[3]), tonumber(w[4]), tonumber(w[5])
end
local fresh = (not known) or (seen_reset and not reset_at)
  or (seen_reset and reset_at and seen_reset > reset_at + tonumber(ARGV[7]))
if not seen_remaining and not seen_limit and not seen_blocked then return 0 end
if fresh then
  -- A new window; a 429's wait still stands (Retry-After is not about windows).
  remaining, limit, reset_at = seen_remaining, seen_limit, nil
  if seen_reset and seen_reset > now then reset_at = seen_reset end
else
  if seen_remaining then
    if not remaining or not reset_at then remaining = seen_remaining
    else remaining = math.min(remaining, seen_remaining) end
  end
  if seen_limit then limit = seen_limit end
end
if not seen_limit and seen_remaining then limit = math.max(limit or 0, seen_remaining) end
if seen_blocked then blocked_until = math.max(blocked_until or 0, seen_blocked) end
expires_at = math.max(reset_at or (now + tonumber(ARGV[6])), blocked_until or 0)
redis.call('DEL', KEYS[1])
local fields = {'expires_at', tostring(expires_at)}
if blocked_until then table.insert(fields, 'blocked_until'); table.insert(fields, tostring(blocked_until)) end
if remaining then table.insert(fields, 'remaining'); table.insert(fields, tostring(remaining)) end
if limit then table.insert(fields, 'limit'); table.insert(fields, tostring(limit)) end
if reset_at then table.insert(fields, 'reset_at'); table.insert(fields, tostring(reset_at)) end
redis.call('HSET', KEYS[1], unpack(fields))
-- Relative to the caller's clock, so a skew between it and Redis's does not matter.
redis.call('PEXPIRE', KEYS[1], math.ceil((expires_at - now) * 1000) + 1000)
return 1
"""


def _arg(value: float | None) -> str:
    return "" if value is None else repr(float(value))


class RedisBudget(_Waiting):
    """The budget shared by every process through Redis; ``local`` answers while Redis cannot.

    A redis.asyncio client belongs to the event loop it was first used on: make one of these
    per loop (``shared`` does) and ``close`` it on that loop.
    """

    def __init__(
        self,
        url: str,
        *,
        local: LocalBudget | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        # Shorter timeouts than other clients: a call to the provider must not wait on a Redis
        # that went away or froze (and a timeout is not retried).
        self._redis = redis_client(url, decode_responses=True, socket_connect_timeout=0.5, socket_timeout=0.5)
        self._take_script = self._redis.register_script(_TAKE)
        self._learn_script = self._redis.register_script(_LEARN)
        self.local = local if local is not None else LocalBudget(clock=clock, sleep=sleep)
        self._down_until = -math.inf
        self._pending: dict[str, asyncio.Task[None]] = {}

    def _redis_up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        if self._down_until == -math.inf:  # once per outage
            log.warning("rate budgets fall back to this process: Redis failed (%s)", exc.__class__.__name__)
        self._down_until = time.monotonic() + REDIS_RETRY_AFTER

    def _recovered(self) -> None:
        if self._down_until != -math.inf:
            self._down_until = -math.inf
            log.info("rate budgets are shared through Redis again")

    async def _take(self, key: str, caller: str) -> tuple[float, str]:
        pending = self._pending.get(key)
        if pending is not None:  # what this process last learned must be in Redis first
            await asyncio.wait([pending])
        if self._redis_up():
            args = [repr(self.clock()), "1" if caller in RESERVE_CALLERS else "0", repr(RESERVE_SHARE)]
            try:
                wait, reason = await self._take_script(keys=[REDIS_PREFIX + key], args=args)
            except Exception as exc:  # Redis away: this process keeps counting on its own
                self._failed(exc)
            else:
                self._recovered()
                return float(wait), str(reason)
        return self.local.take_now(key, caller)

    async def after_call(
        self, key: str, status: int, headers: Any, names: RateLimitHeaders = DEFAULT_RATE_LIMIT
    ) -> None:
        now = self.clock()
        seen = observe(status, headers, names, now)
        if seen.empty:  # most answers of most providers: no round trip
            return
        # Kept locally too, so a fallback starts from what was last known.
        self.local.learn_now(key, seen)
        if not self._redis_up():
            return
        args = [
            repr(now),
            _arg(seen.remaining),
            _arg(seen.limit),
            _arg(seen.reset_at),
            _arg(seen.blocked_until),
            repr(DEFAULT_WINDOW),
            repr(NEW_WINDOW_TOLERANCE),
        ]
        # Written in the background, so the answer reaches its caller one round trip sooner;
        # writes for one key stay in order, and ``_take`` waits for them (read your writes).
        previous = self._pending.get(key)
        task = asyncio.get_running_loop().create_task(self._learn(key, args, previous))
        self._pending[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))

    async def _learn(self, key: str, args: list[str], previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        if not self._redis_up():
            return
        try:
            await self._learn_script(keys=[REDIS_PREFIX + key], args=args)
        except Exception as exc:
            self._failed(exc)
        else:
            self._recovered()

    def _forget(self, key: str, task: asyncio.Task[None]) -> None:
        if self._pending.get(key) is task:
            del self._pending[key]

    async def flush(self) -> None:
        """Wait until what this process learned is in Redis (other processes see it then)."""
        if self._pending:
            await asyncio.wait(list(self._pending.values()))

    async def close(self) -> None:
        """Finish the writes under way, then close the client (on the loop it belongs to)."""
        await self.flush()
        await self._redis.aclose()


class SharedBudgets:
    """The budget every connector context of this process gets.

    Without Redis, one ``LocalBudget`` for the whole process. With Redis, one ``RedisBudget``
    per event loop (a redis.asyncio client cannot cross loops; the API and an embedded worker
    run different ones), all falling back to that same local budget. ``close`` on each loop at
    shutdown; ``reset`` (tests) forgets everything.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.local = LocalBudget()
        self._remote: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, RedisBudget]] = (
            weakref.WeakKeyDictionary()
        )

    def for_url(self, redis_url: str | None) -> LocalBudget | RedisBudget:
        if not redis_url:
            return self.local
        loop = asyncio.get_running_loop()
        with self._lock:
            budgets = self._remote.setdefault(loop, {})
            budget = budgets.get(redis_url)
            if budget is None:
                budget = budgets[redis_url] = RedisBudget(redis_url, local=self.local)
            return budget

    async def close(self) -> None:
        """Close the Redis clients of the running loop."""
        with self._lock:
            budgets = self._remote.pop(asyncio.get_running_loop(), {})
        for budget in budgets.values():
            await budget.close()

    def reset(self) -> None:
        """Forget what was learned and every loop's clients (close them first where they run)."""
        with self._lock:
            self._remote = weakref.WeakKeyDictionary()
            self.local.reset()


shared = SharedBudgets()
