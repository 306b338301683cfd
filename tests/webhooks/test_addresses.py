"""Webhooks cannot probe the private network in production: refused when saved and when sent."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from server.errors import ValidationFailed
from server.webhooks import service
from server.webhooks.addresses import Target, pinned_url
from server.webhooks.delivery import post
from tests.webhooks.helpers import deliveries_of, make_connection

PRIVATE_URLS = [
    "http://127.0.0.1:8000/hooks",
    "http://localhost/hooks",
    "http://[::1]/hooks",
    "http://169.254.169.254/latest/meta-data",
    "http://10.1.2.3/hooks",
    "http://192.168.0.10/hooks",
    "http://0.0.0.0/hooks",
    "http://[::ffff:127.0.0.1]/hooks",
    "http://224.0.0.1/hooks",
    # Other spellings of 127.0.0.1 that resolvers accept.
    "http://2130706433/hooks",
    "http://0x7f.1/hooks",
    "http://0177.0.0.1/hooks",
    "http://127.1/hooks",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
async def test_private_targets_are_refused_in_production(owner, settings, key_ring, url):
    production = settings.replace(env="production")
    with pytest.raises(ValidationFailed) as refused:
        await service.create_endpoint(scope=owner.scope, settings=production, key_ring=key_ring,
                                      workspace_id=owner.workspace_id, url=url,
                                      event_types=["connection.created"])
    assert [error.field for error in refused.value.errors] == ["input.url"]
    if "[" not in url:  # IPv6 literals are refused earlier, by the shared URL check
        assert "WEIR_WEBHOOKS_ALLOW_PRIVATE" in refused.value.errors[0].message


async def test_the_operator_may_allow_private_targets(owner, settings, key_ring):
    allowed = settings.replace(env="production", webhooks_allow_private=True)
    created = await service.create_endpoint(
        scope=owner.scope, settings=allowed, key_ring=key_ring, workspace_id=owner.workspace_id,
        url="http://10.1.2.3/hooks", event_types=["connection.created"])
    assert created.endpoint.url == "http://10.1.2.3/hooks"


async def test_public_targets_are_accepted_in_production(owner, settings, key_ring):
    production = settings.replace(env="production")
    created = await service.create_endpoint(
        scope=owner.scope, settings=production, key_ring=key_ring,
        workspace_id=owner.workspace_id, url="https://93.184.216.34/hooks",
        event_types=["connection.created"])
    assert created.endpoint.enabled


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd",
                                 "javascript:alert(1)", "https://user:pw@example.com/x",
                                 "not a url"])
async def test_only_http_urls_without_credentials_are_accepted(owner, settings, key_ring, url):
    with pytest.raises(ValidationFailed) as refused:
        await service.create_endpoint(scope=owner.scope, settings=settings, key_ring=key_ring,
                                      workspace_id=owner.workspace_id, url=url,
                                      event_types=["connection.created"])
    assert refused.value.errors[0].field == "input.url"


async def test_a_url_that_now_resolves_privately_is_refused_at_delivery(
        owner, settings, key_ring, endpoint, receiver, dispatcher):
    # Saved while allowed (development); the dispatcher runs in production: resolved again.
    dispatcher.settings = settings.replace(env="production")
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    assert await dispatcher.run() == 1
    assert receiver.received == []
    [delivery] = await deliveries_of(endpoint.endpoint.id)
    assert delivery.status == "PENDING"
    assert delivery.attempts[0]["error"].startswith("refused: 127.0.0.1 resolves to a private")


def test_the_checked_address_is_the_one_connected_to():
    target = Target(url="https://hooks.example.com:8443/in?x=1", host="hooks.example.com",
                    address=ipaddress.ip_address("93.184.216.34"))
    assert pinned_url(target) == "https://93.184.216.34:8443/in?x=1"
    six = Target(url="http://hooks.example.com/in", host="hooks.example.com",
                 address=ipaddress.ip_address("2606:2800:220:1::1"))
    assert pinned_url(six) == "http://[2606:2800:220:1::1]/in"


async def test_a_pinned_request_keeps_the_host_name_for_http_and_tls():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    target = Target(url="https://hooks.example.com/in", host="hooks.example.com",
                    address=ipaddress.ip_address("93.184.216.34"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        outcome = await post(http, target, b"{}", {"Weir-Event-Id": "evt_1"}, 5)
    assert outcome.succeeded
    [request] = seen
    assert request.url.host == "93.184.216.34"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


async def test_changing_the_url_is_checked_the_same_way(owner, settings, key_ring):
    production = settings.replace(env="production")
    created = await service.create_endpoint(
        scope=owner.scope, settings=production, key_ring=key_ring,
        workspace_id=owner.workspace_id, url="https://93.184.216.34/hooks",
        event_types=["connection.created"])
    with pytest.raises(ValidationFailed) as refused:
        await service.update_endpoint(scope=owner.scope, settings=production,
                                      endpoint_id=created.endpoint.id,
                                      url="http://169.254.169.254/latest/meta-data")
    assert refused.value.errors[0].field == "input.url"
    unchanged = await service.get_endpoint(scope=owner.scope, endpoint_id=created.endpoint.id)
    assert unchanged.url == "https://93.184.216.34/hooks"
