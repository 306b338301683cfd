"""Bodies stream both ways; a provider's rate limit is waited out once when it is short."""

from __future__ import annotations

import asyncio

import httpx

from server.calls.models import CallLog
from tests.calls.helpers import flush_calls

MIB = 1024 * 1024


async def test_a_large_answer_streams_through_in_chunks(proxied, live_server, app):
    async with httpx.AsyncClient(base_url=f"http://{live_server}", timeout=20) as http:
        async with http.stream("GET", "/proxy/big?mb=4&hold=1", headers=proxied.headers()) as response:
            assert response.status_code == 200
            assert "content-length" not in response.headers
            chunks = response.aiter_raw()
            # The emulator holds the rest until this first part came through: a proxy that
            # waited for the whole body would never get here.
            first = await asyncio.wait_for(anext(chunks), 5)
            proxied.api.release.set()
            sizes = [len(first)] + [len(chunk) async for chunk in chunks]
    assert sum(sizes) == 4 * MIB
    assert len(sizes) > 1
    await flush_calls(app)
    row = await CallLog.get(organization_id=proxied.tenant.organization_id)
    assert (row.status, row.http_status, row.path) == ("SUCCEEDED", 200, "/big")


async def test_a_streamed_upload_arrives_whole(proxied, live_server):
    async def upload():
        for _ in range(48):
            yield b"z" * 65536

    async with httpx.AsyncClient(base_url=f"http://{live_server}", timeout=20) as http:
        response = await http.post("/proxy/echo/upload", content=upload(), headers=proxied.headers())
    assert response.status_code == 200, response.text
    assert response.json()["bodyBytes"] == 3 * MIB
    assert proxied.api.bytes_received == [3 * MIB]


async def test_a_short_retry_after_is_waited_out_once(proxied):
    proxied.api.controls.rate_limit_once(retry_after=1)
    response = await proxied.tenant.http.get("/proxy/limited", headers=proxied.headers())
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert proxied.api.controls.calls == ["GET /v1/limited", "GET /v1/limited"]


async def test_a_long_retry_after_is_answered_with_429_at_once(proxied, app):
    proxied.api.controls.rate_limit_once(retry_after=120)
    response = await proxied.tenant.http.get("/proxy/limited", headers=proxied.headers())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "120"
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert response.json()["error"]["retryAfter"] == 120
    assert proxied.api.controls.calls == ["GET /v1/limited"]
    await flush_calls(app)
    row = await CallLog.get(organization_id=proxied.tenant.organization_id)
    assert (row.status, row.error_code) == ("FAILED", "RATE_LIMITED")


async def test_a_provider_rate_limit_holds_the_next_call_without_sending_it(proxied):
    proxied.api.controls.rate_limit_once(retry_after=120)
    first = await proxied.tenant.http.get("/proxy/limited", headers=proxied.headers())
    assert first.status_code == 429
    # The connection's rate budget (shared with syncs and actions) learned the wait.
    second = await proxied.tenant.http.get("/proxy/echo/x", headers=proxied.headers())
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "RATE_LIMITED"
    assert 100 <= int(second.headers["retry-after"]) <= 120
    assert proxied.api.controls.calls == ["GET /v1/limited"]


async def test_still_limited_after_the_wait_is_429(proxied):
    proxied.api.controls.rate_limited, proxied.api.controls.retry_after = 2, 1
    response = await proxied.tenant.http.get("/proxy/limited", headers=proxied.headers())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert len(proxied.api.controls.calls) == 2
