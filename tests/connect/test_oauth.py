"""OAuth2 in the connect flow, against the loopback provider emulator."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlsplit

from server.connect.models import ConnectSession
from server.connections import service as connections
from server.connections import status as statuses
from server.connections.models import Connection
from server.crypto import load_key_ring
from tests.connect.conftest import (
    SESSION,
    STATE,
    connect_with_oauth,
    consent,
    create_session,
    start_oauth,
)
from tests.emulators.oauth_provider import OAuthProvider, serve_app


async def test_oauth_flow_stores_tokens_encrypted_and_completes(acme, provider, settings, caplog):
    caplog.set_level(logging.DEBUG)
    created = await create_session(
        acme, integrationName="testoauth", endUserExternalId="u1", connectionName="Ada's CRM"
    )
    url = await start_oauth(acme, created["token"])
    query = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(provider.base_url + "/authorize?")
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == "http://weir.test/oauth/callback"
    assert query["scope"] == "read write" and query["client_id"] == "weir-test-client"
    params = await consent(url)
    page = await acme.http.get("/oauth/callback", params=params)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    session = (await acme.data(SESSION, {"id": created["session"]["id"]}))["connectSession"]
    assert session["status"] == "COMPLETED"
    connection = await Connection.get(id=session["connectionId"])
    assert (connection.auth_type, connection.scope, connection.display_name) == (
        "OAUTH2",
        "USER",
        "Ada's CRM",
    )
    credentials = connections.load_credentials(key_ring=load_key_ring(settings), connection=connection)
    assert credentials["access_token"] in provider.access_tokens
    assert credentials["refresh_token"] in provider.refresh_tokens
    assert connection.expires_at is not None
    exchange = provider.token_requests[-1]
    assert exchange["grant_type"] == "authorization_code" and exchange["code_verifier"]
    # No token in the page, in a stored plaintext column, or in any log line.
    for secret in (credentials["access_token"], credentials["refresh_token"]):
        assert secret not in page.text
        assert secret not in connection.credentials_encrypted
        assert all(secret not in record.getMessage() for record in caplog.records)


async def test_replayed_state_is_refused_and_makes_no_second_connection(acme, provider):
    created = await create_session(acme, integrationName="testoauth")
    params = await consent(await start_oauth(acme, created["token"]))
    first = await acme.http.get("/oauth/callback", params=params)
    replay = await acme.http.get("/oauth/callback", params=params)
    assert first.status_code == replay.status_code == 200
    assert "already used" in replay.text
    assert await Connection.all().count() == 1
    row = await ConnectSession.get(id=created["session"]["id"])
    assert row.status == "COMPLETED"


async def test_replayed_state_before_completion_fails_the_session(acme, provider):
    created = await create_session(acme, integrationName="testoauth")
    url = await start_oauth(acme, created["token"])
    state = dict(parse_qsl(urlsplit(url).query))["state"]
    # An attacker replays the state with their own code after the first response was used.
    await ConnectSession.filter(id=created["session"]["id"]).update(oauth_verifier_encrypted=None)
    await acme.http.get("/oauth/callback", params={"state": state, "code": "stolen"})
    row = await ConnectSession.get(id=created["session"]["id"])
    assert (row.status, row.error_code) == ("FAILED", "STATE_REUSED")
    assert not provider.token_requests


async def test_unknown_state_shows_an_error_page(acme):
    page = await acme.http.get("/oauth/callback", params={"state": "forged.t", "code": "x"})
    assert page.status_code == 200 and "does not belong to a connect session" in page.text


async def test_pkce_verifier_mismatch_fails_the_exchange(acme, provider, settings):
    created = await create_session(acme, integrationName="testoauth")
    url = await start_oauth(acme, created["token"])
    session_id = created["session"]["id"]
    wrong = load_key_ring(settings).encrypt(b"x" * 64, associated_data=session_id)
    await ConnectSession.filter(id=session_id).update(oauth_verifier_encrypted=wrong)
    await acme.http.get("/oauth/callback", params=await consent(url))
    row = await ConnectSession.get(id=session_id)
    assert (row.status, row.error_code) == ("FAILED", "TOKEN_EXCHANGE_FAILED")
    assert "invalid_grant" in row.error_message
    assert await Connection.all().count() == 0


async def test_denied_consent_fails_with_a_readable_message_and_can_be_retried(acme, provider):
    created = await create_session(acme, integrationName="testoauth")
    url = await start_oauth(acme, created["token"])
    await acme.http.get("/oauth/callback", params=await consent(url, approve=False))
    state = (await acme.graphql(STATE, key=created["token"]))["data"]["connectSessionState"]
    assert state["status"] == "FAILED" and state["errorCode"] == "ACCESS_DENIED"
    assert state["errorMessage"] == "Access to Test OAuth was denied. You can try again."
    retry_url = await start_oauth(acme, created["token"])
    await acme.http.get("/oauth/callback", params=await consent(retry_url))
    state = (await acme.graphql(STATE, key=created["token"]))["data"]["connectSessionState"]
    assert state["status"] == "COMPLETED"


async def test_issuer_mismatch_is_refused(acme, provider):
    provider.send_iss, provider.wrong_iss = True, True
    session = await connect_with_oauth(acme)
    assert (session["status"], session["errorCode"]) == ("FAILED", "ISSUER_MISMATCH")
    assert not provider.token_requests


async def test_matching_issuer_is_accepted(acme, provider):
    provider.send_iss = True
    session = await connect_with_oauth(acme)
    assert session["status"] == "COMPLETED"


async def test_form_encoded_token_without_expiry_or_refresh_token(acme, provider, settings):
    provider.form_encoded = True
    provider.send_expires_in = provider.send_refresh_token = False
    session = await connect_with_oauth(acme)
    assert session["status"] == "COMPLETED"
    connection = await Connection.get(id=session["connectionId"])
    credentials = connections.load_credentials(key_ring=load_key_ring(settings), connection=connection)
    assert credentials["access_token"] in provider.access_tokens
    assert credentials["refresh_token"] is None and credentials["expires_at"] is None
    assert connection.expires_at is None


async def test_wrong_client_secret_fails_the_session(acme, provider):
    provider.client_secret = "rotated-on-the-provider"
    session = await connect_with_oauth(acme)
    assert (session["status"], session["errorCode"]) == ("FAILED", "TOKEN_EXCHANGE_FAILED")
    assert "invalid_client" in session["errorMessage"]


async def test_reconnect_keeps_the_connection_id_and_makes_it_active(acme, provider, settings):
    first = await connect_with_oauth(acme)
    connection = await Connection.get(id=first["connectionId"])
    await statuses.set_status(connection=connection, status="ERROR", reason="revoked", bus=None)
    again = await connect_with_oauth(acme, reconnectConnectionId=connection.id)
    assert again["status"] == "COMPLETED" and again["connectionId"] == connection.id
    await connection.refresh_from_db()
    assert connection.status == "ACTIVE" and await Connection.all().count() == 1


async def test_expired_session_refuses_the_callback(acme, provider):
    from datetime import UTC, datetime, timedelta

    created = await create_session(acme, integrationName="testoauth")
    params = await consent(await start_oauth(acme, created["token"]))
    await ConnectSession.filter(id=created["session"]["id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    page = await acme.http.get("/oauth/callback", params=params)
    assert "expired" in page.text
    row = await ConnectSession.get(id=created["session"]["id"])
    assert row.status == "EXPIRED" and not provider.token_requests


async def test_oauth_without_a_configured_app_is_a_field_error(acme):
    from server.integrations.models import WorkspaceIntegration

    await WorkspaceIntegration.all().delete()
    created = await create_session(acme, allowedIntegrations=["testoauth"])
    token = created["token"]
    await acme.graphql(
        'mutation { selectIntegration(input: {integrationName: "testoauth"}) { status } }', key=token
    )
    body = await acme.graphql("mutation { startOAuth { authorizeUrl } }", key=token)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert "no OAuth app is configured" in error["message"]


async def test_platform_oauth_app_is_used_without_a_workspace_app(acme, app, provider, settings):
    import httpx

    from server.config import Secret
    from server.integrations import refresh
    from server.integrations.models import WorkspaceIntegration

    await WorkspaceIntegration.all().delete()
    platform = settings.replace(
        platform_oauth={"testoauth": ("weir-test-client", Secret("weir-test-secret"))}
    )
    app.state.runtime.services.settings = platform
    session = await connect_with_oauth(acme, endUserExternalId="u1")
    assert session["status"] == "COMPLETED"
    connection = await Connection.get(id=session["connectionId"])
    assert connection.auth_type == "PLATFORM_OAUTH2"
    async with httpx.AsyncClient() as http:
        fresh = await refresh.fresh_credentials(
            settings=platform,
            key_ring=load_key_ring(settings),
            connection=connection,
            http=http,
            bus=None,
            force=True,
        )
    assert fresh["access_token"] in provider.access_tokens


async def test_the_platform_app_secret_never_goes_to_a_workspace_endpoint_override(
    acme, app, provider, settings
):
    """A tenant may point its workspace's token and revocation URLs anywhere; the deployment's
    shared app (every tenant's) still talks only to the catalog's endpoints, so its secret
    cannot be collected by one tenant."""
    import httpx

    from server.config import Secret
    from server.integrations import refresh
    from server.integrations.models import WorkspaceIntegration

    await WorkspaceIntegration.all().delete()
    platform = settings.replace(
        platform_oauth={"testoauth": ("weir-test-client", Secret("weir-test-secret"))}
    )
    app.state.runtime.services.settings = platform
    session = await connect_with_oauth(acme, endUserExternalId="u1")
    connection = await Connection.get(id=session["connectionId"])
    assert connection.auth_type == "PLATFORM_OAUTH2"

    collector = OAuthProvider()  # the tenant's own server, ready to collect what reaches it
    async with serve_app(collector.app()) as collector_url:
        await WorkspaceIntegration.create(
            id="wsi_override",
            organization_id=acme.organization_id,
            workspace_id=acme.workspace_id,
            integration_name="testoauth",
            token_url=f"{collector_url}/token",
            revocation_url=f"{collector_url}/revoke",
        )
        async with httpx.AsyncClient() as http:
            await refresh.fresh_credentials(
                settings=platform,
                key_ring=load_key_ring(settings),
                connection=connection,
                http=http,
                bus=None,
                force=True,
            )
        await acme.data(
            "mutation($id: ID!) { deleteConnection(id: $id) { deletedId } }", {"id": connection.id}
        )
    assert collector.token_requests == [] and collector.revocations == []
    assert [r["grant_type"] for r in provider.token_requests][-1] == "refresh_token"
    assert len(provider.revocations) == 1
