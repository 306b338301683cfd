"""Real-browser fixtures: Debian's Chromium through Playwright, and three loopback origins.

Weir runs on ``http://127.0.0.1:<port>``, the OAuth2 emulator on another 127.0.0.1 port, and
the example host app on ``http://localhost:<port>``: three different origins, as in production.
Without /usr/bin/chromium the tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CI, Tenant, make_tenant
from tests.connect.support import configure_workspace, install_catalog
from tests.emulators.oauth_provider import OAuthProvider, serve_app
from tests.serving import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
# The README's screenshots of the four modes. Tests write them only when asked
# (WEIR_UPDATE_SCREENSHOTS=1 python -m pytest tests/browser), then commit the new files;
# otherwise to a temporary directory, so that a test run never changes a tracked file.
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where a test saves its screenshots: docs/screenshots only under WEIR_UPDATE_SCREENSHOTS=1."""
    if os.environ.get("WEIR_UPDATE_SCREENSHOTS") == "1":
        return DOCS_SCREENSHOTS
    return tmp_path


@pytest.fixture
def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if CI:
            pytest.fail(message)
        pytest.skip(message)


def _load_example_host_app() -> Any:
    """The example host app (examples/host-app/app.py) is the host page under test."""
    path = ROOT / "examples" / "host-app" / "app.py"
    spec = importlib.util.spec_from_file_location("weir_example_host_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


JS_PACKAGE = ROOT / "clients" / "js"


def _npm(*args: str) -> None:
    subprocess.run(
        ["npm", *args, "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS_PACKAGE, check=True, timeout=600
    )


@pytest.fixture(scope="session")
def js_package() -> Path:
    """clients/js built (the example host app serves dist/index.js) and its React test page bundled."""
    if shutil.which("npm") is None:
        if CI:
            pytest.fail("node and npm are needed to build clients/js for the browser tests")
        pytest.skip("node/npm missing")
    if not (JS_PACKAGE / "node_modules" / ".bin" / "tsc").exists():
        _npm("ci")
    _npm("run", "build")
    _npm("run", "test:bundle")
    return JS_PACKAGE / "dist"


@dataclass
class Stack:
    weir_url: str
    host_url: str
    provider: OAuthProvider
    tenant: Tenant
    settings: Any


@pytest.fixture
async def stack(
    require_chromium: None, js_package: Path, settings: Any, monkeypatch: Any
) -> AsyncIterator[Stack]:
    from server.embedded import create_app

    host_app = _load_example_host_app()

    port = free_port()
    weir_url = f"http://127.0.0.1:{port}"
    settings = settings.replace(public_url=weir_url, port=port)
    provider = OAuthProvider(redirect_uris=[f"{weir_url}/oauth/callback"])
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        serve_app(application, port=port),
        serve_app(provider.app()) as provider_url,
    ):
        provider.issuer = provider_url
        install_catalog(monkeypatch, provider_url)
        async with httpx.AsyncClient(base_url=weir_url) as http:
            tenant = await make_tenant(http, "Acme")
            host_port = free_port()
            host_url = f"http://localhost:{host_port}"
            await configure_workspace(
                settings, tenant.workspace_id, origins=[host_url], redirect_uris=[f"{host_url}/connected"]
            )
            host = host_app.create_app(
                weir_url=weir_url, api_key=tenant.key, public_url=host_url, workspace_id=tenant.workspace_id
            )
            async with serve_app(host, host="127.0.0.1", port=host_port):
                yield Stack(
                    weir_url=weir_url, host_url=host_url, provider=provider, tenant=tenant, settings=settings
                )


@pytest.fixture
async def browser(require_chromium: None) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        context = await chromium.new_context(viewport={"width": 1100, "height": 800})
        context.set_default_timeout(30_000)  # generous: CI machines are shared
        try:
            yield context
        finally:
            await context.close()
            await chromium.close()


CONSOLE_PACKAGE = ROOT / "console"
AXE = CONSOLE_PACKAGE / "node_modules" / "axe-core" / "axe.min.js"


@dataclass
class ConsoleSite:
    """Weir serving its API and console, with a worker in its process (runs go through the
    queue as under ``weir serve``), a tenant, and a browser tab signed in to its console."""

    url: str
    tenant: Tenant
    settings: Any
    page: Any
    bus: Any = None  # the app's event bus, for tests that publish a change as a service would

    async def open(self, route: str = "/") -> None:
        """Go to a console route (``/syncs``) and wait for its page heading."""
        await self.page.goto(f"{self.url}/console#{route}")
        await self.page.locator("#page-title").wait_for()

    async def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now."""
        # Through the DevTools protocol: the console's policy refuses any inline script tag.
        await self.page.evaluate(AXE.read_text() + ";undefined")
        result = await self.page.evaluate("async () => (await axe.run(document)).violations")
        return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.fixture(scope="session")
def axe_core() -> Path:
    """console/node_modules (axe-core for the accessibility checks), installed from its lock file."""
    if not AXE.exists():
        if shutil.which("npm") is None:
            if CI:
                pytest.fail("node and npm are needed to install axe-core for the console tests")
            pytest.skip("node/npm missing")
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=CONSOLE_PACKAGE,
            check=True,
            timeout=600,
        )
    return AXE


@pytest.fixture
async def console(browser: Any, axe_core: Path, settings: Any) -> AsyncIterator[ConsoleSite]:
    from server.embedded import create_app
    from server.syncs.queue import current_broker
    from server.web.ws_server import WeirWebSocketProtocol
    from server.worker.main import EmbeddedWorker
    from tests.serving import serve

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings.replace(public_url=url, port=port)
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        serve(application, port=port, ws=WeirWebSocketProtocol),
    ):
        # The tests' settings name a database, so the app starts no worker of its own.
        worker = EmbeddedWorker(
            settings=settings, broker=current_broker(), bus=application.state.runtime.services.bus, threads=1
        )
        await asyncio.to_thread(worker.start)
        async with httpx.AsyncClient(base_url=url) as http:
            tenant = await make_tenant(http, "Acme")
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(f"{url}/console")
            await page.get_by_label("API key").fill(tenant.key)
            await page.get_by_role("button", name="Sign in").click()
            await page.locator("#page-title").wait_for()
            try:
                yield ConsoleSite(
                    url=url,
                    tenant=tenant,
                    settings=settings,
                    page=page,
                    bus=application.state.runtime.services.bus,
                )
            finally:
                await asyncio.to_thread(worker.stop)
            assert errors == [], errors  # no uncaught script error on any page the test visited
