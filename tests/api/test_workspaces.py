"""Workspaces: create, read, update with validated branding, origins and redirect URIs."""

import pytest

CREATE = """
mutation($input: CreateWorkspaceInput!) {
  createWorkspace(input: $input) {
    id name displayName logoUrl primaryColor theme allowedOrigins allowedRedirectUris
  }
}"""
UPDATE = """
mutation($input: UpdateWorkspaceInput!) {
  updateWorkspace(input: $input) {
    id name displayName logoUrl primaryColor theme allowedOrigins allowedRedirectUris
  }
}"""
LIST = "query($first: Int, $after: String) { workspaces(first: $first, after: $after) { edges { cursor node { name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"
ONE = "query($id: ID!) { workspace(id: $id) { id name } }"


async def test_create_and_read_a_branded_workspace(tenant):
    created = (
        await tenant.data(
            CREATE,
            {
                "input": {
                    "name": "staging",
                    "displayName": "Acme Staging",
                    "logoUrl": "https://cdn.acme.test/logo.svg",
                    "primaryColor": "#FF6600",
                    "theme": "DARK",
                    "allowedOrigins": ["https://app.acme.test", "http://localhost:3000"],
                    "allowedRedirectUris": ["https://app.acme.test/integrations/done"],
                }
            },
        )
    )["createWorkspace"]
    assert created["id"].startswith("ws_")
    assert created["primaryColor"] == "#ff6600"
    assert created["theme"] == "DARK"
    assert created["allowedOrigins"] == ["https://app.acme.test", "http://localhost:3000"]
    fetched = (await tenant.data(ONE, {"id": created["id"]}))["workspace"]
    assert fetched == {"id": created["id"], "name": "staging"}


async def test_update_changes_only_the_given_fields(tenant):
    updated = (
        await tenant.data(
            UPDATE, {"input": {"id": tenant.workspace_id, "primaryColor": "#abc", "displayName": "Acme"}}
        )
    )["updateWorkspace"]
    assert updated["primaryColor"] == "#aabbcc"
    assert updated["displayName"] == "Acme"
    assert updated["name"] == "default"
    cleared = (await tenant.data(UPDATE, {"input": {"id": tenant.workspace_id, "displayName": None}}))[
        "updateWorkspace"
    ]
    assert cleared["displayName"] is None and cleared["primaryColor"] == "#aabbcc"


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"primaryColor": "orange"}, "input.primaryColor", "not a hex color"),
        ({"primaryColor": "#12345"}, "input.primaryColor", "not a hex color"),
        ({"logoUrl": "ftp://cdn/logo.png"}, "input.logoUrl", "http or https"),
        ({"logoUrl": "javascript:alert(1)"}, "input.logoUrl", "http or https"),
        (
            {"allowedOrigins": ["https://ok.test", "https://app.test/path"]},
            "input.allowedOrigins.1",
            "not an origin",
        ),
        ({"allowedOrigins": ["app.test"]}, "input.allowedOrigins.0", "not an origin"),
        ({"allowedOrigins": ["https://user:pw@app.test"]}, "input.allowedOrigins.0", "not an origin"),
        ({"allowedRedirectUris": ["mailto:x@y.z"]}, "input.allowedRedirectUris.0", "http or https"),
        ({"allowedRedirectUris": ["https://app.test/done#frag"]}, "input.allowedRedirectUris.0", "fragment"),
        ({"name": "  "}, "input.name", "must not be empty"),
    ],
)
async def test_each_bad_value_is_validation_failed_naming_its_field(tenant, changes, field, fragment):
    body = await tenant.graphql(UPDATE, {"input": {"id": tenant.workspace_id, **changes}})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    fields = {f["field"]: f["message"] for f in error["extensions"]["fields"]}
    assert field in fields and fragment in fields[field]
    unchanged = (await tenant.data(ONE, {"id": tenant.workspace_id}))["workspace"]
    assert unchanged["name"] == "default"


async def test_every_failing_field_is_reported_at_once(tenant):
    body = await tenant.graphql(
        CREATE,
        {
            "input": {
                "name": "x",
                "primaryColor": "red",
                "logoUrl": "nope",
                "allowedOrigins": ["bad"],
            }
        },
    )
    fields = {f["field"] for f in body["errors"][0]["extensions"]["fields"]}
    assert fields == {"input.primaryColor", "input.logoUrl", "input.allowedOrigins.0"}
    listed = await tenant.data(LIST)
    assert len(listed["workspaces"]["edges"]) == 1


async def test_a_duplicate_name_is_a_conflict(tenant):
    body = await tenant.graphql(CREATE, {"input": {"name": "default"}})
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_workspaces_page_with_cursors(tenant):
    for index in range(4):
        await tenant.data(CREATE, {"input": {"name": f"env-{index}"}})
    first = (await tenant.data(LIST, {"first": 2}))["workspaces"]
    assert [e["node"]["name"] for e in first["edges"]] == ["default", "env-0"]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    second = await tenant.data(LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]})
    names = [e["node"]["name"] for e in second["workspaces"]["edges"]]
    assert names == ["env-1", "env-2"]
    assert second["workspaces"]["pageInfo"]["hasPreviousPage"]
    last = await tenant.data(LIST, {"first": 2, "after": second["workspaces"]["pageInfo"]["endCursor"]})
    assert [e["node"]["name"] for e in last["workspaces"]["edges"]] == ["env-3"]
    assert not last["workspaces"]["pageInfo"]["hasNextPage"]


@pytest.mark.parametrize(
    ("variables", "field"),
    [({"first": 101}, "first"), ({"first": -1}, "first"), ({"after": "garbage"}, "after")],
)
async def test_bad_paging_arguments_are_validation_failed(tenant, variables, field):
    body = await tenant.graphql(LIST, variables)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["extensions"]["fields"][0]["field"] == field


async def test_an_unknown_workspace_is_not_found(tenant):
    body = await tenant.graphql(ONE, {"id": "ws_doesnotexist"})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


WAREHOUSE = "mutation($input: UpdateWorkspaceInput!) { updateWorkspace(input: $input) { warehouseUrl } }"


async def test_a_workspace_warehouse_is_stored_sealed_and_shown_masked(tenant):
    from server.orgs.models import Workspace

    url = "postgres://loader:hunter2-secret@warehouse.acme.test:5432/analytics"
    shown = await tenant.data(WAREHOUSE, {"input": {"id": tenant.workspace_id, "warehouseUrl": url}})
    assert shown["updateWorkspace"]["warehouseUrl"] == (
        "postgres://loader:****@warehouse.acme.test:5432/analytics"
    )
    row = await Workspace.get(id=tenant.workspace_id)
    assert "hunter2-secret" not in (row.warehouse_url_encrypted or "")
    cleared = await tenant.data(WAREHOUSE, {"input": {"id": tenant.workspace_id, "warehouseUrl": None}})
    assert cleared["updateWorkspace"]["warehouseUrl"] is None


@pytest.mark.parametrize("url", ["mysql://x@y/z", "postgres://host-only", "not a url"])
async def test_a_bad_warehouse_url_is_validation_failed(tenant, url):
    body = await tenant.graphql(WAREHOUSE, {"input": {"id": tenant.workspace_id, "warehouseUrl": url}})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["extensions"]["fields"][0]["field"] == "input.warehouseUrl"
