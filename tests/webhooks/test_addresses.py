"""Webhooks cannot probe the private network in production: refused when saved and when sent."""

from __future__ import annotations

import pytest

from server.errors import ValidationFailed
from server.webhooks import service
from server.webhooks.delivery import build_http_client, post
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
    # Not private by every Python's tables, but not routable either.
    "http://100.64.0.1/hooks",
    "http://100.100.100.200/latest/meta-data",
    "http://[fec0::1]/hooks",
    "http://[2002:7f00:1::]/hooks",
    "http://[64:ff9b::7f00:1]/hooks",
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
        await service.create_endpoint(
            scope=owner.scope,
            settings=production,
            key_ring=key_ring,
            workspace_id=owner.workspace_id,
            url=url,
            event_types=["connection.created"],
        )
    assert [error.field for error in refused.value.errors] == ["input.url"]
    if "[" not in url:  # IPv6 literals are refused earlier, by the shared URL check
        assert "WEIR_OUTBOUND_ALLOW" in refused.value.errors[0].message
        assert "is not an allowed destination" in refused.value.errors[0].message


async def test_the_operator_may_open_a_network(owner, settings, key_ring):
    allowed = settings.replace(env="production", outbound_allow=("10.0.0.0/8",))
    created = await service.create_endpoint(
        scope=owner.scope,
        settings=allowed,
        key_ring=key_ring,
        workspace_id=owner.workspace_id,
        url="http://10.1.2.3/hooks",
        event_types=["connection.created"],
    )
    assert created.endpoint.url == "http://10.1.2.3/hooks"
    with pytest.raises(ValidationFailed):  # only that network
        await service.create_endpoint(
            scope=owner.scope,
            settings=allowed,
            key_ring=key_ring,
            workspace_id=owner.workspace_id,
            url="http://192.168.0.10/hooks",
            event_types=["connection.created"],
        )


async def test_the_deprecated_switch_still_allows_private_targets(owner, settings, key_ring):
    allowed = settings.replace(env="production", webhooks_allow_private=True)
    created = await service.create_endpoint(
        scope=owner.scope,
        settings=allowed,
        key_ring=key_ring,
        workspace_id=owner.workspace_id,
        url="http://10.1.2.3/hooks",
        event_types=["connection.created"],
    )
    assert created.endpoint.url == "http://10.1.2.3/hooks"


async def test_public_targets_are_accepted_in_production(owner, settings, key_ring):
    production = settings.replace(env="production")
    created = await service.create_endpoint(
        scope=owner.scope,
        settings=production,
        key_ring=key_ring,
        workspace_id=owner.workspace_id,
        url="https://93.184.216.34/hooks",
        event_types=["connection.created"],
    )
    assert created.endpoint.enabled


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://user:pw@example.com/x",
        "not a url",
    ],
)
async def test_only_http_urls_without_credentials_are_accepted(owner, settings, key_ring, url):
    with pytest.raises(ValidationFailed) as refused:
        await service.create_endpoint(
            scope=owner.scope,
            settings=settings,
            key_ring=key_ring,
            workspace_id=owner.workspace_id,
            url=url,
            event_types=["connection.created"],
        )
    assert refused.value.errors[0].field == "input.url"


async def test_a_url_that_now_resolves_privately_is_refused_at_delivery(
    owner, settings, key_ring, endpoint, receiver, dispatcher
):
    # Saved while allowed (development); the dispatcher runs in production: resolved again.
    dispatcher.settings = settings.replace(env="production")
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    assert await dispatcher.run() == 1
    assert receiver.received == []
    [delivery] = await deliveries_of(endpoint.endpoint.id)
    assert delivery.status == "PENDING"
    assert delivery.attempts[0]["error"].startswith("refused: 127.0.0.1 is not an allowed")


async def test_the_delivery_client_checks_the_address_it_connects_to(settings, receiver):
    # Even a URL that passed every earlier check is refused by the client when it connects.
    production = settings.replace(env="production")
    async with build_http_client(production) as http:
        outcome = await post(http, receiver.url, b"{}", {"Weir-Event-Id": "evt_1"}, 5)
    assert not outcome.succeeded
    assert (
        outcome.error == "refused: 127.0.0.1 is not an allowed destination (the outbound policy refuses it)"
    )
    assert receiver.received == []
    async with build_http_client(settings) as http:  # loopback is open outside production
        outcome = await post(http, receiver.url, b"{}", {"Weir-Event-Id": "evt_1"}, 5)
    assert outcome.succeeded


async def test_changing_the_url_is_checked_the_same_way(owner, settings, key_ring):
    production = settings.replace(env="production")
    created = await service.create_endpoint(
        scope=owner.scope,
        settings=production,
        key_ring=key_ring,
        workspace_id=owner.workspace_id,
        url="https://93.184.216.34/hooks",
        event_types=["connection.created"],
    )
    with pytest.raises(ValidationFailed) as refused:
        await service.update_endpoint(
            scope=owner.scope,
            settings=production,
            endpoint_id=created.endpoint.id,
            url="http://169.254.169.254/latest/meta-data",
        )
    assert refused.value.errors[0].field == "input.url"
    unchanged = await service.get_endpoint(scope=owner.scope, endpoint_id=created.endpoint.id)
    assert unchanged.url == "https://93.184.216.34/hooks"
