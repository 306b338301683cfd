"""API keys: shown once, stored hashed, revocable, lastUsedAt without a write per request."""

import hashlib
from datetime import UTC, datetime, timedelta

CREATE = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id name prefix workspace { id } revokedAt } }
}"""
REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }"
KEYS = "{ apiKeys { edges { node { id prefix lastUsedAt revokedAt } } } }"
VIEWER = "{ viewer { organization { id } apiKey { id } workspace { id } } }"


async def test_a_new_key_is_random_prefixed_and_stored_only_as_a_hash(tenant):
    from server.orgs.models import ApiKey

    created = (await tenant.data(CREATE, {"input": {"name": "ci"}}))["createApiKey"]
    secret = created["secret"]
    assert secret.startswith("weir_sk_") and len(secret) >= len("weir_sk_") + 43
    assert secret.startswith(created["apiKey"]["prefix"])
    row = await ApiKey.get(id=created["apiKey"]["id"])
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = " ".join(str(value) for value in row.__dict__.values())
    assert secret not in stored
    listed = await tenant.data(KEYS)
    assert secret not in str(listed)


async def test_the_new_key_authenticates(tenant):
    secret = (await tenant.data(CREATE, {"input": {"name": "ci"}}))["createApiKey"]["secret"]
    body = await tenant.graphql(VIEWER, key=secret)
    assert body["data"]["viewer"]["organization"]["id"] == tenant.organization_id


async def test_a_revoked_key_stops_working_at_once(tenant):
    created = (await tenant.data(CREATE, {"input": {"name": "temp"}}))["createApiKey"]
    assert "errors" not in await tenant.graphql(VIEWER, key=created["secret"])
    revoked = (await tenant.data(REVOKE, {"id": created["apiKey"]["id"]}))["revokeApiKey"]
    assert revoked["revokedAt"] is not None
    response = await tenant.http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {created['secret']}"}
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_last_used_at_is_recorded_but_not_rewritten_on_every_request(app, tenant):
    from server.orgs.models import ApiKey

    # The key's last authentication is remembered for a moment: forget it, so each request
    # below reads the key from the database.
    forget = app.state.runtime.services.auth.api_key_cache.clear

    keys = (await tenant.data(KEYS))["apiKeys"]["edges"]
    first_seen = keys[0]["node"]["lastUsedAt"]
    assert first_seen is not None
    row = await ApiKey.get(id=keys[0]["node"]["id"])
    forget()
    await tenant.data(VIEWER)
    assert (await ApiKey.get(id=row.id)).last_used_at == row.last_used_at
    stale = datetime.now(UTC) - timedelta(hours=1)
    await ApiKey.filter(id=row.id).update(last_used_at=stale)
    forget()
    await tenant.data(VIEWER)
    assert (await ApiKey.get(id=row.id)).last_used_at > stale + timedelta(minutes=59)


async def test_a_workspace_restricted_key_sees_only_its_workspace(tenant):
    staging = await tenant.data('mutation { createWorkspace(input: {name: "staging"}) { id } }')
    staging_id = staging["createWorkspace"]["id"]
    restricted = await tenant.data(CREATE, {"input": {"name": "staging only", "workspaceId": staging_id}})
    secret = restricted["createApiKey"]["secret"]
    assert restricted["createApiKey"]["apiKey"]["workspace"] == {"id": staging_id}
    viewer = await tenant.graphql(VIEWER, key=secret)
    assert viewer["data"]["viewer"]["workspace"] == {"id": staging_id}
    listed = await tenant.graphql("{ workspaces { edges { node { id } } } }", key=secret)
    assert [e["node"]["id"] for e in listed["data"]["workspaces"]["edges"]] == [staging_id]
    hidden = await tenant.graphql(
        "query($id: ID!) { workspace(id: $id) { id } }", {"id": tenant.workspace_id}, key=secret
    )
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    forbidden = await tenant.graphql('mutation { createWorkspace(input: {name: "x"}) { id } }', key=secret)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    escalate = await tenant.graphql(
        CREATE, {"input": {"name": "x", "workspaceId": tenant.workspace_id}}, key=secret
    )
    assert escalate["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_key_name_is_required(tenant):
    body = await tenant.graphql(CREATE, {"input": {"name": ""}})
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert body["errors"][0]["extensions"]["fields"][0]["field"] == "input.name"
