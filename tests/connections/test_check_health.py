"""testConnection refreshes first and names what happened: a check right after the access token
expired stays WORKING, a provider that cannot be reached is DEGRADED (still ACTIVE), and a
revoked grant NEEDS_REAUTHORIZATION (ERROR). Against the OAuth authorization server emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.connections.models import Connection
from tests.emulators.oauth_provider import OAuthProvider, serve_app
from tests.proxy.test_refresh import _oauth_connection, _refreshes

TEST = """mutation($id: ID!) { testConnection(id: $id) {
  ok message connection { status statusReason health healthReason lastCheckedAt }
} }"""


async def _test(tenant, connection_id: str) -> dict:
    return (await tenant.data(TEST, {"id": connection_id}))["testConnection"]


async def _expire(connection: Connection) -> None:
    await Connection.filter(id=connection.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=5))


async def test_a_check_right_after_the_token_expired_refreshes_first(tenant, settings, monkeypatch):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        await _expire(connection)
        provider.revoke_access_tokens()  # the expired token is refused, as a provider does
        tested = await _test(tenant, connection.id)
    assert tested["ok"] is True, tested
    assert tested["connection"]["status"] == "ACTIVE"
    assert tested["connection"]["health"] == "WORKING"
    assert tested["connection"]["lastCheckedAt"] is not None
    assert len(_refreshes(provider)) == 1


async def test_a_token_revoked_before_its_expiry_is_refreshed_once_and_checked_again(
    tenant, settings, monkeypatch
):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        provider.revoke_access_tokens()  # not expired by its date, but no longer good
        tested = await _test(tenant, connection.id)
    assert tested["ok"] is True, tested
    assert tested["connection"]["health"] == "WORKING"
    assert len(_refreshes(provider)) == 1


async def test_a_provider_that_cannot_be_reached_is_degraded_not_refused(tenant, settings, monkeypatch):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
    # The provider is gone (its server stopped): the credentials may be perfectly good.
    tested = await _test(tenant, connection.id)
    assert tested["ok"] is False
    assert tested["connection"]["status"] == "ACTIVE"
    assert tested["connection"]["health"] == "DEGRADED"
    assert "could not reach" in tested["connection"]["healthReason"]
    assert "refused" not in tested["connection"]["healthReason"]
    # And an expired token whose refresh cannot reach the provider: degraded too.
    await _expire(connection)
    tested = await _test(tenant, connection.id)
    assert (tested["connection"]["status"], tested["connection"]["health"]) == ("ACTIVE", "DEGRADED")


async def test_a_revoked_grant_needs_reauthorization(tenant, settings, monkeypatch):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        await _expire(connection)
        provider.revoke_access_tokens()
        provider.refuse_refresh = True  # invalid_grant: the user revoked the app
        tested = await _test(tenant, connection.id)
    assert tested["ok"] is False
    assert tested["connection"]["status"] == "ERROR"
    assert tested["connection"]["health"] == "NEEDS_REAUTHORIZATION"
    assert "invalid_grant" in tested["connection"]["healthReason"]


async def test_a_working_check_clears_a_degraded_health(tenant, settings, monkeypatch):
    provider = OAuthProvider()
    async with serve_app(provider.app()) as url:
        connection = await _oauth_connection(provider, url, tenant, settings, monkeypatch)
        await Connection.filter(id=connection.id).update(health="DEGRADED", health_reason="timeout")
        tested = await _test(tenant, connection.id)
    assert (tested["connection"]["health"], tested["connection"]["healthReason"]) == ("WORKING", None)
