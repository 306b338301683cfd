"""createConnection, connections, connection, deleteConnection, testConnection, resolveConnection
and configureWorkspaceIntegration over GraphQL."""

from __future__ import annotations

import pytest

from tests.connections.conftest import fake_integrations  # noqa: F401 -- autouse fixture
from tests.connections.fakes import BASE_URL, GOOD_PASSWORD, GOOD_SECRET, mock_client

CREATE_END_USER = """mutation($w: ID!, $x: String!) {
  createEndUser(input: {workspaceId: $w, externalId: $x}) { id }
}"""
CREATE = """mutation($input: CreateConnectionInput!) {
  createConnection(input: $input) {
    id integrationName authType scope externalId displayName status statusReason
    credentialPreview expiresAt lastRefreshedAt createdAt updatedAt
    integration { name displayName }
    workspace { id }
    endUser { id externalId }
  }
}"""
LIST = """query($filter: ConnectionFilter, $first: Int, $after: String) {
  connections(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id externalId status workspace { id } endUser { externalId } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
GET = "query($id: ID!) { connection(id: $id) { id status statusReason } }"
DELETE = "mutation($id: ID!) { deleteConnection(id: $id) { deletedId } }"
DELETE_END_USER = "mutation($id: ID!) { deleteEndUser(id: $id) { deletedId } }"
TEST = """mutation($id: ID!) {
  testConnection(id: $id) { ok message connection { id status statusReason } }
}"""
RESOLVE = """mutation($input: ResolveConnectionInput!) {
  resolveConnection(input: $input) { resolvedBy connection { id externalId } }
}"""
CONFIGURE = """mutation($input: ConfigureWorkspaceIntegrationInput!) {
  configureWorkspaceIntegration(input: $input) {
    id integrationName enabled strategy oauthClientId hasOAuthClientSecret scopes
    fixedConnection { id } workspace { id } integration { name }
  }
}"""
WORKSPACE_INTEGRATIONS = """query($w: ID!) {
  workspaceIntegrations(workspaceId: $w) {
    edges { node { integrationName strategy hasOAuthClientSecret fixedConnection { id } } }
  }
}"""


@pytest.fixture
async def end_user(tenant) -> str:
    created = await tenant.data(CREATE_END_USER, {"w": tenant.workspace_id, "x": "customer-1"})
    return created["createEndUser"]["id"]


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """The fake integrations' base URL is configured, as a deployment would for an emulator."""
    return settings.replace(connector_base_urls={"acme_key": BASE_URL, "acme_mail": BASE_URL})


@pytest.fixture
async def provider_http(app):  # type: ignore[no-untyped-def]
    """Provider checks go to the fake provider of tests.connections.fakes."""
    services = app.state.runtime.services
    async with mock_client() as http:
        services.check_http = http
        yield http
        services.check_http = None


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_create_secret_text_connection_returns_a_preview_never_the_secret(tenant, end_user):
    body = await tenant.data(
        CREATE,
        {
            "input": {
                "integrationName": "acme_key",
                "authType": "SECRET_TEXT",
                "secretText": GOOD_SECRET,
                "endUserId": end_user,
                "externalId": "main",
                "displayName": "Main key",
            }
        },
    )

    created = body["createConnection"]
    assert GOOD_SECRET not in str(body)
    assert created["credentialPreview"] == "sk-...c123"
    assert created["scope"] == "USER" and created["status"] == "ACTIVE"
    assert created["integration"] == {"name": "acme_key", "displayName": "Acme Key"}
    assert created["workspace"] == {"id": tenant.workspace_id}
    assert created["endUser"] == {"id": end_user, "externalId": "customer-1"}
    assert created["id"].startswith("conn_")


async def test_create_every_auth_type(tenant, end_user):
    inputs = [
        {
            "integrationName": "acme_mail",
            "authType": "BASIC_AUTH",
            "username": "mailer",
            "password": GOOD_PASSWORD,
            "props": {"host": "smtp.example", "port": 587},
        },
        {
            "integrationName": "acme_db",
            "authType": "CUSTOM_AUTH",
            "props": {
                "host": "db.example",
                "port": 5432,
                "database": "app",
                "user": "reader",
                "password": GOOD_PASSWORD,
            },
        },
        {
            "integrationName": "acme_key",
            "authType": "PLATFORM_OAUTH2",
            "accessToken": "oauth-access-token-abcdef123456",
            "refreshToken": "refresh-xyz-123456",
            "expiresAt": "2030-01-01T00:00:00+00:00",
        },
        {"integrationName": "demo", "authType": "NONE"},
    ]
    previews = []
    for values in inputs:
        body = await tenant.data(CREATE, {"input": {**values, "endUserId": end_user}})
        previews.append(body["createConnection"]["credentialPreview"])
        assert GOOD_PASSWORD not in str(body)

    assert previews == ["mailer:****", "****", "oau...3456", None]
    listed = await tenant.data(LIST, {"filter": {"integrationName": "acme_key"}})
    assert len(listed["connections"]["edges"]) == 1


async def test_custom_auth_reports_every_failing_field_with_its_path(tenant, end_user):
    body = await tenant.graphql(
        CREATE,
        {
            "input": {
                "integrationName": "acme_db",
                "authType": "CUSTOM_AUTH",
                "endUserId": end_user,
                "props": {"host": "db.example", "port": "not-a-port", "user": 7, "password": "x"},
            }
        },
    )

    assert codes(body) == ["VALIDATION_FAILED"]
    fields = {f["field"] for f in body["errors"][0]["extensions"]["fields"]}
    assert fields == {"input.props.port", "input.props.database", "input.props.user", "input.props.password"}


async def test_unsupported_auth_type_and_stray_fields_are_validation_errors(tenant, end_user):
    wrong_type = await tenant.graphql(
        CREATE,
        {
            "input": {
                "integrationName": "acme_db",
                "authType": "SECRET_TEXT",
                "secretText": GOOD_SECRET,
                "endUserId": end_user,
            }
        },
    )
    stray = await tenant.graphql(
        CREATE,
        {
            "input": {
                "integrationName": "acme_key",
                "authType": "SECRET_TEXT",
                "secretText": GOOD_SECRET,
                "password": "unused",
                "endUserId": end_user,
            }
        },
    )

    assert codes(wrong_type) == ["VALIDATION_FAILED"]
    problem = wrong_type["errors"][0]["extensions"]["fields"][0]
    assert problem["field"] == "input.authType" and "CUSTOM_AUTH" in problem["message"]
    assert stray["errors"][0]["extensions"]["fields"] == [
        {"field": "input.password", "message": "is not used by SECRET_TEXT"}
    ]


async def test_external_id_conflict(tenant, end_user):
    values = {
        "integrationName": "acme_key",
        "authType": "SECRET_TEXT",
        "secretText": GOOD_SECRET,
        "scope": "WORKSPACE",
        "workspaceId": tenant.workspace_id,
        "externalId": "shared",
    }
    await tenant.data(CREATE, {"input": values})

    again = await tenant.graphql(CREATE, {"input": values})

    assert codes(again) == ["CONFLICT"]


async def test_failed_check_stores_nothing_and_says_why(tenant, end_user, provider_http):
    wrong = "sk-live-this-key-was-revoked-000"
    body = await tenant.graphql(
        CREATE,
        {
            "input": {
                "integrationName": "acme_key",
                "authType": "SECRET_TEXT",
                "secretText": wrong,
                "endUserId": end_user,
                "check": True,
            }
        },
    )

    assert codes(body) == ["CHECK_FAILED"]
    assert "Invalid API key" in body["errors"][0]["message"]
    assert wrong not in str(body)
    listed = await tenant.data(LIST)
    assert listed["connections"]["edges"] == []
    good = await tenant.data(
        CREATE,
        {
            "input": {
                "integrationName": "acme_key",
                "authType": "SECRET_TEXT",
                "secretText": GOOD_SECRET,
                "endUserId": end_user,
                "check": True,
            }
        },
    )
    assert good["createConnection"]["displayName"] == "Acme Test Account"


async def test_test_connection_updates_the_status(tenant, end_user, provider_http):
    created = await tenant.data(
        CREATE,
        {
            "input": {
                "integrationName": "acme_key",
                "authType": "SECRET_TEXT",
                "secretText": "sk-live-soon-revoked-key-123",
                "endUserId": end_user,
            }
        },
    )
    connection_id = created["createConnection"]["id"]

    tested = await tenant.data(TEST, {"id": connection_id})

    result = tested["testConnection"]
    assert result["ok"] is False
    assert result["connection"]["status"] == "ERROR"
    assert "Invalid API key" in result["connection"]["statusReason"]
    assert "sk-live-soon-revoked-key-123" not in str(tested)
    stored = await tenant.data(GET, {"id": connection_id})
    assert stored["connection"]["status"] == "ERROR"


async def test_connections_filter_and_pages(tenant, end_user):
    other = await tenant.data(CREATE_END_USER, {"w": tenant.workspace_id, "x": "customer-2"})
    other_id = other["createEndUser"]["id"]
    for number in range(3):
        await tenant.data(
            CREATE,
            {
                "input": {
                    "integrationName": "acme_key",
                    "authType": "SECRET_TEXT",
                    "secretText": f"sk-number-{number}-aaaaaaaa",
                    "externalId": f"c{number}",
                    "endUserId": end_user if number < 2 else other_id,
                }
            },
        )

    mine = await tenant.data(LIST, {"filter": {"endUserId": end_user}})
    by_external = await tenant.data(LIST, {"filter": {"externalId": "c2"}})
    first = await tenant.data(LIST, {"first": 2})
    rest = await tenant.data(LIST, {"first": 2, "after": first["connections"]["pageInfo"]["endCursor"]})
    failing = await tenant.data(LIST, {"filter": {"status": "ERROR"}})

    assert {e["node"]["externalId"] for e in mine["connections"]["edges"]} == {"c0", "c1"}
    assert [e["node"]["endUser"]["externalId"] for e in by_external["connections"]["edges"]] == ["customer-2"]
    assert first["connections"]["pageInfo"]["hasNextPage"] is True
    assert len(rest["connections"]["edges"]) == 1
    assert rest["connections"]["pageInfo"]["hasNextPage"] is False
    assert failing["connections"]["edges"] == []


async def test_delete_connection_and_deleting_an_end_user_removes_its_connections(tenant, end_user):
    ids = []
    for number in range(2):
        created = await tenant.data(
            CREATE,
            {
                "input": {
                    "integrationName": "acme_key",
                    "authType": "SECRET_TEXT",
                    "secretText": f"sk-delete-me-{number}-0000",
                    "endUserId": end_user,
                }
            },
        )
        ids.append(created["createConnection"]["id"])

    deleted = await tenant.data(DELETE, {"id": ids[0]})
    assert deleted["deleteConnection"]["deletedId"] == ids[0]
    assert codes(await tenant.graphql(GET, {"id": ids[0]})) == ["NOT_FOUND"]
    await tenant.data(DELETE_END_USER, {"id": end_user})

    assert codes(await tenant.graphql(GET, {"id": ids[1]})) == ["NOT_FOUND"]
    assert (await tenant.data(LIST))["connections"]["edges"] == []


async def test_another_organization_cannot_see_or_use_a_connection(tenant, other_tenant, end_user):
    created = await tenant.data(
        CREATE,
        {
            "input": {
                "integrationName": "acme_key",
                "authType": "SECRET_TEXT",
                "secretText": GOOD_SECRET,
                "endUserId": end_user,
            }
        },
    )
    connection_id = created["createConnection"]["id"]

    assert codes(await other_tenant.graphql(GET, {"id": connection_id})) == ["NOT_FOUND"]
    assert codes(await other_tenant.graphql(TEST, {"id": connection_id})) == ["NOT_FOUND"]
    assert codes(await other_tenant.graphql(DELETE, {"id": connection_id})) == ["NOT_FOUND"]
    assert (await other_tenant.data(LIST))["connections"]["edges"] == []
    assert codes(
        await other_tenant.graphql(
            CREATE,
            {
                "input": {
                    "integrationName": "acme_key",
                    "authType": "SECRET_TEXT",
                    "secretText": GOOD_SECRET,
                    "endUserId": end_user,
                }
            },
        )
    ) == ["NOT_FOUND"]


async def test_resolve_connection_over_graphql(tenant, end_user):
    shared = await tenant.data(
        CREATE,
        {
            "input": {
                "integrationName": "acme_key",
                "authType": "SECRET_TEXT",
                "secretText": GOOD_SECRET,
                "scope": "WORKSPACE",
                "workspaceId": tenant.workspace_id,
                "externalId": "team",
            }
        },
    )
    shared_id = shared["createConnection"]["id"]
    ask = {
        "workspaceId": tenant.workspace_id,
        "integrationName": "acme_key",
        "endUserExternalId": "customer-1",
    }

    required = await tenant.graphql(RESOLVE, {"input": ask})
    assert codes(required) == ["CONNECTION_REQUIRED"]
    configured = await tenant.data(
        CONFIGURE,
        {
            "input": {
                "workspaceId": tenant.workspace_id,
                "integrationName": "acme_key",
                "strategy": "PER_USER_WITH_FALLBACK",
            }
        },
    )
    assert configured["configureWorkspaceIntegration"]["strategy"] == "PER_USER_WITH_FALLBACK"
    fallback = await tenant.data(RESOLVE, {"input": ask})
    assert fallback["resolveConnection"] == {
        "resolvedBy": "FALLBACK",
        "connection": {"id": shared_id, "externalId": "team"},
    }
    explicit = await tenant.data(RESOLVE, {"input": {**ask, "externalId": "team"}})
    assert explicit["resolveConnection"]["resolvedBy"] == "EXTERNAL_ID"


async def test_resolve_rejects_another_end_users_external_id(tenant, end_user):
    other = await tenant.data(CREATE_END_USER, {"w": tenant.workspace_id, "x": "customer-2"})
    await tenant.data(
        CREATE,
        {
            "input": {
                "integrationName": "acme_key",
                "authType": "SECRET_TEXT",
                "secretText": GOOD_SECRET,
                "endUserId": other["createEndUser"]["id"],
                "externalId": "theirs",
            }
        },
    )

    body = await tenant.graphql(
        RESOLVE,
        {
            "input": {
                "workspaceId": tenant.workspace_id,
                "integrationName": "acme_key",
                "endUserId": end_user,
                "externalId": "theirs",
            }
        },
    )

    assert codes(body) == ["FORBIDDEN"]
    assert body["data"] is None


async def test_configure_workspace_integration_never_returns_the_client_secret(tenant):
    client_secret = "workspace-oauth-client-secret-77"
    fixed = await tenant.data(
        CREATE,
        {
            "input": {
                "integrationName": "acme_key",
                "authType": "SECRET_TEXT",
                "secretText": GOOD_SECRET,
                "scope": "WORKSPACE",
                "workspaceId": tenant.workspace_id,
            }
        },
    )
    fixed_id = fixed["createConnection"]["id"]

    body = await tenant.data(
        CONFIGURE,
        {
            "input": {
                "workspaceId": tenant.workspace_id,
                "integrationName": "acme_key",
                "strategy": "FIXED",
                "fixedConnectionId": fixed_id,
                "oauthClientId": "client-id-1",
                "oauthClientSecret": client_secret,
                "scopes": ["read", "write"],
            }
        },
    )
    listed = await tenant.data(WORKSPACE_INTEGRATIONS, {"w": tenant.workspace_id})

    configured = body["configureWorkspaceIntegration"]
    assert configured["hasOAuthClientSecret"] is True
    assert configured["fixedConnection"] == {"id": fixed_id}
    assert configured["scopes"] == ["read", "write"]
    assert client_secret not in str(body) + str(listed)
    assert listed["workspaceIntegrations"]["edges"] == [
        {
            "node": {
                "integrationName": "acme_key",
                "strategy": "FIXED",
                "hasOAuthClientSecret": True,
                "fixedConnection": {"id": fixed_id},
            }
        }
    ]
    cleared = await tenant.data(
        CONFIGURE,
        {
            "input": {
                "workspaceId": tenant.workspace_id,
                "integrationName": "acme_key",
                "oauthClientSecret": None,
                "strategy": "PER_USER",
            }
        },
    )
    assert cleared["configureWorkspaceIntegration"]["hasOAuthClientSecret"] is False
    assert cleared["configureWorkspaceIntegration"]["oauthClientId"] == "client-id-1"


async def test_a_page_of_connections_loads_relations_in_batches(tenant, monkeypatch):
    from server.orgs import service as orgs

    for number in range(4):
        user = await tenant.data(CREATE_END_USER, {"w": tenant.workspace_id, "x": f"batch-{number}"})
        await tenant.data(
            CREATE,
            {
                "input": {
                    "integrationName": "acme_key",
                    "authType": "SECRET_TEXT",
                    "secretText": GOOD_SECRET,
                    "endUserId": user["createEndUser"]["id"],
                }
            },
        )
    calls = {"workspaces": 0, "end_users": 0}
    real_workspaces, real_end_users = orgs.get_workspaces_by_ids, orgs.get_end_users_by_ids

    async def workspaces(**kwargs):  # type: ignore[no-untyped-def]
        calls["workspaces"] += 1
        return await real_workspaces(**kwargs)

    async def end_users(**kwargs):  # type: ignore[no-untyped-def]
        calls["end_users"] += 1
        return await real_end_users(**kwargs)

    monkeypatch.setattr(orgs, "get_workspaces_by_ids", workspaces)
    monkeypatch.setattr(orgs, "get_end_users_by_ids", end_users)

    listed = await tenant.data(LIST)

    assert len(listed["connections"]["edges"]) == 4
    assert {e["node"]["endUser"]["externalId"] for e in listed["connections"]["edges"]} == {
        f"batch-{number}" for number in range(4)
    }
    assert calls == {"workspaces": 1, "end_users": 1}
