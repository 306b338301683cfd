"""Writing to one WebSocket without ever waiting: the direct socket when the server offers it,
else an outbox drained through ASGI sends. A peer that stops reading is closed, not buffered.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import Any

from server.web.ws_messages import TOO_SLOW
from server.web.ws_server import DIRECT, Written, text_frame

# Without direct writes (another ASGI server), messages wait in a per-connection outbox; a peer
# that leaves this many unsent is closed rather than buffered without bound.
SLOW_PEER_MESSAGES = 1000


class SocketWriter:
    """The sending half of a connection (``send`` is the ASGI send of its socket)."""

    def __init__(self, scope: dict[str, Any], send: Any) -> None:
        self.send = send
        self.direct = (scope.get("extensions") or {}).get(DIRECT)
        self.outbox: collections.deque[str] = collections.deque()
        self.writer: asyncio.Task[None] | None = None
        self.closed = False

    def write(self, text: str, frame: bytes | None = None) -> None:
        """Send one message (``frame``, when given, is its text frame); never waits. A peer
        that stopped reading is closed."""
        if self.closed:
            return
        if self.direct is not None:
            written = self.direct.write(frame if frame is not None else text_frame(text.encode()))
            if written is Written.TOO_SLOW:
                self.closed = True
                self.direct.close_slow_peer(TOO_SLOW, "subscriber too slow")
            return
        self.outbox.append(text)
        if len(self.outbox) > SLOW_PEER_MESSAGES:
            # Waiting for the outbox to drain could take forever: drop it and close.
            self.closed = True
            self.outbox.clear()
            if self.writer is not None:
                self.writer.cancel()
            task = asyncio.ensure_future(
                self.send({"type": "websocket.close", "code": TOO_SLOW, "reason": "subscriber too slow"})
            )
            task.add_done_callback(_retrieve)
            return
        if self.writer is None:
            self.writer = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.outbox and not self.closed:
                await self.send({"type": "websocket.send", "text": self.outbox.popleft()})
        except Exception:  # the peer is gone: its disconnect ends the connection
            self.closed = True
        finally:
            self.writer = None

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        writer = self.writer
        if writer is not None:
            with contextlib.suppress(Exception):
                await writer
        self.closed = True
        with contextlib.suppress(Exception):
            await self.send({"type": "websocket.close", "code": code, "reason": reason})


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
