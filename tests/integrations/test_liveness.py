"""Liveness checks from the scheduler tick: every connection (API keys too) checked now and then
with jitter, a DEGRADED one retried with backoff, OAuth grants refreshed to keep them alive,
and no connection checked twice by two schedulers. Against the OAuth authorization server
emulator (rotating refresh tokens, an outage, a revoked grant) and a fake API-key provider."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from server.connections import service as connections
from server.connections.models import Connection
from server.crypto import load_key_ring
from server.integrations import liveness
from server.scope import Scope
from server.webhooks.models import WebhookEvent
from tests.connections.conftest import fake_integrations  # noqa: F401 -- autouse fixture
from tests.connections.fakes import GOOD_SECRET, mock_client
from tests.emulators.oauth_provider import OAuthProvider, serve_app
from tests.proxy.test_refresh import _oauth_connection, _refreshes

HOUR = 3600.0


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.replace(
        connection_check_interval_seconds=6 * HOUR,
        oauth_keepalive_seconds=24 * HOUR,
        connection_check_retry_seconds=60.0,
        connection_checks_per_tick=20,
        checks_reuse_seconds=0,
    )


def fixed(fraction: float):  # type: ignore[no-untyped-def]
    """A ``uniform`` that always lands ``fraction`` of the way from its low to its high end."""
    return lambda low, high: low + (high - low) * fraction


async def _due(connection: Connection) -> None:
    await Connection.filter(id=connection.id).update(next_check_at=datetime.now(UTC) - timedelta(seconds=1))


async def _sweep(settings, http, **options):  # type: ignore[no-untyped-def]
    return await liveness.check_due_connections(
        settings=settings, key_ring=load_key_ring(settings), http=http, bus=None, **options
    )


async def _api_key_connection(tenant, settings, secret: str) -> Connection:  # type: ignore[no-untyped-def]
    return await connections.create_connection(
        scope=Scope(organization_id=tenant.organization_id),
        key_ring=load_key_ring(settings),
        settings=settings,
        integration_name="acme_key",
        auth_type="SECRET_TEXT",
        credentials={"secret_text": secret},
        connection_scope="WORKSPACE",
        workspace_id=tenant.workspace_id,
    )


async def test_a_new_connection_gets_a_first_check_spread_over_the_interval(tenant, settings):
    first = await _api_key_connection(tenant, settings, GOOD_SECRET)
    second = await _api_key_connection(tenant, settings, GOOD_SECRET)
    now = datetime.now(UTC)
    fractions = iter([0.25, 0.75])
    async with mock_client() as http:
        checked = await _sweep(
            settings, http, now=now, uniform=lambda low, high: low + (high - low) * next(fractions)
        )
    assert checked == []  # planned, not checked at once
    planned = sorted([(await Connection.get(id=c.id)).next_check_at for c in (first, second)])
    assert planned == [now + timedelta(hours=1.5), now + timedelta(hours=4.5)]


async def test_an_api_key_is_checked_when_due_and_next_in_a_jittered_interval(tenant, settings):
    good = await _api_key_connection(tenant, settings, GOOD_SECRET)
    revoked = await _api_key_connection(tenant, settings, "sk-live-revoked-since-0000")
    await _due(good)
    await _due(revoked)
    async with mock_client() as http:
        before = datetime.now(UTC)
        checked = await _sweep(settings, http, uniform=fixed(1.0))  # the most jitter: +10%
    assert sorted(checked) == sorted([good.id, revoked.id])
    good, revoked = await Connection.get(id=good.id), await Connection.get(id=revoked.id)
    assert (good.health, good.status) == ("WORKING", "ACTIVE")
    assert good.last_checked_at is not None and good.last_checked_at >= before
    expected = before + timedelta(hours=6 * 1.1)
    assert expected <= good.next_check_at <= expected + timedelta(seconds=30)
    assert (revoked.health, revoked.status) == ("NEEDS_REAUTHORIZATION", "ERROR")
    assert "Invalid API key" in (revoked.health_reason or "")
    assert "sk-live-revoked-since-0000" not in (revoked.health_reason or "")
    changes = await WebhookEvent.filter(object_id=revoked.id, type="connection.health_changed")
    assert [change.payload["health"] for change in changes] == ["NEEDS_REAUTHORIZATION"]
    # Checked now, so not due again this tick.
    async with mock_client() as http:
        assert await _sweep(settings, http) == []


async def test_a_degraded_connection_is_retried_with_backoff_then_recovers(tenant, settings, monkeypatch):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url, httpx.AsyncClient() as http:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        provider.unavailable = True
        waits = []
        for _ in range(3):
            await _due(connection)
            start = datetime.now(UTC)
            assert await _sweep(settings, http) == [connection.id]
            stored = await Connection.get(id=connection.id)
            assert (stored.health, stored.status) == ("DEGRADED", "ACTIVE")
            waits.append(round((stored.next_check_at - start).total_seconds() / 60))
        assert waits == [1, 2, 4]  # 60 s, doubling per failure
        assert stored.check_failures == 3
        provider.unavailable = False
        await _due(connection)
        await _sweep(settings, http, uniform=fixed(0.5))
    stored = await Connection.get(id=connection.id)
    assert (stored.health, stored.check_failures) == ("WORKING", 0)
    assert stored.next_check_at - datetime.now(UTC) > timedelta(hours=5.9)


async def test_an_oauth_grant_is_refreshed_to_keep_it_alive(tenant, settings, monkeypatch):
    provider = OAuthProvider()  # rotates its refresh tokens
    async with serve_app(provider.app()) as url, httpx.AsyncClient() as http:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        # Its token is good for an hour more, but the grant went unused for a day.
        await Connection.filter(id=connection.id).update(
            last_refreshed_at=datetime.now(UTC) - timedelta(hours=25)
        )
        await _due(connection)
        assert await _sweep(settings, http) == [connection.id]
        assert len(_refreshes(provider)) == 1
        assert "rt_first" not in provider.refresh_tokens or len(provider.refresh_tokens) > 1
        stored = await Connection.get(id=connection.id)
        assert stored.health == "WORKING"
        assert stored.last_refreshed_at > datetime.now(UTC) - timedelta(minutes=1)
        # Refreshed a moment ago: the next check does not refresh again.
        await _due(connection)
        await _sweep(settings, http)
    assert len(_refreshes(provider)) == 1


async def test_a_keep_alive_refresh_of_a_revoked_grant_needs_reauthorization(tenant, settings, monkeypatch):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url, httpx.AsyncClient() as http:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        await Connection.filter(id=connection.id).update(
            last_refreshed_at=datetime.now(UTC) - timedelta(days=2)
        )
        provider.refuse_refresh = True  # invalid_grant
        await _due(connection)
        await _sweep(settings, http)
    stored = await Connection.get(id=connection.id)
    assert (stored.health, stored.status) == ("NEEDS_REAUTHORIZATION", "ERROR")
    assert "invalid_grant" in (stored.health_reason or "")


async def test_two_schedulers_never_check_one_connection_twice(tenant, settings):
    rows = [await _api_key_connection(tenant, settings, GOOD_SECRET) for _ in range(6)]
    for row in rows:
        await _due(row)
    async with mock_client() as http:
        first, second = await asyncio.gather(_sweep(settings, http), _sweep(settings, http))
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(row.id for row in rows)


async def test_checks_per_tick_bounds_a_sweep(tenant, settings):
    rows = [await _api_key_connection(tenant, settings, GOOD_SECRET) for _ in range(3)]
    for row in rows:
        await _due(row)
    async with mock_client() as http:
        assert len(await _sweep(settings.replace(connection_checks_per_tick=2), http)) == 2
        assert len(await _sweep(settings.replace(connection_checks_per_tick=2), http)) == 1
        assert await _sweep(settings.replace(connection_checks_per_tick=0), http) == []


async def test_a_connection_without_a_check_is_only_rescheduled(tenant, settings, monkeypatch):
    from types import SimpleNamespace

    from server.connectors import registry
    from tests.connections.fakes import ACME_KEY

    monkeypatch.setitem(registry.CONNECTORS, "acme_key", SimpleNamespace(SPEC=ACME_KEY.SPEC, check=None))
    row = await _api_key_connection(tenant, settings, GOOD_SECRET)
    await _due(row)
    async with mock_client() as http:
        assert await _sweep(settings, http) == [row.id]
    stored = await Connection.get(id=row.id)
    assert stored.last_checked_at is None and stored.health == "WORKING"
    assert stored.next_check_at > datetime.now(UTC) + timedelta(hours=5)
