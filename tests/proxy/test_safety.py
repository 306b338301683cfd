"""What the proxy refuses before anything is sent, and what it never lets through."""

from __future__ import annotations

import pytest

from server.integrations.models import WorkspaceIntegration
from server.orgs.api_keys import create_api_key
from server.orgs.models import Workspace
from tests.proxy.conftest import TOKEN, add_connection
from tests.proxy.raw import raw_request

ESCAPES = [
    "/proxy/echo/../../outside",
    "/proxy/../outside",
    "/proxy/echo/./x",
    "/proxy//outside",
    "/proxy/echo//x",
    "/proxy/echo/%2e%2e/%2e%2e/outside",
    "/proxy/echo/%2E%2E/x",
    "/proxy/echo%2f..%2f..%2foutside",
    "/proxy/echo/..%5c..%5coutside",
    "/proxy/echo\\..\\..\\outside",
    "/proxy/echo/%00",
    "/proxy/http://evil.example/x",
]


@pytest.mark.parametrize("target", ESCAPES)
async def test_a_path_that_could_escape_the_base_url_is_refused_and_never_sent(proxied, live_server, target):
    status, body = await raw_request(live_server, "GET", target, proxied.headers())
    assert status in (400, 404), (target, status, body)
    if status == 400:
        assert body["error"]["code"] == "VALIDATION_FAILED"
        assert body["error"]["field"] == "path"
    assert proxied.api.controls.calls == []
    assert proxied.api.hits_outside == []


async def test_the_at_sign_stays_a_path_segment(proxied, live_server):
    status, body = await raw_request(live_server, "GET", "/proxy/@evil.example/x", proxied.headers())
    assert status == 404  # the provider's answer: its own host, under /v1
    assert proxied.api.controls.calls == ["GET /v1/@evil.example/x"]
    assert proxied.api.hits_outside == []


async def test_every_path_lands_under_the_base_path(proxied):
    response = await proxied.tenant.http.get("/proxy/x", headers=proxied.headers())
    assert response.status_code == 404  # the provider's own answer for /v1/x
    assert proxied.api.controls.calls == ["GET /v1/x"]
    assert proxied.api.hits_outside == []


async def _policy(tenant, **fields):
    workspace = await Workspace.get(id=tenant.workspace_id)
    from server import ids

    await WorkspaceIntegration.create(
        id=ids.new_id("workspace_integration"),
        organization_id=workspace.organization_id,
        workspace_id=workspace.id,
        integration_name="echoapi",
        **fields,
    )


async def test_the_policy_refuses_a_method_it_does_not_list(proxied):
    await _policy(proxied.tenant, proxy_methods=["GET", "HEAD"])
    refused = await proxied.tenant.http.post("/proxy/echo/x", json={}, headers=proxied.headers())
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    assert "POST" in refused.json()["error"]["message"]
    allowed = await proxied.tenant.http.get("/proxy/echo/x", headers=proxied.headers())
    assert allowed.status_code == 200
    assert proxied.api.controls.calls == ["GET /v1/echo/x"]


async def test_the_policy_refuses_a_path_outside_its_prefixes(proxied):
    await _policy(proxied.tenant, proxy_path_prefixes=["/echo/public"])
    for path in ("/proxy/echo/private", "/proxy/echo/publicity", "/proxy/echo/%70rivate"):
        refused = await proxied.tenant.http.get(path, headers=proxied.headers())
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "FORBIDDEN"
    assert (
        await proxied.tenant.http.get("/proxy/echo/public/1", headers=proxied.headers())
    ).status_code == 200
    assert (
        await proxied.tenant.http.get("/proxy/echo/%70ublic", headers=proxied.headers())
    ).status_code == 200
    assert proxied.api.controls.calls == ["GET /v1/echo/public/1", "GET /v1/echo/public"]


async def test_an_empty_policy_allows_nothing(proxied):
    await _policy(proxied.tenant, proxy_methods=[])
    refused = await proxied.tenant.http.get("/proxy/echo/x", headers=proxied.headers())
    assert refused.status_code == 403
    assert proxied.api.controls.calls == []


async def test_request_headers_that_belong_to_weir_or_the_hop_are_not_forwarded(proxied):
    response = await proxied.tenant.http.get(
        "/proxy/echo/h",
        headers=proxied.headers(
            Cookie="weir_session=1",
            **{
                "X-Weir-Integration": "echoapi",
                "X-Forwarded-For": "10.0.0.1",
                "Forwarded": "for=10.0.0.1",
                "Proxy-Authorization": "Basic eA==",
                "X-Custom": "kept",
            },
        ),
    )
    assert response.status_code == 200, response.text
    sent = response.json()["headers"]
    assert sent["authorization"] == f"Bearer {TOKEN}"
    assert sent["x-custom"] == "kept"
    for name in (
        "cookie",
        "x-weir-connection-id",
        "x-weir-integration",
        "x-forwarded-for",
        "forwarded",
        "proxy-authorization",
    ):
        assert name not in sent, name
    assert proxied.tenant.key not in str(sent)


async def test_the_weir_key_sent_as_x_api_key_is_not_forwarded(proxied):
    response = await proxied.tenant.http.get(
        "/proxy/echo/k",
        headers={"x-api-key": proxied.tenant.key, "X-Weir-Connection-Id": proxied.connection.id},
    )
    assert response.status_code == 200
    assert proxied.tenant.key not in str(response.json()["headers"])


async def test_response_headers_that_could_carry_secrets_are_stripped(proxied):
    response = await proxied.tenant.http.get("/proxy/leaky", headers=proxied.headers())
    assert response.status_code == 200
    for name in ("set-cookie", "www-authenticate", "proxy-authenticate", "x-debug-token", "x-hop"):
        assert name not in response.headers, name
    # Only Weir's own errors carry X-Weir-Error; a provider's copy is dropped.
    assert "x-weir-error" not in response.headers
    assert response.headers["x-ratelimit-remaining"] == "99"
    assert TOKEN not in str(response.headers.raw)


async def test_the_credential_is_never_echoed_back(proxied):
    # The echo emulator shows every header it got in its body: that is the provider's answer,
    # passed on as it is; but no Weir-made part of the answer (headers, errors) holds it.
    response = await proxied.tenant.http.get("/proxy/leaky", headers=proxied.headers())
    assert TOKEN not in str(response.headers.raw)
    proxied.api.controls.tokens.clear()
    refused = await proxied.tenant.http.get("/proxy/echo/x", headers=proxied.headers())
    assert refused.status_code == 401
    assert TOKEN not in refused.text and TOKEN not in str(refused.headers.raw)


async def test_a_restricted_key_cannot_use_another_workspaces_connection(proxied, settings):
    from server import ids

    other = await Workspace.create(
        id=ids.new_id("workspace"), organization_id=proxied.tenant.organization_id, name="staging"
    )
    key = await create_api_key(
        organization_id=proxied.tenant.organization_id, name="staging", workspace_id=other.id
    )
    for headers in (
        {"X-Weir-Connection-Id": proxied.connection.id},
        {
            "X-Weir-Connection-Id": proxied.connection.id,
            "X-Weir-Integration": "echoapi",
            "X-Weir-Workspace-Id": proxied.tenant.workspace_id,
        },
    ):
        response = await proxied.tenant.http.get(
            "/proxy/echo/x", headers={"Authorization": f"Bearer {key.secret}", **headers}
        )
        assert response.status_code in (403, 404), response.text
        assert response.json()["error"]["code"] in ("NOT_FOUND", "FORBIDDEN")
    assert proxied.api.controls.calls == []


async def test_another_organizations_connection_is_not_found(proxied, other_tenant):
    response = await proxied.tenant.http.get(
        "/proxy/echo/x",
        headers={
            "Authorization": f"Bearer {other_tenant.key}",
            "X-Weir-Connection-Id": proxied.connection.id,
        },
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert proxied.api.controls.calls == []


async def test_callers_without_a_key_or_with_a_connect_token_are_refused(proxied):
    missing = await proxied.tenant.http.get(
        "/proxy/echo/x", headers={"X-Weir-Connection-Id": proxied.connection.id}
    )
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "UNAUTHENTICATED"
    created = await proxied.tenant.data(
        "mutation($w: ID!) { createConnectSession(input: {workspaceId: $w}) { token } }",
        {"w": proxied.tenant.workspace_id},
    )
    token = created["createConnectSession"]["token"]
    refused = await proxied.tenant.http.get(
        "/proxy/echo/x",
        headers={"Authorization": f"Bearer {token}", "X-Weir-Connection-Id": proxied.connection.id},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    assert proxied.api.controls.calls == []


async def test_missing_or_bad_naming_headers_are_validation_errors(proxied):
    key = {"Authorization": f"Bearer {proxied.tenant.key}"}
    nothing = await proxied.tenant.http.get("/proxy/echo/x", headers=key)
    assert nothing.status_code == 400
    assert nothing.json()["error"]["field"] == "X-Weir-Integration"
    unknown = await proxied.tenant.http.get(
        "/proxy/echo/x",
        headers={**key, "X-Weir-Integration": "nope", "X-Weir-Workspace-Id": proxied.tenant.workspace_id},
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["field"] == "X-Weir-Integration"
    long = await proxied.tenant.http.get("/proxy/echo/x", headers={**key, "X-Weir-Connection-Id": "c" * 300})
    assert long.status_code == 400
    assert long.json()["error"]["field"] == "X-Weir-Connection-Id"


async def test_a_connector_without_an_http_api_is_refused(proxied, settings):
    from server.connections import service as connections
    from server.crypto import load_key_ring
    from server.scope import Scope

    connection = await connections.create_connection(
        scope=Scope(organization_id=proxied.tenant.organization_id),
        key_ring=load_key_ring(settings),
        settings=settings,
        integration_name="postgres",
        auth_type="CUSTOM_AUTH",
        credentials={
            "host": "db.example.com",
            "port": 5432,
            "database": "app",
            "user": "u",
            "password": "p4ssw0rd!",
        },
        connection_scope="WORKSPACE",
        workspace_id=proxied.tenant.workspace_id,
    )
    response = await proxied.tenant.http.get(
        "/proxy/x",
        headers={"Authorization": f"Bearer {proxied.tenant.key}", "X-Weir-Connection-Id": connection.id},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_FAILED"
    assert "no HTTP API" in response.json()["error"]["message"]


async def test_a_restricted_key_may_not_use_an_organization_connection(proxied, settings):
    """It may read one, never call the provider with it (as for syncs, tests and actions)."""
    shared = await add_connection(settings, proxied.tenant, connection_scope="ORGANIZATION")
    key = await create_api_key(
        organization_id=proxied.tenant.organization_id, name="ws", workspace_id=proxied.tenant.workspace_id
    )
    response = await proxied.tenant.http.get(
        "/proxy/echo/x",
        headers={
            "Authorization": f"Bearer {key.secret}",
            "X-Weir-Connection-Id": shared.id,
            "X-Weir-Integration": "echoapi",
            "X-Weir-Workspace-Id": proxied.tenant.workspace_id,
        },
    )
    assert response.status_code == 403, response.text
    assert "organization-wide" in response.json()["error"]["message"]
    assert proxied.api.controls.calls == []


async def test_a_cookie_one_tenants_provider_set_never_reaches_another_tenants_call(
    proxied, other_tenant, settings
):
    # The proxy's HTTP client is shared by every tenant: a cookie jar in it would hand the
    # session one connection's provider set to the next caller of the same host.
    assert (await proxied.tenant.http.get("/proxy/leaky", headers=proxied.headers())).status_code == 200
    theirs = await add_connection(settings, other_tenant)
    echoed = await proxied.tenant.http.get(
        "/proxy/echo/x",
        headers={"Authorization": f"Bearer {other_tenant.key}", "X-Weir-Connection-Id": theirs.id},
    )
    assert echoed.status_code == 200
    assert "cookie" not in echoed.json()["headers"]
