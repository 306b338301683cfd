"""OAuth token refresh: before expiry, on a 401, once under concurrency, invalid_grant."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from server.connections import service as connections
from server.connections import status as statuses
from server.connections.models import Connection
from server.crypto import load_key_ring
from server.errors import CheckFailed
from server.events import InMemoryEventBus
from server.integrations import refresh
from tests.connect.conftest import connect_with_oauth


async def _oauth_connection(acme) -> Connection:
    session = await connect_with_oauth(acme, endUserExternalId="u1")
    return await Connection.get(id=session["connectionId"])


def _refreshes(provider) -> list[dict[str, str]]:
    return [r for r in provider.token_requests if r["grant_type"] == "refresh_token"]


async def _expire_soon(connection: Connection, seconds: int = 60) -> None:
    """An hour-long token issued an hour ago, ``seconds`` from its expiry."""
    now = datetime.now(UTC)
    connection.expires_at = now + timedelta(seconds=seconds)
    connection.last_refreshed_at = connection.expires_at - timedelta(hours=1)
    await connection.save(update_fields=["expires_at", "last_refreshed_at"])


async def test_the_refresh_margin_scales_with_the_tokens_lifetime(acme, provider, settings):
    connection = await _oauth_connection(acme)
    now = datetime.now(UTC)
    # A five-minute token just issued: not due (a fixed five-minute margin refreshed it on
    # every use); in its last minute, due.
    connection.last_refreshed_at, connection.expires_at = now, now + timedelta(minutes=5)
    assert refresh.refresh_margin(connection) == timedelta(minutes=1)
    assert not refresh.needs_refresh(connection)
    connection.expires_at = now + timedelta(seconds=50)
    connection.last_refreshed_at = connection.expires_at - timedelta(minutes=5)
    assert refresh.needs_refresh(connection)
    # An hour-long token keeps the five-minute margin.
    connection.last_refreshed_at, connection.expires_at = (
        now - timedelta(minutes=56),
        now + timedelta(minutes=4),
    )
    assert refresh.refresh_margin(connection) == timedelta(minutes=5)
    assert refresh.needs_refresh(connection)
    async with httpx.AsyncClient() as http:
        connection.last_refreshed_at, connection.expires_at = now, now + timedelta(minutes=5)
        await connection.save(update_fields=["expires_at", "last_refreshed_at"])
        await refresh.fresh_credentials(
            settings=settings, key_ring=load_key_ring(settings), connection=connection, http=http, bus=None
        )
    assert not _refreshes(provider)


async def test_credentials_far_from_expiry_are_used_as_they_are(acme, provider, settings):
    connection = await _oauth_connection(acme)
    async with httpx.AsyncClient() as http:
        credentials = await refresh.fresh_credentials(
            settings=settings, key_ring=load_key_ring(settings), connection=connection, http=http, bus=None
        )
    assert credentials["access_token"] in provider.access_tokens
    assert not _refreshes(provider)


async def test_token_near_expiry_is_refreshed_and_rotated_refresh_token_stored(acme, provider, settings):
    key_ring = load_key_ring(settings)
    connection = await _oauth_connection(acme)
    before = connections.load_credentials(key_ring=key_ring, connection=connection)
    await _expire_soon(connection)
    async with httpx.AsyncClient() as http:
        after = await refresh.fresh_credentials(
            settings=settings, key_ring=key_ring, connection=connection, http=http, bus=None
        )
    assert len(_refreshes(provider)) == 1
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    assert after["refresh_token"] in provider.refresh_tokens
    stored = await Connection.get(id=connection.id)
    assert connections.load_credentials(key_ring=key_ring, connection=stored) == after
    assert stored.last_refreshed_at is not None
    assert stored.expires_at > datetime.now(UTC) + timedelta(minutes=30)


async def test_refresh_token_not_rotated_is_kept(acme, provider, settings):
    provider.rotate_refresh_tokens = False
    key_ring = load_key_ring(settings)
    connection = await _oauth_connection(acme)
    before = connections.load_credentials(key_ring=key_ring, connection=connection)
    await _expire_soon(connection)
    async with httpx.AsyncClient() as http:
        after = await refresh.fresh_credentials(
            settings=settings, key_ring=key_ring, connection=connection, http=http, bus=None
        )
    assert after["refresh_token"] == before["refresh_token"]
    assert after["access_token"] != before["access_token"]


async def test_concurrent_refreshes_make_one_token_request(acme, provider, settings):
    provider.refresh_delay = 0.2
    key_ring = load_key_ring(settings)
    connection = await _oauth_connection(acme)
    copies = [await Connection.get(id=connection.id) for _ in range(5)]
    async with httpx.AsyncClient() as http:
        results = await asyncio.gather(
            *(
                refresh.fresh_credentials(
                    settings=settings, key_ring=key_ring, connection=copy, http=http, bus=None, force=True
                )
                for copy in copies
            )
        )
    assert len(_refreshes(provider)) == 1
    assert len({result["access_token"] for result in results}) == 1
    # Nobody holds the connection's lock any more: it is gone from the map.
    assert [key for key in refresh._locks if key[1] == connection.id] == []


async def test_a_refresh_another_process_holds_is_waited_for_and_its_token_reused(acme, provider, settings):
    """Another process holds the row's refresh lease: this one sends no refresh of its own,
    and returns the tokens that process stores once it releases the lease."""
    key_ring = load_key_ring(settings)
    connection = await _oauth_connection(acme)
    await _expire_soon(connection)
    await Connection.filter(id=connection.id).update(
        refresh_lease_until=datetime.now(UTC) + timedelta(seconds=30)
    )
    async with httpx.AsyncClient() as http:
        waiting = asyncio.create_task(
            refresh.fresh_credentials(
                settings=settings, key_ring=key_ring, connection=connection, http=http, bus=None
            )
        )
        await asyncio.sleep(0.3)
        assert not waiting.done()
        # The other process stores its new tokens, then releases the lease.
        other = await Connection.get(id=connection.id)
        theirs = {"access_token": "at_from_the_other_process", "refresh_token": "rt_from_the_other_process"}
        await connections.replace_credentials(
            key_ring=key_ring,
            connection=other,
            credentials=theirs,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            bus=None,
        )
        await Connection.filter(id=connection.id).update(refresh_lease_until=None)
        got = await asyncio.wait_for(waiting, 10)
    assert got["access_token"] == "at_from_the_other_process"
    assert _refreshes(provider) == []


async def test_two_processes_refreshing_at_once_send_one_refresh_token(acme, provider, settings, monkeypatch):
    """Each caller with its own lock, as in two processes: the lease alone lets one refresh."""
    provider.refresh_delay = 0.3
    monkeypatch.setattr(refresh, "_lock_for", lambda connection_id: asyncio.Lock())
    key_ring = load_key_ring(settings)
    connection = await _oauth_connection(acme)
    await _expire_soon(connection)
    copies = [await Connection.get(id=connection.id) for _ in range(3)]
    async with httpx.AsyncClient() as http:
        results = await asyncio.gather(
            *(
                refresh.fresh_credentials(
                    settings=settings, key_ring=key_ring, connection=copy, http=http, bus=None
                )
                for copy in copies
            )
        )
    assert len(_refreshes(provider)) == 1
    assert len({result["access_token"] for result in results}) == 1


async def test_a_lease_left_by_a_process_that_died_lapses(acme, provider, settings):
    key_ring = load_key_ring(settings)
    connection = await _oauth_connection(acme)
    await _expire_soon(connection)
    await Connection.filter(id=connection.id).update(
        refresh_lease_until=datetime.now(UTC) - timedelta(seconds=1)
    )
    async with httpx.AsyncClient() as http:
        await refresh.fresh_credentials(
            settings=settings, key_ring=key_ring, connection=connection, http=http, bus=None
        )
    assert len(_refreshes(provider)) == 1
    assert (await Connection.get(id=connection.id)).refresh_lease_until is None  # released


async def test_a_failed_refresh_of_another_process_fails_the_waiter_too(acme, provider, settings):
    key_ring = load_key_ring(settings)
    connection = await _oauth_connection(acme)
    await _expire_soon(connection)
    await Connection.filter(id=connection.id).update(
        refresh_lease_until=datetime.now(UTC) + timedelta(seconds=30)
    )
    async with httpx.AsyncClient() as http:
        waiting = asyncio.create_task(
            refresh.fresh_credentials(
                settings=settings, key_ring=key_ring, connection=connection, http=http, bus=None
            )
        )
        await asyncio.sleep(0.2)
        await Connection.filter(id=connection.id).update(refresh_lease_until=None)  # gave up, no new token
        with pytest.raises(CheckFailed):
            await asyncio.wait_for(waiting, 10)
    assert _refreshes(provider) == []


async def test_provider_401_triggers_a_refresh_through_the_connector_context(acme, provider, settings):
    key_ring = load_key_ring(settings)
    connection = await _oauth_connection(acme)
    provider.revoke_access_tokens()  # the provider no longer accepts the stored access token
    async with httpx.AsyncClient() as http:
        context = await refresh.connector_context(
            settings=settings, key_ring=key_ring, connection=connection, http=http, bus=None
        )
        stale = await http.get(
            f"{context.base_url}/api/me",
            headers={"Authorization": f"Bearer {context.credentials['access_token']}"},
        )
        assert stale.status_code == 401
        fresh = await context.refresh_credentials()
        retried = await http.get(
            f"{context.base_url}/api/me", headers={"Authorization": f"Bearer {fresh['access_token']}"}
        )
    assert retried.status_code == 200
    assert context.credentials == fresh and len(_refreshes(provider)) == 1


async def test_invalid_grant_sets_error_and_publishes_status_change(acme, provider, settings):
    provider.refuse_refresh = True
    bus = InMemoryEventBus()
    key_ring = load_key_ring(settings)
    connection = await _oauth_connection(acme)
    await _expire_soon(connection)
    where = statuses.status_channel(acme.organization_id, connection.workspace_id)
    async with bus.subscribe(where) as events:
        async with httpx.AsyncClient() as http:
            with pytest.raises(CheckFailed, match="invalid_grant"):
                await refresh.fresh_credentials(
                    settings=settings, key_ring=key_ring, connection=connection, http=http, bus=bus
                )
        event = await asyncio.wait_for(anext(events), 2)
    assert event["type"] == "connection.status_changed" and event["status"] == "ERROR"
    stored = await Connection.get(id=connection.id)
    assert stored.status == "ERROR" and "invalid_grant" in stored.status_reason


async def test_sweep_refreshes_connections_about_to_expire(acme, provider, settings):
    key_ring = load_key_ring(settings)
    soon = await _oauth_connection(acme)
    later = await _oauth_connection(acme)
    await _expire_soon(soon)
    async with httpx.AsyncClient() as http:
        refreshed = await refresh.refresh_due_connections(
            settings=settings, key_ring=key_ring, http=http, bus=None
        )
    assert refreshed == [soon.id]
    assert later.id not in refreshed and len(_refreshes(provider)) == 1
