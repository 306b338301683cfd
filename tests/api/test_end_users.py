"""End users: created per workspace with a unique external id, listed, deleted."""

CREATE = """
mutation($input: CreateEndUserInput!) {
  createEndUser(input: $input) { id externalId displayName email workspace { id name } }
}"""
LIST = """
query($workspaceId: ID, $externalId: String) {
  endUsers(workspaceId: $workspaceId, externalId: $externalId) { edges { node { id externalId } } }
}"""
DELETE = "mutation($id: ID!) { deleteEndUser(id: $id) { deletedId } }"
ONE = "query($id: ID!) { endUser(id: $id) { id externalId } }"


async def create(tenant, external_id, **extra):
    variables = {"input": {"workspaceId": tenant.workspace_id, "externalId": external_id, **extra}}
    return (await tenant.data(CREATE, variables))["createEndUser"]


async def test_create_an_end_user_in_a_workspace(tenant):
    user = await create(tenant, "customer-42", displayName="Jane", email="jane@acme.test")
    assert user["id"].startswith("eu_")
    assert user["workspace"] == {"id": tenant.workspace_id, "name": "default"}
    assert (await tenant.data(ONE, {"id": user["id"]}))["endUser"]["externalId"] == "customer-42"


async def test_external_id_is_unique_per_workspace(tenant):
    await create(tenant, "customer-42")
    body = await tenant.graphql(
        CREATE, {"input": {"workspaceId": tenant.workspace_id, "externalId": "customer-42"}}
    )
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    other = (await tenant.data('mutation { createWorkspace(input: {name: "staging"}) { id } }'))[
        "createWorkspace"
    ]
    again = await tenant.data(CREATE, {"input": {"workspaceId": other["id"], "externalId": "customer-42"}})
    assert again["createEndUser"]["externalId"] == "customer-42"


async def test_bad_end_user_input_names_each_field(tenant):
    body = await tenant.graphql(
        CREATE, {"input": {"workspaceId": tenant.workspace_id, "externalId": "", "email": "not-an-email"}}
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert {f["field"] for f in error["extensions"]["fields"]} == {"input.externalId", "input.email"}


async def test_filter_end_users_by_external_id_and_workspace(tenant):
    await create(tenant, "a")
    await create(tenant, "b")
    only_b = await tenant.data(LIST, {"externalId": "b"})
    assert [e["node"]["externalId"] for e in only_b["endUsers"]["edges"]] == ["b"]
    in_workspace = await tenant.data(LIST, {"workspaceId": tenant.workspace_id})
    assert len(in_workspace["endUsers"]["edges"]) == 2


async def test_delete_an_end_user(tenant):
    user = await create(tenant, "gone")
    assert (await tenant.data(DELETE, {"id": user["id"]}))["deleteEndUser"]["deletedId"] == user["id"]
    body = await tenant.graphql(ONE, {"id": user["id"]})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
