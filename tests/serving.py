"""Serving ASGI apps on loopback inside a test's own event loop (Weir, emulators, host pages)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def serve(
    app: Any, host: str = "127.0.0.1", port: int | None = None, ws: Any = "websockets-sansio"
) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on this loop (lifespan off: the caller runs it); yield
    its base URL (``http://127.0.0.1:N``). The server stops when the block ends."""
    port = port or free_port()
    # log_config=None: uvicorn's records go to the root logger (and pytest's log capture)
    # instead of handlers it would bind to this test's sys.stderr, closed once the test ends.
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", log_config=None, lifespan="off", ws=ws)
    )
    task = asyncio.create_task(server.serve())
    for _ in range(250):
        if server.started:
            break
        if task.done():
            task.result()  # it failed to start: raise why
        await asyncio.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
