"""examples/dashboard in a real browser, served from another origin than Weir (CORS + WebSocket):
the syncs of a workspace appear, and a run triggered from the page is followed live to its end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles

from server.crypto import load_key_ring
from server.scope import Scope
from server.syncs import service
from server.syncs.service import StreamChoice, SyncChanges
from tests.browser.conftest import ROOT
from tests.conftest import Tenant, make_tenant
from tests.serving import free_port
from tests.serving import serve as serve_app
from tests.syncs.conftest import create_demo_connection

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

DASHBOARD = ROOT / "examples" / "dashboard"


@pytest.fixture
async def weir(require_chromium: None, settings: Any) -> AsyncIterator[tuple[str, str, Tenant]]:
    """Weir with a worker in its process, allowing the dashboard's origin; the dashboard URL."""
    from server.embedded import create_app
    from server.syncs.queue import current_broker
    from server.worker.main import EmbeddedWorker

    port, dashboard_port = free_port(), free_port()
    dashboard_url = f"http://localhost:{dashboard_port}"
    settings = settings.replace(port=port, cors_origins=(dashboard_url,))
    weir_url = f"http://127.0.0.1:{port}"
    application = create_app(settings)
    static = Starlette()
    static.mount("/", StaticFiles(directory=DASHBOARD, html=True))
    async with (
        application.router.lifespan_context(application),
        serve_app(application, port=port),
        serve_app(static, host="127.0.0.1", port=dashboard_port),
    ):
        worker = EmbeddedWorker(
            settings=settings, broker=current_broker(), bus=application.state.runtime.services.bus, threads=1
        )
        await asyncio.to_thread(worker.start)
        try:
            async with httpx.AsyncClient(base_url=weir_url) as http:
                tenant = await make_tenant(http, "Acme")
            yield weir_url, dashboard_url, tenant
        finally:
            await asyncio.to_thread(worker.stop)


async def make_syncs(settings: Any, tenant: Tenant, count: int) -> list[str]:
    scope = Scope(organization_id=tenant.organization_id)
    connection_id = await create_demo_connection(tenant.organization_id, tenant.workspace_id)
    made = []
    for index in range(count):
        sync = await service.create_sync(
            scope=scope,
            settings=settings,
            key_ring=load_key_ring(settings),
            bus=None,
            connection_id=connection_id,
            changes=SyncChanges(
                destination_schema=f"dash_{index}",
                settings={"contacts": 3000, "companies": 10, "deals": 10, "batch_size": 100},
                sync_interval="0 * * * *",
            ),
            streams=[StreamChoice(name="contacts", sync_mode="INCREMENTAL")],
        )
        made.append(sync.id)
    return made


async def test_the_dashboard_lists_syncs_and_follows_a_triggered_run_live(
    browser: Any,
    weir: tuple[str, str, Tenant],
    settings: Any,
) -> None:
    weir_url, dashboard_url, tenant = weir
    sync_ids = await make_syncs(settings, tenant, 2)
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{dashboard_url}/?api={weir_url}&workspace={tenant.workspace_id}")
    await page.fill("#key", tenant.key)
    await page.click("button[type=submit]")
    await page.wait_for_selector("#state:has-text('live')")
    for sync_id in sync_ids:
        await page.wait_for_selector(f"tr[data-sync-id='{sync_id}'] td.NEVER")

    # The key is only in sessionStorage, and the input was cleared.
    assert await page.input_value("#key") == ""
    assert await page.evaluate("localStorage.length") == 0

    row = f"tr[data-sync-id='{sync_ids[0]}']"
    await page.click(f"{row} button")
    await page.wait_for_selector(f"{row} td.SUCCEEDED", timeout=30_000)
    assert await page.text_content(f"{row} [data-field=rows]") == "3,000"
    # The other sync did not run.
    assert await page.text_content(f"tr[data-sync-id='{sync_ids[1]}'] [data-field=status]") == "never run"
    assert errors == []
