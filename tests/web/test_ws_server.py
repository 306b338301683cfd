"""Direct socket writes need uvicorn's protocol internals; without them Weir serves through ASGI.

The check is ``missing_uvicorn_names``, the one the private-API contract runs. A uvicorn that
lacks a name is simulated by handing the check (and ``direct_protocol``) an older-looking
protocol class, not by changing uvicorn. That the ASGI path serves subscriptions is proved by
the feed tests of test_ws_protocol.py, which run on uvicorn's own protocol too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from server.web.ws_server import (
    PROTOCOL_ATTRIBUTES,
    WeirWebSocketProtocol,
    direct_protocol,
    missing_uvicorn_names,
)


class OlderProtocol(asyncio.Protocol):
    """A protocol like uvicorn's, from a version that does not track ``close_sent``."""

    def __init__(self) -> None:
        self.loop: Any = None
        self.transport: Any = None
        self.queue: Any = None
        self.disconnected = False
        self.close_timer = None
        self.close_timeout = 10.0
        self.conn: Any = None
        self.read_paused = False

    def handle_connect(self, event: Any) -> None:
        self.scope: Any = {"extensions": {}}


def test_the_installed_uvicorn_has_everything_direct_writes_need() -> None:
    assert missing_uvicorn_names() == []
    assert issubclass(WeirWebSocketProtocol, WebSocketsSansIOProtocol)
    assert WeirWebSocketProtocol is not WebSocketsSansIOProtocol


def test_the_check_names_what_an_older_uvicorn_lacks() -> None:
    assert "close_sent" in PROTOCOL_ATTRIBUTES
    assert missing_uvicorn_names(OlderProtocol) == ["close_sent"]
    assert missing_uvicorn_names(None) == [
        "uvicorn.protocols.websockets.websockets_sansio_impl.WebSocketsSansIOProtocol"
    ]


def test_without_the_names_uvicorns_own_protocol_serves_and_it_is_logged_once(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="weir.web")
    served = direct_protocol(OlderProtocol)
    # uvicorn's class unchanged: no direct socket in the scope, every message an ASGI send.
    assert served is OlderProtocol
    protocol = served()
    protocol.handle_connect(None)
    assert protocol.scope["extensions"] == {}
    warnings = [r.getMessage() for r in caplog.records if r.name == "weir.web"]
    assert len(warnings) == 1 and "close_sent" in warnings[0] and "ASGI" in warnings[0]
    # No protocol class at all: uvicorn chooses its own.
    assert direct_protocol(None) == "auto"
