"""A minimal graphql-transport-ws client for tests (the protocol is small enough to speak here)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets


class GraphQLWebSocket:
    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self._ids = 0

    @classmethod
    async def connect(cls, host: str, authorization: str | None) -> GraphQLWebSocket:
        socket = await websockets.connect(f"ws://{host}/graphql", subprotocols=["graphql-transport-ws"])
        client = cls(socket)
        payload = {"authorization": authorization} if authorization else {}
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        return client

    async def acknowledged(self) -> dict[str, Any]:
        return await self.receive()

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._ids += 1
        operation_id = str(self._ids)
        await self.socket.send(
            json.dumps(
                {
                    "id": operation_id,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        return operation_id

    async def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.socket.recv(), timeout))

    async def close(self) -> None:
        await self.socket.close()
