"""The proxy forwards requests to the integration's API with the credential injected."""

from __future__ import annotations

from server.calls.models import CallLog
from tests.calls.helpers import flush_calls
from tests.proxy.conftest import TOKEN, add_connection


async def test_get_reaches_the_api_with_the_credential_and_the_query(proxied):
    response = await proxied.tenant.http.get(
        "/proxy/echo/users?page=2&q=a%20b", headers=proxied.headers(Accept="application/json")
    )
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["method"] == "GET"
    assert seen["path"] == "/v1/echo/users"
    assert seen["query"] == "page=2&q=a%20b"
    assert seen["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert seen["headers"]["accept"] == "application/json"
    assert proxied.api.controls.calls == ["GET /v1/echo/users?page=2&q=a%20b"]


async def test_post_forwards_the_body_and_the_content_type(proxied):
    response = await proxied.tenant.http.post(
        "/proxy/echo/contacts", json={"name": "Ada"}, headers=proxied.headers()
    )
    assert response.status_code == 200
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["bodyBytes"] == len(b'{"name":"Ada"}')
    assert seen["headers"]["content-type"] == "application/json"


async def test_every_method_is_forwarded(proxied):
    for method in ("PUT", "PATCH", "DELETE"):
        response = await proxied.tenant.http.request(method, "/proxy/echo/thing", headers=proxied.headers())
        assert response.status_code == 200
        assert response.json()["method"] == method


async def test_a_credential_in_the_query_is_added_and_wins_over_the_callers(proxied, settings):
    connection = await add_connection(settings, proxied.tenant, "echoquery")
    response = await proxied.tenant.http.get(
        "/proxy/echo/x?api_key=forged&keep=1",
        headers={"Authorization": f"Bearer {proxied.tenant.key}", "X-Weir-Connection-Id": connection.id},
    )
    assert response.status_code == 200, response.text
    assert proxied.api.controls.calls == [f"GET /v1/echo/x?api_key={TOKEN}&keep=1"]
    assert "authorization" not in response.json()["headers"]


async def test_the_resolution_context_names_the_connection(proxied):
    response = await proxied.tenant.http.get(
        "/proxy/echo/by-context",
        headers={
            "Authorization": f"Bearer {proxied.tenant.key}",
            "X-Weir-Integration": "echoapi",
            "X-Weir-Workspace-Id": proxied.tenant.workspace_id,
        },
    )
    assert response.status_code == 409  # a workspace connection is no end user's: strategy decides
    assert response.json()["error"]["code"] == "CONNECTION_REQUIRED"


async def test_an_end_users_connection_is_resolved_from_the_context(proxied, settings, app):
    from server import ids
    from server.orgs.models import EndUser

    end_user = await EndUser.create(
        id=ids.new_id("end_user"),
        organization_id=proxied.tenant.organization_id,
        workspace_id=proxied.tenant.workspace_id,
        external_id="customer-42",
    )
    own = await add_connection(settings, proxied.tenant, end_user_id=end_user.id, connection_scope="USER")
    response = await proxied.tenant.http.get(
        "/proxy/echo/mine",
        headers={
            "Authorization": f"Bearer {proxied.tenant.key}",
            "X-Weir-Integration": "echoapi",
            "X-Weir-Workspace-Id": proxied.tenant.workspace_id,
            "X-Weir-End-User-External-Id": "customer-42",
        },
    )
    assert response.status_code == 200, response.text
    await flush_calls(app)
    row = await CallLog.get(organization_id=proxied.tenant.organization_id)
    assert (row.connection_id, row.end_user_id) == (own.id, end_user.id)
    other = await proxied.tenant.http.get(
        "/proxy/echo/mine",
        headers={
            "Authorization": f"Bearer {proxied.tenant.key}",
            "X-Weir-Integration": "echoapi",
            "X-Weir-Workspace-Id": proxied.tenant.workspace_id,
            "X-Weir-End-User-External-Id": "nobody",
        },
    )
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "NOT_FOUND"


async def test_every_call_is_recorded_without_its_query(proxied, app):
    await proxied.tenant.http.get("/proxy/echo/a?secret=1", headers=proxied.headers())
    await proxied.tenant.http.get("/proxy/echo/%2e%2e/admin", headers=proxied.headers())  # refused: no row
    await flush_calls(app)
    rows = await CallLog.filter(organization_id=proxied.tenant.organization_id)
    assert len(rows) == 1
    row = rows[0]
    assert (row.kind, row.method, row.path, row.http_status, row.status) == (
        "PROXY",
        "GET",
        "/echo/a",
        200,
        "SUCCEEDED",
    )
    assert row.connection_id == proxied.connection.id
    assert row.integration_name == "echoapi"
    assert row.api_key_id is not None and row.workspace_id == proxied.tenant.workspace_id


async def test_a_provider_error_is_passed_back_and_logged_as_failed(proxied, app):
    proxied.api.controls.server_errors = 1
    proxied.api.controls.rate_limited = 0
    response = await proxied.tenant.http.get("/proxy/limited", headers=proxied.headers())
    assert response.status_code == 503
    assert proxied.api.controls.calls == ["GET /v1/limited"]  # a 5xx is not retried
    await flush_calls(app)
    row = await CallLog.get(organization_id=proxied.tenant.organization_id)
    assert (row.status, row.http_status, row.error_code) == ("FAILED", 503, "PROVIDER_ERROR")


async def test_header_bytes_pass_through_unchanged(proxied):
    response = await proxied.tenant.http.get(
        "/proxy/echo/bytes", headers={**proxied.headers(), "X-Note": "café".encode("latin-1")}
    )
    assert response.status_code == 200, response.text
    assert response.json()["headers"]["x-note"] == "café"


async def test_the_call_log_lists_a_call_the_moment_it_ended(proxied):
    # Succeeded calls wait for a batch; listing them writes what waits first.
    response = await proxied.tenant.http.get("/proxy/echo/now", headers=proxied.headers())
    assert response.status_code == 200
    data = await proxied.tenant.data("{ calls { edges { node { path status } } } }")
    assert [edge["node"] for edge in data["calls"]["edges"]] == [{"path": "/echo/now", "status": "SUCCEEDED"}]
