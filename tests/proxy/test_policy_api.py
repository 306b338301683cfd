"""configureWorkspaceIntegration sets the proxy policy; the proxy enforces what it says."""

from __future__ import annotations

CONFIGURE = """
mutation Configure($input: ConfigureWorkspaceIntegrationInput!) {
  configureWorkspaceIntegration(input: $input) { integrationName proxyMethods proxyPathPrefixes }
}"""


async def _configure(tenant, **fields):
    return await tenant.graphql(
        CONFIGURE, {"input": {"workspaceId": tenant.workspace_id, "integrationName": "echoapi", **fields}}
    )


async def test_a_read_only_policy_is_configured_and_enforced(proxied):
    body = await _configure(
        proxied.tenant, proxyMethods=["get", "HEAD", "GET"], proxyPathPrefixes=["/echo/public"]
    )
    assert "errors" not in body, body
    assert body["data"]["configureWorkspaceIntegration"] == {
        "integrationName": "echoapi",
        "proxyMethods": ["GET", "HEAD"],
        "proxyPathPrefixes": ["/echo/public"],
    }
    assert (
        await proxied.tenant.http.delete("/proxy/echo/public/1", headers=proxied.headers())
    ).status_code == 403
    assert (await proxied.tenant.http.get("/proxy/echo/secret", headers=proxied.headers())).status_code == 403
    assert (
        await proxied.tenant.http.get("/proxy/echo/public/1", headers=proxied.headers())
    ).status_code == 200
    assert proxied.api.controls.calls == ["GET /v1/echo/public/1"]


async def test_null_clears_the_policy(proxied):
    await _configure(proxied.tenant, proxyMethods=["GET"])
    body = await _configure(proxied.tenant, proxyMethods=None)
    assert body["data"]["configureWorkspaceIntegration"]["proxyMethods"] is None
    assert (await proxied.tenant.http.post("/proxy/echo/x", headers=proxied.headers())).status_code == 200


async def test_a_bad_policy_is_refused_field_by_field(proxied):
    body = await _configure(
        proxied.tenant,
        proxyMethods=["GET", "TRACE"],
        proxyPathPrefixes=["repos", "/a/../b", "/" + "x" * 200, "/ok"],
    )
    error = body["errors"][0]["extensions"]
    assert error["code"] == "VALIDATION_FAILED"
    assert [f["field"] for f in error["fields"]] == [
        "input.proxyMethods.1",
        "input.proxyPathPrefixes.0",
        "input.proxyPathPrefixes.1",
        "input.proxyPathPrefixes.2",
    ]
    too_many = await _configure(proxied.tenant, proxyPathPrefixes=[f"/p{i}" for i in range(51)])
    assert too_many["errors"][0]["extensions"]["fields"][0]["field"] == "input.proxyPathPrefixes"
