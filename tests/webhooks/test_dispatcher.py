"""The dispatcher loop, in a worker or inside the embedded ``weir serve``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from server import ids
from server.config import Secret, Settings
from server.crypto import load_key_ring
from server.orgs.models import Organization, Workspace
from server.scope import Scope
from server.webhooks import service
from server.webhooks.delivery import retry_after_seconds, run_dispatcher
from tests.conftest import TEST_ENCRYPTION_KEYS
from tests.webhooks.helpers import make_connection


async def _until(condition, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_the_dispatcher_delivers_until_stopped(owner, settings, key_ring, endpoint, receiver):
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_dispatcher(settings=settings, key_ring=key_ring, stop_event=stop, interval=0.05)
    )
    try:
        await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
        await _until(lambda: len(receiver.received) == 1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert receiver.received[0].headers["weir-event-id"].startswith("evt_")


async def test_the_embedded_server_delivers_webhooks(tmp_path, receiver):
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from server.db import migrate
    from server.embedded import create_app

    EXECUTOR_CACHE.clear()
    settings = Settings(
        data_dir=tmp_path / "data", webhooks_poll_seconds=0.05, encryption_keys=Secret(TEST_ENCRYPTION_KEYS)
    )
    assert settings.embedded
    await migrate(settings)
    key_ring = load_key_ring(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        organization = await Organization.create(id=ids.new_id("organization"), name="Acme")
        workspace = await Workspace.create(
            id=ids.new_id("workspace"), organization=organization, name="default"
        )
        scope = Scope(organization_id=organization.id)
        await service.create_endpoint(
            scope=scope,
            settings=settings,
            key_ring=key_ring,
            workspace_id=workspace.id,
            url=receiver.url,
            event_types=["connection.created"],
        )
        await make_connection(scope, workspace.id, settings, key_ring)
        await _until(lambda: len(receiver.received) == 1)


def test_retry_after_is_read_as_seconds_or_a_date():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds(format_datetime(now + timedelta(minutes=5), usegmt=True), now) == 300
    assert retry_after_seconds(format_datetime(now - timedelta(minutes=5), usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


async def test_weir_worker_delivers_webhooks_on_its_own_loop(app, settings, key_ring, receiver):
    from server.syncs.queue import current_broker
    from server.worker.main import EmbeddedWorker

    organization = await Organization.create(id=ids.new_id("organization"), name="Acme")
    workspace = await Workspace.create(id=ids.new_id("workspace"), organization=organization, name="default")
    scope = Scope(organization_id=organization.id)
    await service.create_endpoint(
        scope=scope,
        settings=settings,
        key_ring=key_ring,
        workspace_id=workspace.id,
        url=receiver.url,
        event_types=["connection.created"],
    )
    worker = EmbeddedWorker(
        settings=settings.replace(webhooks_poll_seconds=0.05),
        broker=current_broker(),
        bus=None,
        threads=1,
        webhooks=True,
    )
    await asyncio.to_thread(worker.start)
    try:
        await make_connection(scope, workspace.id, settings, key_ring)
        await _until(lambda: len(receiver.received) == 1)
    finally:
        await asyncio.to_thread(worker.stop)
