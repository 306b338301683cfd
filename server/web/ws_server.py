"""uvicorn's WebSocket protocol with one addition: frames written straight to the socket.

An ASGI ``send`` is a chain of awaited coroutines (uvicorn, Starlette, each middleware) and waits
while the peer is not reading. Fanning one event out to thousands of subscribers that way costs
more than the event itself, and one stalled reader would hold up the rest. This protocol puts a
``DirectSocket`` in the scope's extensions (``DIRECT``): ``write`` hands a text frame to the
transport at once, never waiting; a peer that lets ``SLOW_PEER_BYTES`` pile up
unread is told ``too slow`` so the caller can close it instead of buffering without bound.

``weir serve`` runs uvicorn with this protocol; under any other server the extension is absent
and ``server.web.ws_protocol`` sends through ASGI instead.
"""

from __future__ import annotations

import enum
import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

DIRECT = "weir.direct_socket"
# Unread output a subscriber may leave in the socket's buffer before it is closed. Live status
# messages are a few hundred bytes: this is hundreds of them.
SLOW_PEER_BYTES = 256 * 1024


class Written(enum.Enum):
    OK = "ok"
    CLOSED = "closed"  # the socket is closing or gone: the frame is dropped
    TOO_SLOW = "too slow"  # the peer is not reading: close it


def text_frame(data: bytes) -> bytes:
    """A final, unmasked, uncompressed text frame (what a server sends) carrying ``data``.
    Built here rather than by the protocol object so that one frame can go to every subscriber
    whose message is byte for byte the same."""
    length = len(data)
    if length < 126:
        return struct.pack("!BB", 0x81, length) + data
    if length < 65536:
        return struct.pack("!BBH", 0x81, 126, length) + data
    return struct.pack("!BBQ", 0x81, 127, length) + data


class DirectSocket:
    __slots__ = ("_protocol",)

    def __init__(self, protocol: WeirWebSocketProtocol) -> None:
        self._protocol = protocol

    def write(self, frame: bytes) -> Written:
        """Hand ``frame`` (see ``text_frame``) to the socket now."""
        protocol = self._protocol
        transport = protocol.transport
        if (protocol.close_sent or protocol.disconnected or protocol.conn.state is not State.OPEN
                or transport.is_closing()):
            return Written.CLOSED
        if transport.get_write_buffer_size() > SLOW_PEER_BYTES:
            return Written.TOO_SLOW
        transport.write(frame)
        return Written.OK

    def close_slow_peer(self, code: int, reason: str) -> None:
        """Close a peer that stopped reading, without waiting for its buffer to drain (ASGI's
        close would): the close frame is queued and the socket dropped if no reply comes."""
        protocol = self._protocol
        if protocol.close_sent or protocol.disconnected or protocol.transport.is_closing():
            return
        protocol.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        protocol.conn.send_close(code, reason)
        protocol.transport.write(b"".join(protocol.conn.data_to_send()))
        protocol.close_sent = True
        if protocol.read_paused:
            protocol.read_paused = False
            protocol.transport.resume_reading()
        protocol.close_timer = protocol.loop.call_later(protocol.close_timeout,
                                                        protocol.transport.abort)


class WeirWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope: Any = getattr(self, "scope", None)
        # The ASGI task only starts once this returns, so it sees the extension.
        if scope is not None and not self.close_sent:
            scope["extensions"][DIRECT] = DirectSocket(self)
