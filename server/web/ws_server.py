"""uvicorn's WebSocket protocol with one addition: frames written straight to the socket.

An ASGI ``send`` is a chain of awaited coroutines (uvicorn, Starlette, each middleware) and waits
while the peer is not reading. Fanning one event out to thousands of subscribers that way costs
more than the event itself, and one stalled reader would hold up the rest. This protocol puts a
``DirectSocket`` in the scope's extensions (``DIRECT``): ``write`` hands a text frame to the
transport at once, never waiting; a peer that lets ``SLOW_PEER_BYTES`` pile up
unread is told ``too slow`` so the caller can close it instead of buffering without bound.

``weir serve`` runs uvicorn with this protocol; under any other server the extension is absent
and ``server.web.ws_protocol`` sends through ASGI instead. The same happens when the installed
uvicorn lacks an attribute ``DirectSocket`` reads (they are not uvicorn's public API):
``direct_protocol`` then gives uvicorn its own protocol and says so once in the log.
``missing_uvicorn_names`` is the check; the private-API contract test runs it too.
"""

from __future__ import annotations

import ast
import enum
import inspect
import logging
import struct
import textwrap
from typing import Any

from websockets.protocol import State

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # uvicorn moved or dropped it: served without direct writes (see below)
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

log = logging.getLogger("weir.web")

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

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    def write(self, frame: bytes) -> Written:
        """Hand ``frame`` (see ``text_frame``) to the socket now."""
        protocol = self._protocol
        transport = protocol.transport
        if (
            protocol.close_sent
            or protocol.disconnected
            or protocol.conn.state is not State.OPEN
            or transport.is_closing()
        ):
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
        protocol.close_timer = protocol.loop.call_later(protocol.close_timeout, protocol.transport.abort)


# What DirectSocket and the protocol below read or call of uvicorn's protocol object
# (attributes its methods set on ``self``, and methods) and of its websockets connection.
PROTOCOL_ATTRIBUTES = (
    "transport",
    "close_sent",
    "disconnected",
    "conn",
    "queue",
    "read_paused",
    "close_timer",
    "close_timeout",
    "loop",
    "scope",
)
PROTOCOL_METHODS = ("handle_connect",)
CONNECTION_NAMES = ("state", "send_close", "data_to_send")


def missing_uvicorn_names(protocol_class: Any = WebSocketsSansIOProtocol) -> list[str]:
    """Names the direct socket needs that ``protocol_class`` (uvicorn's websockets-sansio
    protocol unless given) does not have; empty when direct writes can be used. Instance
    attributes are found where the class's methods (its bases' included) assign them."""
    if protocol_class is None:
        return ["uvicorn.protocols.websockets.websockets_sansio_impl.WebSocketsSansIOProtocol"]
    assigned = attributes_set_by(protocol_class)
    missing = [
        name for name in PROTOCOL_ATTRIBUTES if name not in assigned and not hasattr(protocol_class, name)
    ]
    missing += [name for name in PROTOCOL_METHODS if not callable(getattr(protocol_class, name, None))]
    from websockets.server import ServerProtocol

    missing += [f"conn.{name}" for name in CONNECTION_NAMES if not hasattr(ServerProtocol, name)]
    if not hasattr(State, "OPEN"):
        missing.append("websockets.protocol.State.OPEN")
    return missing


def attributes_set_by(cls: type) -> set[str]:
    """Attributes the methods of ``cls`` and its bases assign on ``self`` (read from their
    source: instance attributes exist only once an instance does)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        for node in ast.walk(tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    names.add(target.attr)
    return names


def direct_protocol(base: Any = WebSocketsSansIOProtocol) -> Any:
    """The protocol ``weir serve`` gives uvicorn: ``base`` with the direct socket when it has
    everything the socket needs; otherwise ``base`` as it is (uvicorn's "auto" choice if
    uvicorn no longer has the class), so subscription messages go through ASGI sends.
    Says which names are missing, once (it is called once, at import)."""
    missing = missing_uvicorn_names(base)
    if missing:
        log.warning(
            "uvicorn lacks %s: subscription messages are sent through ASGI, without direct socket writes",
            ", ".join(missing),
        )
        return base if base is not None else "auto"

    class WeirWebSocketProtocol(base):  # type: ignore[misc,valid-type]
        def handle_connect(self, event: Any) -> None:
            super().handle_connect(event)
            scope: Any = getattr(self, "scope", None)
            # The ASGI task only starts once this returns, so it sees the extension.
            if scope is not None and not self.close_sent:
                scope["extensions"][DIRECT] = DirectSocket(self)

    WeirWebSocketProtocol.__qualname__ = "WeirWebSocketProtocol"
    return WeirWebSocketProtocol


WeirWebSocketProtocol = direct_protocol()
