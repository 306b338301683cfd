"""Revocation in this API process: forget the credential, close the sockets it opened.

Each process listens on ``server.revocations.CHANNEL`` from start-up to shutdown. An event
(``credential.revoked``, published by whichever process revoked it) drops an API key from the
authentication cache and closes, with ``4403``, every WebSocket authenticated by the credential:
an API key's sockets; a connect token's socket when its session is cancelled or its end user
deleted. Over the in-memory bus (the embedded default) that is immediate; over Redis, one
pub/sub round trip, far below the 2-second bound.

Events are best effort (Redis may be away when one is published, and ``weir keys revoke`` on
the embedded default has no bus to reach the server): so every ``SWEEP_SECONDS`` the process
also asks the database which credentials of its open sockets still hold, and the cache never
keeps a key longer than ``AUTH_CACHE_SECONDS`` (server.auth.key_cache).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from server.auth.authenticator import Authenticator
from server.connect.models import ConnectSession
from server.events import EventBus
from server.orgs.models import ApiKey, EndUser
from server.revocations import (
    API_KEY,
    CHANNEL,
    CONNECT_SESSION,
    END_USER,
    credential,
    revoked_credentials,
)

log = logging.getLogger("weir.revocation")

# The backstop for a lost event: open sockets are checked against the database this often.
SWEEP_SECONDS = 10.0
FORBIDDEN = 4403


class Closable(Protocol):
    async def close(self, code: int, reason: str) -> None: ...


class Revocations:
    """The open sockets of this process by credential, and the listener that closes them."""

    def __init__(
        self, bus: EventBus, authenticator: Authenticator, *, sweep_seconds: float = SWEEP_SECONDS
    ) -> None:
        self.bus = bus
        self.authenticator = authenticator
        self.sweep_seconds = sweep_seconds
        self._sockets: dict[str, set[Closable]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None

    # -- sockets ---------------------------------------------------------------------------------

    def register(self, socket: Closable, credentials: Iterable[str]) -> None:
        for name in credentials:
            self._sockets.setdefault(name, set()).add(socket)

    def unregister(self, socket: Closable, credentials: Iterable[str]) -> None:
        for name in credentials:
            group = self._sockets.get(name)
            if group is not None:
                group.discard(socket)
                if not group:
                    del self._sockets[name]

    def revoke(self, name: str) -> int:
        """Forget ``name`` (``<kind>:<id>``) and close its sockets; returns how many."""
        kind, _, object_id = name.partition(":")
        if kind == API_KEY:
            self.authenticator.forget_api_key(object_id)
        sockets = self._sockets.pop(name, set())
        for socket in sockets:
            task = asyncio.create_task(socket.close(FORBIDDEN, "Forbidden"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if sockets:
            log.info("closed %d WebSocket(s) of revoked %s", len(sockets), name)
        return len(sockets)

    # -- the listener and the sweep ----------------------------------------------------------

    async def start(self) -> None:
        """Listen from now on (returns once subscribed, or once the first attempt failed)."""
        ready = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(ready), name="weir-revocations")
        await ready.wait()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="weir-revocation-sweep")

    async def stop(self) -> None:
        for task in (self._listener, self._sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._listener = self._sweeper = None
        # Closes already decided are sent, not dropped.
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _listen(self, ready: asyncio.Event) -> None:
        while True:
            try:
                async with self.bus.subscribe(CHANNEL) as events:
                    ready.set()
                    async for name in revoked_credentials(events):
                        self.revoke(name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the bus is away: the sweep covers meanwhile
                log.warning("not hearing revocations (%s); retrying", exc.__class__.__name__)
                ready.set()
                await asyncio.sleep(1.0)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("revocation sweep failed")

    async def sweep(self) -> int:
        """Close the sockets whose credentials no longer hold in the database."""
        wanted: dict[str, set[str]] = {}
        for name in self._sockets:
            kind, _, object_id = name.partition(":")
            wanted.setdefault(kind, set()).add(object_id)
        valid: set[str] = set()
        if wanted.get(API_KEY):
            valid |= {
                credential(API_KEY, key_id)
                for key_id in await ApiKey.filter(id__in=list(wanted[API_KEY]), revoked_at=None).values_list(
                    "id", flat=True
                )
            }
        if wanted.get(CONNECT_SESSION):
            valid |= {
                credential(CONNECT_SESSION, session_id)
                for session_id in await ConnectSession.filter(
                    id__in=list(wanted[CONNECT_SESSION]), expires_at__gt=datetime.now(UTC)
                )
                .exclude(status="EXPIRED")
                .values_list("id", flat=True)
            }
        if wanted.get(END_USER):
            valid |= {
                credential(END_USER, user_id)
                for user_id in await EndUser.filter(id__in=list(wanted[END_USER])).values_list(
                    "id", flat=True
                )
            }
        return sum(self.revoke(name) for name in list(self._sockets) if name not in valid)
