"""Size limits: a request body over WEIR_PROXY_MAX_REQUEST_BYTES is 413 and never sent; an
answer over WEIR_PROXY_MAX_RESPONSE_BYTES is 502 (or, once streaming, cut off)."""

from __future__ import annotations

import httpx
import pytest

from server.calls.models import CallLog
from tests.calls.helpers import flush_calls


@pytest.fixture
def settings(settings):
    return settings.replace(proxy_max_request_bytes=1000, proxy_max_response_bytes=100_000)


async def test_a_body_over_the_limit_is_refused_before_it_is_sent(proxied):
    response = await proxied.tenant.http.post("/proxy/echo/x", content=b"a" * 1001, headers=proxied.headers())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    at_limit = await proxied.tenant.http.post("/proxy/echo/x", content=b"a" * 1000, headers=proxied.headers())
    assert at_limit.status_code == 200
    assert proxied.api.bytes_received == [1000]


async def test_a_chunked_body_over_the_limit_is_refused_while_reading(proxied, live_server):
    async def upload():
        for _ in range(5):
            yield b"b" * 400

    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        response = await http.post("/proxy/echo/x", content=upload(), headers=proxied.headers())
    assert response.status_code == 413
    assert proxied.api.controls.calls == []


async def test_an_answer_declared_over_the_limit_is_502(proxied):
    response = await proxied.tenant.http.get("/proxy/sized?bytes=100001", headers=proxied.headers())
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "RESPONSE_TOO_LARGE"
    ok = await proxied.tenant.http.get("/proxy/sized?bytes=100000", headers=proxied.headers())
    assert ok.status_code == 200 and len(ok.content) == 100_000


async def test_a_streamed_answer_over_the_limit_is_cut_off(proxied, live_server, app):
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        with pytest.raises(httpx.HTTPError):
            async with http.stream("GET", "/proxy/big?mb=1", headers=proxied.headers()) as response:
                assert response.status_code == 200
                async for _ in response.aiter_raw():
                    pass
    await flush_calls(app)
    rows = await CallLog.filter(organization_id=proxied.tenant.organization_id)
    assert [(row.status, row.error_code) for row in rows] == [("FAILED", "RESPONSE_TOO_LARGE")]


async def test_a_head_answer_announcing_a_large_body_is_passed_on(proxied):
    response = await proxied.tenant.http.head("/proxy/sized?bytes=500000", headers=proxied.headers())
    assert response.status_code == 200
    assert response.content == b""
