"""The newcomer's path, out of process: ``weir demo`` on a fresh data directory, ``weir serve``,
then the console in Chromium shows the demo sync's runs and starts one."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import AXE, ROOT
from tests.serving import free_port

pytestmark = pytest.mark.timeout(240)


def weir_env(data_dir: Path, port: int) -> dict[str, str]:
    """The embedded default on ``data_dir``: no WEIR_* of the test run leaks in."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("WEIR_")}
    return {
        **environ,
        "PYTHONPATH": str(ROOT),
        "WEIR_DATA_DIR": str(data_dir),
        "WEIR_PORT": str(port),
        "WEIR_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }


def demo_then_serve(tmp_path: Path, port: int) -> tuple[str, subprocess.Popen[str]]:
    """Run ``weir demo`` on a fresh data directory, then start ``weir serve`` on it; return the
    API key the demo printed and the server process (answering ``/healthz``)."""
    environ = weir_env(tmp_path / ".weir", port)
    demo = subprocess.run(
        [sys.executable, "-m", "server.cli", "demo", "--contacts", "300"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    key = re.search(r"API key \(shown once\): (\S+)", demo.stdout)
    assert key is not None, demo.stdout
    assert f"http://127.0.0.1:{port}/console" in demo.stdout
    server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
        env=environ,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return key.group(1), server
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise AssertionError(
                f"weir serve did not answer: {server.stdout.read() if server.stdout else ''}"
            )
        time.sleep(0.2)


async def test_a_newcomer_sees_the_demo_sync_s_runs_and_starts_one(
    browser: Any, axe_core: Path, tmp_path: Path, screenshots: Path
) -> None:
    port = free_port()
    key, server = await asyncio.to_thread(demo_then_serve, tmp_path, port)
    try:
        url = f"http://127.0.0.1:{port}"
        page = await browser.new_page()
        await page.goto(f"{url}/console")
        await page.get_by_label("API key").fill(key)
        await page.get_by_role("button", name="Sign in").click()
        # The overview lists the demo's first run; the sync's page has its history.
        await page.get_by_role("heading", name="Latest runs").wait_for()
        await page.locator(".runs-list").get_by_text("succeeded").first.wait_for()
        await page.screenshot(path=str(screenshots / "console-overview.png"), full_page=True)
        await page.get_by_role("navigation", name="Console").get_by_role("link", name="Syncs").click()
        await page.get_by_role("link", name="demo", exact=True).click()
        await page.get_by_role("heading", name="Sync demo").wait_for()
        runs = page.locator("td[data-label='Run']")
        await runs.first.get_by_text("succeeded").wait_for()  # the demo's own run, once listed
        assert await runs.count() == 1
        await page.get_by_role("button", name="Run now").first.click()
        # The new run appears at the top and finishes there, live.
        await expect(runs).to_have_count(2)
        await runs.first.get_by_text("succeeded").wait_for(timeout=90_000)
        await page.evaluate(AXE.read_text() + ";undefined")
        violations = await page.evaluate("async () => (await axe.run(document)).violations")
        assert [v["id"] for v in violations if v["impact"] in ("serious", "critical")] == []
    finally:
        server.terminate()
        server.wait(20)
