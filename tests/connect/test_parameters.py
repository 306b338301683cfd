"""Per-connection parameters: preset by the host or typed on the connect page, checked, stored on
the connection, and filling the tenant's OAuth URLs and the connector context (issue #14).

``testtenant`` (tests/connect/support.py) keeps a ``tenant`` in the path of every URL of the
emulator (``/t/<tenant>/token``), as a Zendesk subdomain or a Shopify shop is in the host.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from server.connections.models import Connection
from server.crypto import load_key_ring
from server.integrations import refresh
from tests.connect.conftest import (
    SELECT,
    SESSION,
    consent,
    create_session,
    launch,
    page_data,
)
from tests.connect.support import install_tenant_connector

START = """
mutation Start($parameters: JSON) {
  startOAuth(input: {parameters: $parameters}) { authorizeUrl session { status parameters } }
}"""
SUBMIT = """
mutation Submit($credentials: JSON!, $parameters: JSON) {
  submitCredentials(input: {credentials: $credentials, parameters: $parameters, integrationName: "testtenant"}) {
    status connectionId parameters
  }
}"""
STATE = "query { connectSessionState { integrationName parameters } }"
CONNECTION = "query($id: ID!) { connection(id: $id) { parameters } }"
CREATE_CONNECTION = """mutation($input: CreateConnectionInput!) {
  createConnection(input: $input) { id parameters }
}"""
TEST_CONNECTION = "mutation($id: ID!) { testConnection(id: $id) { ok message } }"
INTEGRATION = 'query { integration(name: "testtenant") { parametersSchema } }'


@pytest.fixture
def install_tenant(acme: Any, provider: Any, settings: Any, monkeypatch: Any) -> Any:
    """Put ``testtenant`` in the catalog, its OAuthSpec changed by the keywords given."""

    async def install(**oauth: Any) -> Any:
        return await install_tenant_connector(
            monkeypatch, provider.base_url, settings, acme.workspace_id, **oauth
        )

    return install


@pytest.fixture
async def tenant_module(install_tenant: Any) -> Any:
    return await install_tenant()


def _field_errors(body: dict[str, Any]) -> list[dict[str, str]]:
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED", error
    return error["extensions"]["fields"]


async def _start(tenant: Any, token: str, parameters: Any = None) -> dict[str, Any]:
    """What the page does: select ``testtenant``, then startOAuth with what was typed."""
    selected = await tenant.graphql(SELECT, {"name": "testtenant"}, key=token)
    assert "errors" not in selected, selected
    return await tenant.graphql(START, {"parameters": parameters}, key=token)


async def _connect(tenant: Any, provider: Any, *, preset: Any = None, typed: Any = None) -> dict[str, Any]:
    """The whole OAuth flow with ``testtenant``; return the finished session."""
    fields = {"parameters": preset} if preset is not None else {}
    created = await create_session(tenant, integrationName="testtenant", **fields)
    started = await _start(tenant, created["token"], typed)
    assert "errors" not in started, started
    url = started["data"]["startOAuth"]["authorizeUrl"]
    launched = await launch(tenant.http, created["token"], url)
    assert launched.status_code == 200 and page_data(launched.text)["authorizeUrl"] == url
    page = await tenant.http.get("/oauth/callback", params=await consent(url))
    assert page.status_code == 200
    session = (await tenant.data(SESSION, {"id": created["session"]["id"]}))["connectSession"]
    session["authorizeUrl"] = url
    return session


async def test_preset_parameters_fill_the_tenant_urls_and_a_later_refresh(
    acme, provider, settings, tenant_module
):
    created = await create_session(acme, integrationName="testtenant", parameters={"tenant": "acme"})
    state = (await acme.graphql(STATE, key=created["token"]))["data"]["connectSessionState"]
    assert state == {"integrationName": "testtenant", "parameters": {"tenant": "acme"}}
    started = await _start(acme, created["token"])
    assert "errors" not in started, started
    url = started["data"]["startOAuth"]["authorizeUrl"]
    assert url.startswith(f"{provider.base_url}/t/acme/authorize?")
    await launch(acme.http, created["token"], url)
    await acme.http.get("/oauth/callback", params=await consent(url))
    session = (await acme.data(SESSION, {"id": created["session"]["id"]}))["connectSession"]
    assert session["status"] == "COMPLETED", session
    assert provider.token_tenants == ["acme"]
    shown = await acme.data(CONNECTION, {"id": session["connectionId"]})
    assert shown["connection"]["parameters"] == {"tenant": "acme", "region": "eu"}

    connection = await Connection.get(id=session["connectionId"])
    # An hour-long token issued an hour ago: due for its refresh.
    connection.expires_at = datetime.now(UTC) + timedelta(seconds=30)
    connection.last_refreshed_at = connection.expires_at - timedelta(hours=1)
    await connection.save(update_fields=["expires_at", "last_refreshed_at"])
    async with httpx.AsyncClient() as http:
        await refresh.fresh_credentials(
            settings=settings, key_ring=load_key_ring(settings), connection=connection, http=http, bus=None
        )
    assert provider.token_requests[-1]["grant_type"] == "refresh_token"
    assert provider.token_tenants == ["acme", "acme"]


async def test_parameters_typed_by_the_end_user_are_stored_and_reach_the_check(acme, provider, tenant_module):
    session = await _connect(acme, provider, typed={"tenant": "globex", "region": "us"})
    assert session["status"] == "COMPLETED", session
    assert session["authorizeUrl"].startswith(f"{provider.base_url}/t/globex/authorize?")
    assert provider.token_tenants == ["globex"]
    connection = await Connection.get(id=session["connectionId"])
    assert connection.parameters == {"tenant": "globex", "region": "us"}
    # testConnection builds the connector context from the connection: the check calls the
    # tenant's API (/t/globex/api/me), which only the token issued there opens.
    tested = await acme.data(TEST_CONNECTION, {"id": connection.id})
    assert tested["testConnection"] == {"ok": True, "message": "HTTP 200"}
    assert tenant_module.checked[-1] == {"tenant": "globex", "region": "us"}


async def test_a_preset_wins_and_cannot_be_changed_by_the_end_user(acme, provider, tenant_module):
    created = await create_session(acme, integrationName="testtenant", parameters={"tenant": "acme"})
    changed = await _start(acme, created["token"], {"tenant": "evil"})
    assert _field_errors(changed) == [
        {"field": "input.parameters.tenant", "message": "is set by the app and cannot be changed"}
    ]
    same = await _start(acme, created["token"], {"tenant": "acme", "region": "us"})
    assert same["data"]["startOAuth"]["authorizeUrl"].startswith(f"{provider.base_url}/t/acme/")
    assert same["data"]["startOAuth"]["session"]["parameters"] == {"tenant": "acme"}


@pytest.mark.parametrize(
    ("parameters", "field", "message"),
    [
        ({"tenant": "evil.com/x"}, "input.parameters.tenant", "must be a host-name label"),
        ({"tenant": "a\r\nb"}, "input.parameters.tenant", "must not contain control characters"),
        ({"tenant": "x" * 5000}, "input.parameters.tenant", "must be at most 255 characters"),
        ({"tenant": "Acme"}, "input.parameters.tenant", "must be a host-name label"),
        ({"tenant": 42}, "input.parameters.tenant", "must be a string"),
        ({"tenant": {"nested": "x"}}, "input.parameters.tenant", "must be a string"),
        ({"tenant": "acme", "region": "asia"}, "input.parameters.region", "must match eu|us"),
        (
            {"tenant": "acme", "host": "evil.com"},
            "input.parameters.host",
            "is not a parameter of Test Tenant",
        ),
        ({"tenant": "acme", "x" * 300: "y"}, "input.parameters", "is not a parameter of Test Tenant"),
        ({}, "input.parameters.tenant", "is required"),
        ("acme", "input.parameters", "must be an object of parameter names to values"),
        ([1, 2], "input.parameters", "must be an object of parameter names to values"),
    ],
)
async def test_hostile_parameters_are_refused_with_their_path(
    acme, provider, tenant_module, parameters, field, message
):
    created = await create_session(acme, integrationName="testtenant")
    body = await _start(acme, created["token"], parameters)
    errors = _field_errors(body)
    assert errors[0]["field"] == field and errors[0]["message"].startswith(message), errors
    assert "x" * 100 not in str(body) and "evil.com" not in errors[0]["message"]
    assert not provider.token_requests


async def test_hostile_presets_are_refused_when_the_session_is_created(acme, tenant_module):
    body = await acme.graphql(
        "mutation($i: CreateConnectSessionInput!) { createConnectSession(input: $i) { token } }",
        {
            "i": {
                "workspaceId": acme.workspace_id,
                "integrationName": "testtenant",
                "parameters": {"tenant": "a/b"},
            }
        },
    )
    assert _field_errors(body)[0]["field"] == "input.parameters.tenant"
    several = await acme.graphql(
        "mutation($i: CreateConnectSessionInput!) { createConnectSession(input: $i) { token } }",
        {
            "i": {
                "workspaceId": acme.workspace_id,
                "allowedIntegrations": ["testtenant", "testkey"],
                "parameters": {"tenant": "acme"},
            }
        },
    )
    assert _field_errors(several)[0]["field"] == "input.parameters"


async def test_token_response_parameters_are_kept_on_the_connection(acme, provider, install_tenant):
    await install_tenant(token_response_parameters=("instance_url",))
    provider.token_extra = {"instance_url": "https://eu7.example.com"}
    session = await _connect(acme, provider, preset={"tenant": "acme"})
    assert session["status"] == "COMPLETED", session
    connection = await Connection.get(id=session["connectionId"])
    assert connection.parameters == {
        "tenant": "acme",
        "region": "eu",
        "instance_url": "https://eu7.example.com",
    }


@pytest.mark.parametrize("value", ["http://eu7.example.com", "https://user@evil.example", "evil.com/x", 7])
async def test_an_unusable_token_response_parameter_fails_the_connection(
    acme, provider, install_tenant, value
):
    await install_tenant(token_response_parameters=("instance_url",))
    provider.token_extra = {"instance_url": value}
    session = await _connect(acme, provider, preset={"tenant": "acme"})
    assert (session["status"], session["errorCode"]) == ("FAILED", "INVALID_TOKEN_RESPONSE")
    assert session["errorMessage"].startswith("Test Tenant answered with an unusable instance_url")
    assert await Connection.all().count() == 0


async def test_client_secret_basic_and_extra_token_params_on_every_token_request(
    acme, provider, settings, install_tenant
):
    await install_tenant(
        client_authentication="client_secret_basic", extra_token_params=(("audience", "api"),)
    )
    provider.require_basic_auth = True
    session = await _connect(acme, provider, preset={"tenant": "acme"})
    assert session["status"] == "COMPLETED", session
    connection = await Connection.get(id=session["connectionId"])
    async with httpx.AsyncClient() as http:
        await refresh.fresh_credentials(
            settings=settings,
            key_ring=load_key_ring(settings),
            connection=connection,
            http=http,
            bus=None,
            force=True,
        )
    grants = [request["grant_type"] for request in provider.token_requests]
    assert grants == ["authorization_code", "refresh_token"]
    for request, authorization in zip(provider.token_requests, provider.token_authorizations, strict=True):
        assert request["audience"] == "api"
        assert "client_secret" not in request and "client_id" not in request
        assert authorization == "Basic d2Vpci10ZXN0LWNsaWVudDp3ZWlyLXRlc3Qtc2VjcmV0"


async def test_a_provider_requiring_basic_auth_refuses_the_default_post(acme, provider, tenant_module):
    provider.require_basic_auth = True
    session = await _connect(acme, provider, preset={"tenant": "acme"})
    assert (session["status"], session["errorCode"]) == ("FAILED", "TOKEN_EXCHANGE_FAILED")


async def test_pkce_off_sends_no_challenge_and_no_verifier(acme, provider, install_tenant):
    await install_tenant(pkce=False)
    provider.refuse_pkce = True
    session = await _connect(acme, provider, preset={"tenant": "acme"})
    assert session["status"] == "COMPLETED", session
    query = dict(parse_qsl(urlsplit(session["authorizeUrl"]).query))
    assert "code_challenge" not in query and "code_challenge_method" not in query
    assert "code_verifier" not in provider.token_requests[-1]


async def test_a_provider_refusing_pkce_fails_while_pkce_is_on(acme, provider, tenant_module):
    provider.refuse_pkce = True
    created = await create_session(acme, integrationName="testtenant", parameters={"tenant": "acme"})
    url = (await _start(acme, created["token"]))["data"]["startOAuth"]["authorizeUrl"]
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url)
    assert answer.status_code == 303 and "error=invalid_request" in answer.headers["location"]


async def test_submit_credentials_with_typed_parameters(acme, tenant_module):
    created = await create_session(acme, integrationName="testtenant")
    bad = await acme.graphql(
        SUBMIT,
        {"credentials": {"secret_text": "sk_good"}, "parameters": {"tenant": "a b"}},
        key=created["token"],
    )
    assert _field_errors(bad)[0]["field"] == "input.parameters.tenant"
    assert tenant_module.checked == []
    body = await acme.graphql(
        SUBMIT,
        {"credentials": {"secret_text": "sk_good"}, "parameters": {"tenant": "acme"}},
        key=created["token"],
    )
    submitted = body["data"]["submitCredentials"]
    assert submitted["status"] == "COMPLETED", body
    assert tenant_module.checked == [{"tenant": "acme", "region": "eu"}]
    connection = await Connection.get(id=submitted["connectionId"])
    assert connection.parameters == {"tenant": "acme", "region": "eu"}


async def test_create_connection_with_parameters(acme, tenant_module):
    created = await acme.data(
        CREATE_CONNECTION,
        {
            "input": {
                "integrationName": "testtenant",
                "authType": "SECRET_TEXT",
                "scope": "WORKSPACE",
                "workspaceId": acme.workspace_id,
                "secretText": "sk_good",
                "parameters": {"tenant": "acme", "region": "us"},
                "check": True,
            }
        },
    )
    assert created["createConnection"]["parameters"] == {"tenant": "acme", "region": "us"}
    assert tenant_module.checked == [{"tenant": "acme", "region": "us"}]
    tested = await acme.data(TEST_CONNECTION, {"id": created["createConnection"]["id"]})
    assert tested["testConnection"]["ok"] is True
    assert tenant_module.checked[-1] == {"tenant": "acme", "region": "us"}


@pytest.mark.parametrize(
    ("integration", "parameters", "field", "message"),
    [
        ("testtenant", {"tenant": "evil.com/x"}, "input.parameters.tenant", "must be a host-name label"),
        ("testtenant", None, "input.parameters.tenant", "is required"),
        ("testkey", {"tenant": "acme"}, "input.parameters", "Test Key takes no parameters"),
    ],
)
async def test_create_connection_refuses_bad_parameters(
    acme, tenant_module, integration, parameters, field, message
):
    body = await acme.graphql(
        CREATE_CONNECTION,
        {
            "input": {
                "integrationName": integration,
                "authType": "SECRET_TEXT",
                "scope": "WORKSPACE",
                "workspaceId": acme.workspace_id,
                "secretText": "sk_good",
                "parameters": parameters,
            }
        },
    )
    errors = _field_errors(body)
    assert errors[0]["field"] == field and errors[0]["message"].startswith(message), errors
    assert await Connection.all().count() == 0


async def test_the_page_and_the_catalog_show_the_parameters_schema(acme, tenant_module):
    created = await create_session(acme, integrationName="testtenant", parameters={"tenant": "acme"})
    page = await acme.http.get("/connect", params={"token": created["token"]})
    data = page_data(page.text)
    assert data["presetParameters"] == {"tenant": "acme"}
    (integration,) = data["integrations"]
    assert integration["parametersSchema"]["required"] == ["tenant"]
    schema = (await acme.data(INTEGRATION))["integration"]["parametersSchema"]
    assert set(schema["properties"]) == {"tenant", "region"}
