"""The shared provider HTTP handling, on ``httpx.MockTransport`` providers."""

from __future__ import annotations

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.http import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderUnreachable,
    RetryPolicy,
    bearer,
    link_pages,
    redact,
    request,
)

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02, max_wait=5)


def context(answer, **kwargs) -> ConnectorContext:
    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return ConnectorContext(http=client, base_url="https://api.example.com", **kwargs)


async def test_server_errors_are_retried_then_reported():
    calls = []

    def answer(request):
        calls.append(request)
        return httpx.Response(502, json={"message": "bad gateway"})

    with pytest.raises(ProviderError) as raised:
        await request(context(answer), "GET", "https://api.example.com/x", policy=FAST)
    assert len(calls) == 3 and raised.value.status == 502
    assert str(raised.value) == "HTTP 502: bad gateway"


async def test_a_write_that_must_not_happen_twice_is_not_resent_after_a_5xx_or_a_lost_answer():
    calls = []

    def failing(request):
        calls.append(request)
        return httpx.Response(503, json={"message": "try later"})

    with pytest.raises(ProviderError) as raised:
        await request(context(failing), "POST", "https://api.example.com/sms", policy=FAST, replay_safe=False)
    assert len(calls) == 1 and raised.value.status == 503

    lost = []

    def broken(request):
        lost.append(request)
        raise httpx.ReadError("connection reset", request=request)

    with pytest.raises(ProviderUnreachable) as unreachable:
        await request(context(broken), "POST", "https://api.example.com/sms", policy=FAST, replay_safe=False)
    assert len(lost) == 1 and "may have been carried out" in unreachable.value.message


async def test_a_write_is_still_resent_when_the_provider_surely_did_not_take_it():
    calls = []

    def answer(request):
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        if len(calls) == 2:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"message": "slow"})
        return httpx.Response(201, json={"id": "sms_1"})

    response = await request(
        context(answer), "POST", "https://api.example.com/sms", policy=FAST, replay_safe=False
    )
    assert response.json() == {"id": "sms_1"} and len(calls) == 3


async def test_a_retry_after_longer_than_allowed_is_not_waited_for():
    def answer(request):
        return httpx.Response(429, headers={"Retry-After": "3600"}, json={"message": "slow"})

    with pytest.raises(ProviderRateLimited):
        await request(context(answer), "GET", "https://api.example.com/x", policy=FAST)


async def test_a_refresh_happens_once_and_a_second_401_is_final():
    refreshed = []

    async def refresh():
        refreshed.append(1)
        return {"access_token": "new-token-000000"}

    def answer(request):
        return httpx.Response(401, json={"message": "nope"})

    ctx = context(answer, credentials={"access_token": "old-token-000000"}, refresh_credentials=refresh)
    with pytest.raises(ProviderAuthError):
        await request(ctx, "GET", "https://api.example.com/x", auth=bearer("access_token"))
    assert refreshed == [1]


async def test_refreshed_credentials_are_sent_on_the_retry():
    seen = []

    async def refresh():
        return {"access_token": "new-token-000000"}

    def answer(request):
        seen.append(request.headers["authorization"])
        ok = request.headers["authorization"] == "Bearer new-token-000000"
        return httpx.Response(200 if ok else 401, json={})

    ctx = context(answer, credentials={"access_token": "old-token-000000"}, refresh_credentials=refresh)
    await request(ctx, "GET", "https://api.example.com/x", auth=bearer("access_token"))
    assert seen == ["Bearer old-token-000000", "Bearer new-token-000000"]


async def test_a_next_link_to_another_host_is_not_followed():
    def answer(request):
        return httpx.Response(
            200, json=[], headers={"Link": '<https://evil.example.net/steal?page=2>; rel="next"'}
        )

    pages = link_pages(context(answer), "https://api.example.com/items", auth=bearer("t"))
    with pytest.raises(ProviderError, match="another host"):
        async for _ in pages:
            pass


def test_redact_removes_secrets_and_their_masked_echoes():
    credentials = {"secret_text": "sk_live_abcdef123456", "host": "db.example.com"}
    text = "Invalid key sk_live_abcdef123456 or sk_l****3456 on db.example.com"
    assert redact(text, credentials) == ("Invalid key [redacted] or [redacted] on db.example.com")
