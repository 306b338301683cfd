"""Custom integrations through GraphQL: register, list, change, delete; validation; isolation."""

from __future__ import annotations

from typing import Any

from tests.integrations.definitions import oauth_definition

URL = "https://crm.example"

CREATE = """
mutation($w: ID, $d: JSON!) {
  createCustomIntegration(input: {workspaceId: $w, definition: $d}) {
    id workspaceId name definition createdAt updatedAt
    integration { name source displayName logoUrl authTypes
                  oauth { authorizeUrl tokenUrl revocationUrl defaultScopes } streams { name } }
  }
}"""
UPDATE = """
mutation($id: ID!, $d: JSON!) {
  updateCustomIntegration(input: {id: $id, definition: $d}) { id name integration { displayName } }
}"""
DELETE = "mutation($id: ID!) { deleteCustomIntegration(id: $id) { deletedId } }"
LIST = """
query($w: ID) { customIntegrations(workspaceId: $w) { edges { node { id name workspaceId } } } }"""
INTEGRATIONS = "query($w: ID) { integrations(workspaceId: $w) { name source } }"
INTEGRATION = "query($n: String!, $w: ID) { integration(name: $n, workspaceId: $w) { name source } }"
CONNECT = """
mutation($w: ID!, $n: String!) { createConnection(input: {integrationName: $n, authType: OAUTH2,
  scope: WORKSPACE, workspaceId: $w, accessToken: "at-1234567890"}) { id integration { name source } } }"""


def errors_of(body: dict[str, Any]) -> tuple[str, list[str]]:
    error = body["errors"][0]
    return error["extensions"]["code"], [f["field"] for f in error["extensions"].get("fields", [])]


async def create(tenant: Any, definition: dict[str, Any], workspace_id: str | None = None) -> dict[str, Any]:
    body = await tenant.graphql(CREATE, {"w": workspace_id, "d": definition})
    assert "errors" not in body, body
    return body["data"]["createCustomIntegration"]


async def test_a_registered_integration_is_listed_and_described_like_a_catalog_one(tenant):
    created = await create(tenant, oauth_definition(URL), tenant.workspace_id)
    assert created["id"].startswith("ci_") and created["workspaceId"] == tenant.workspace_id
    assert created["name"] == "acme_crm" and created["definition"]["display_name"] == "Acme CRM"
    integration = created["integration"]
    assert integration["source"] == "CUSTOM" and integration["authTypes"][0] == "OAUTH2"
    assert integration["logoUrl"] == "http://weir.test/logos/custom.svg"
    assert integration["oauth"]["authorizeUrl"] == f"{URL}/authorize"
    assert integration["streams"] == [{"name": "contacts"}]

    listed = await tenant.data(LIST, {"w": tenant.workspace_id})
    assert [e["node"]["name"] for e in listed["customIntegrations"]["edges"]] == ["acme_crm"]
    seen = await tenant.data(INTEGRATIONS, {"w": tenant.workspace_id})
    assert {"name": "acme_crm", "source": "CUSTOM"} in seen["integrations"]
    assert {"name": "demo", "source": "CATALOG"} in seen["integrations"]
    one = await tenant.data(INTEGRATION, {"n": "acme_crm", "w": tenant.workspace_id})
    assert one["integration"] == {"name": "acme_crm", "source": "CUSTOM"}
    logo = await tenant.http.get("/logos/custom.svg")
    assert logo.status_code == 200 and logo.text.startswith("<svg")


async def test_a_custom_logo_is_its_own_https_url(tenant):
    created = await create(tenant, oauth_definition(URL, logo_url="https://cdn.example/acme.svg"))
    assert created["integration"]["logoUrl"] == "https://cdn.example/acme.svg"


async def test_a_workspace_integration_is_invisible_to_the_other_workspaces(tenant):
    await create(tenant, oauth_definition(URL), tenant.workspace_id)
    other = await tenant.data('mutation { createWorkspace(input: {name: "second"}) { id } }')
    elsewhere = other["createWorkspace"]["id"]
    seen = await tenant.data(INTEGRATIONS, {"w": elsewhere})
    assert "acme_crm" not in {i["name"] for i in seen["integrations"]}
    assert (await tenant.data(LIST, {"w": elsewhere}))["customIntegrations"]["edges"] == []
    body = await tenant.graphql(INTEGRATION, {"n": "acme_crm", "w": elsewhere})
    assert errors_of(body)[0] == "NOT_FOUND"


async def test_a_bad_definition_names_each_failing_field(tenant):
    definition = oauth_definition(URL)
    definition["streams"][0]["pagination"] = {"type": "carrier_pigeon"}
    body = await tenant.graphql(CREATE, {"w": None, "d": definition})
    assert errors_of(body) == ("VALIDATION_FAILED", ["input.definition.streams.0.pagination.type"])

    body = await tenant.graphql(CREATE, {"w": None, "d": {**oauth_definition(URL), "category": "SPACE"}})
    assert errors_of(body) == ("VALIDATION_FAILED", ["input.definition.category"])
    body = await tenant.graphql(CREATE, {"w": None, "d": [1, 2]})
    assert errors_of(body) == ("VALIDATION_FAILED", ["input.definition"])


async def test_a_definition_over_the_limits_is_refused_before_it_is_parsed(tenant):
    huge = oauth_definition(URL, description="x" * 100, streams=[])
    huge["padding"] = ["y" * 1000] * 300  # no single string is over the API's own limit
    body = await tenant.graphql(CREATE, {"w": None, "d": huge})
    assert errors_of(body) == ("VALIDATION_FAILED", ["input.definition"])
    assert "at most 262144" in body["errors"][0]["message"]
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(40):
        node["a"] = {}
        node = node["a"]
    body = await tenant.graphql(CREATE, {"w": None, "d": {**oauth_definition(URL), "x": deep}})
    assert errors_of(body) == ("VALIDATION_FAILED", ["input.definition"])
    assert "deeper than 32" in body["errors"][0]["message"]


async def test_names_are_unique_in_the_organization_and_never_a_catalog_name(tenant, other_tenant):
    body = await tenant.graphql(CREATE, {"w": None, "d": oauth_definition(URL, name="demo")})
    assert errors_of(body) == ("VALIDATION_FAILED", ["input.definition.name"])
    await create(tenant, oauth_definition(URL))
    body = await tenant.graphql(CREATE, {"w": tenant.workspace_id, "d": oauth_definition(URL)})
    assert errors_of(body) == ("VALIDATION_FAILED", ["input.definition.name"])
    # Another organization's names are its own: no collision, so nothing shows through.
    theirs = await create(other_tenant, oauth_definition("https://other.example"))
    assert theirs["integration"]["oauth"]["authorizeUrl"] == "https://other.example/authorize"
    mine = await tenant.data(INTEGRATION, {"n": "acme_crm", "w": None})
    assert mine["integration"]["source"] == "CUSTOM"
    body = await tenant.graphql('{ integration(name: "acme_crm") { oauth { authorizeUrl } } }')
    assert body["data"]["integration"]["oauth"]["authorizeUrl"] == f"{URL}/authorize"


async def test_an_update_replaces_the_definition_but_never_the_name(tenant):
    created = await create(tenant, oauth_definition(URL))
    renamed = await tenant.graphql(UPDATE, {"id": created["id"], "d": oauth_definition(URL, name="other")})
    assert errors_of(renamed) == ("VALIDATION_FAILED", ["input.definition.name"])
    updated = await tenant.data(
        UPDATE, {"id": created["id"], "d": oauth_definition(URL, display_name="Acme CRM (EU)")}
    )
    assert updated["updateCustomIntegration"]["integration"]["displayName"] == "Acme CRM (EU)"


async def test_delete_is_refused_while_connections_use_it(tenant):
    created = await create(tenant, oauth_definition(URL), tenant.workspace_id)
    connection = await tenant.data(CONNECT, {"w": tenant.workspace_id, "n": "acme_crm"})
    assert connection["createConnection"]["integration"] == {"name": "acme_crm", "source": "CUSTOM"}
    body = await tenant.graphql(DELETE, {"id": created["id"]})
    assert errors_of(body)[0] == "CONFLICT"
    await tenant.data(
        "mutation($id: ID!) { deleteConnection(id: $id) { deletedId } }",
        {"id": connection["createConnection"]["id"]},
    )
    deleted = await tenant.data(DELETE, {"id": created["id"]})
    assert deleted["deleteCustomIntegration"]["deletedId"] == created["id"]
    assert (await tenant.data(LIST, {"w": None}))["customIntegrations"]["edges"] == []


async def test_another_organization_can_neither_see_use_change_nor_delete_it(tenant, other_tenant):
    created = await create(tenant, oauth_definition(URL), tenant.workspace_id)
    for document, variables in (
        (UPDATE, {"id": created["id"], "d": oauth_definition(URL)}),
        (DELETE, {"id": created["id"]}),
        (INTEGRATION, {"n": "acme_crm", "w": None}),
    ):
        assert errors_of(await other_tenant.graphql(document, variables))[0] == "NOT_FOUND"
    listed = await other_tenant.data(LIST, {"w": None})
    assert listed["customIntegrations"]["edges"] == []
    assert "acme_crm" not in {i["name"] for i in (await other_tenant.data(INTEGRATIONS))["integrations"]}
    used = await other_tenant.graphql(CONNECT, {"w": other_tenant.workspace_id, "n": "acme_crm"})
    assert errors_of(used) == ("VALIDATION_FAILED", ["input.integrationName"])
    session = await other_tenant.graphql(
        "mutation($w: ID!) { createConnectSession(input: {workspaceId: $w, "
        'integrationName: "acme_crm"}) { token } }',
        {"w": other_tenant.workspace_id},
    )
    assert errors_of(session) == ("VALIDATION_FAILED", ["input.integrationName"])
    configured = await other_tenant.graphql(
        "mutation($w: ID!) { configureWorkspaceIntegration(input: {workspaceId: $w, "
        'integrationName: "acme_crm", oauthClientId: "x"}) { id } }',
        {"w": other_tenant.workspace_id},
    )
    assert errors_of(configured) == ("VALIDATION_FAILED", ["input.integrationName"])
    still = await tenant.data(LIST, {"w": None})
    assert [e["node"]["id"] for e in still["customIntegrations"]["edges"]] == [created["id"]]


async def test_a_restricted_key_registers_only_for_its_own_workspace(tenant):
    from tests.api.test_tenant_isolation import restricted_caller

    caller = await restricted_caller(tenant)
    wide = await caller.graphql(CREATE, {"w": None, "d": oauth_definition(URL)})
    assert errors_of(wide)[0] == "FORBIDDEN"
    elsewhere = await caller.graphql(CREATE, {"w": tenant.workspace_id, "d": oauth_definition(URL)})
    assert errors_of(elsewhere)[0] == "NOT_FOUND"
    mine = await create(caller, oauth_definition(URL), caller.workspace_id)
    assert mine["workspaceId"] == caller.workspace_id
    organization_wide = await create(tenant, oauth_definition(URL, name="shared_crm"))
    changed = await caller.graphql(
        UPDATE, {"id": organization_wide["id"], "d": oauth_definition(URL, name="shared_crm")}
    )
    assert errors_of(changed)[0] == "FORBIDDEN"


async def test_a_custom_integration_never_gets_the_deployments_platform_app(tenant, settings):
    """An operator's platform app under a name that is not in the catalog is not lent to an
    organization's custom integration of that name: its token URL is the tenant's."""
    from server.config import Secret
    from server.crypto import load_key_ring
    from server.errors import ValidationFailed
    from server.integrations.oauth import oauth_client

    custom = await create(tenant, oauth_definition(URL, name="crm_custom"), tenant.workspace_id)
    platform = settings.replace(platform_oauth={custom["name"]: ("platform-id", Secret("platform-secret"))})
    try:
        await oauth_client(
            settings=platform,
            key_ring=load_key_ring(settings),
            organization_id=tenant.organization_id,
            workspace_id=tenant.workspace_id,
            integration_name=custom["name"],
        )
    except ValidationFailed as exc:
        assert exc.errors[0].field == "input.integrationName"
        assert "no OAuth app is configured" in exc.errors[0].message
    else:
        raise AssertionError("the platform app was lent to a custom integration")
