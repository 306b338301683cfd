"""A scripted webhook receiver on loopback, a test clock, and an endpoint to deliver to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import ids
from server.config import Settings
from server.crypto import KeyRing, load_key_ring
from server.orgs.models import Organization, Workspace
from server.scope import Scope
from server.webhooks import service
from server.webhooks.delivery import deliver_due
from tests.serving import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next scripted reply (default 200) and records it.

    A reply is a status code, ``(status, headers)``, or ``("sleep", seconds)`` to time out.
    """

    url: str
    script: list[Any] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(Received(headers=dict(request.headers), body=body))
        reply = self.script.pop(0) if self.script else 200
        if isinstance(reply, tuple) and reply[0] == "sleep":
            await asyncio.sleep(reply[1])
            return Response("late", status_code=200)
        status, headers = reply if isinstance(reply, tuple) else (reply, {})
        return Response(f"answer {status}", status_code=status, headers=headers)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    import uvicorn

    holder: dict[str, Receiver] = {}

    async def endpoint(request: Request) -> Response:
        return await holder["receiver"].handle(request)

    app = Starlette(routes=[Route("/hooks", endpoint, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None, lifespan="off")
    )  # as tests/serving.py
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    holder["receiver"] = Receiver(url=f"http://127.0.0.1:{port}/hooks")
    try:
        yield holder["receiver"]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


class Clock:
    """A clock tests move by hand; it starts a minute ahead so fresh events are due."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(minutes=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(settings: Settings) -> Settings:  # type: ignore[override]
    # Short, so the timeout test is quick, but with room for a loaded machine (its receiver
    # sleeps 3 s).
    return settings.replace(webhooks_timeout_seconds=1.5)


@pytest.fixture
def key_ring(settings: Settings) -> KeyRing:
    return load_key_ring(settings)


@dataclass
class Owner:
    scope: Scope
    workspace_id: str


@pytest.fixture
async def owner(database: Settings) -> Owner:
    organization = await Organization.create(id=ids.new_id("organization"), name="Acme")
    workspace = await Workspace.create(
        id=ids.new_id("workspace"), organization=organization, name="production"
    )
    return Owner(scope=Scope(organization_id=organization.id), workspace_id=workspace.id)


ALL_CONNECTION_EVENTS = ["connection.created", "connection.status_changed", "connection.deleted"]


@pytest.fixture
async def endpoint(
    owner: Owner, settings: Settings, key_ring: KeyRing, receiver: Receiver
) -> service.EndpointWithSecret:
    return await service.create_endpoint(
        scope=owner.scope,
        settings=settings,
        key_ring=key_ring,
        workspace_id=owner.workspace_id,
        url=receiver.url,
        event_types=ALL_CONNECTION_EVENTS,
    )


@dataclass
class Dispatcher:
    settings: Settings
    key_ring: KeyRing
    clock: Clock
    http: httpx.AsyncClient

    async def run(self, limit: int = 50) -> int:
        """One pass of the dispatcher at the test clock's time."""
        return await deliver_due(
            settings=self.settings, key_ring=self.key_ring, http=self.http, now=self.clock, limit=limit
        )

    async def drain(self, passes: int = 20) -> int:
        """Passes until nothing is due at this time; the number of attempts made."""
        total = 0
        for _ in range(passes):
            attempted = await self.run()
            if not attempted:
                return total
            total += attempted
        return total


@pytest.fixture
async def dispatcher(settings: Settings, key_ring: KeyRing, clock: Clock) -> AsyncIterator[Dispatcher]:
    async with httpx.AsyncClient(trust_env=False) as http:
        yield Dispatcher(settings=settings, key_ring=key_ring, clock=clock, http=http)
