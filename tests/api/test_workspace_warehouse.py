"""A workspace's warehouse URL: a SQLite warehouse is a name, only unrestricted keys set one, and
it is always shown masked."""

from __future__ import annotations

from typing import Any

import pytest

from server.orgs.warehouse import mask_url

WAREHOUSE = """
mutation($input: UpdateWorkspaceInput!) { updateWorkspace(input: $input) { warehouseUrl } }"""
CREATE_WORKSPACE = """
mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id warehouseUrl } }"""
CREATE_KEY = """
mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }"""
READ = "query($id: ID!) { workspace(id: $id) { warehouseUrl } }"

HOSTILE = [
    "sqlite:////etc/passwd",
    "sqlite:///tmp/elsewhere.db",
    "sqlite:///../weir.db",
    "sqlite://../weir.db",
    "sqlite://weir/../../x.db",
    "sqlite://x%2F..%2Fy.db",
    "sqlite://~/x.db",
    "sqlite://:memory:",
    "sqlite://file::memory:?cache=shared",
    "sqlite://analytics.db?mode=memory",
    "sqlite://analytics.db#x",
    "sqlite://.weir",
    "sqlite://",
    "sqlite://analytics\n",
    "sqlite://user:pw@analytics.db",
    "postgres://loader@db.acme.test/analytics?sslkey=/etc/ssl/private/weir.key",
    "postgres://loader@db.acme.test/analytics?passfile=/root/.pgpass",
    "postgres://loader@db.acme.test/analytics?host=/var/run/postgresql",
    "postgres://loader@db.acme.test/analytics?service=weir",
    "postgres://loader@%2Fvar%2Frun%2Fpostgresql/analytics",
]


@pytest.mark.parametrize("url", HOSTILE)
async def test_a_warehouse_url_naming_a_file_or_socket_is_validation_failed(tenant: Any, url: str) -> None:
    from server.orgs.models import Workspace

    for document, values in (
        (WAREHOUSE, {"id": tenant.workspace_id, "warehouseUrl": url}),
        (CREATE_WORKSPACE, {"name": "other", "warehouseUrl": url}),
    ):
        error = (await tenant.graphql(document, {"input": values}))["errors"][0]
        assert error["extensions"]["code"] == "VALIDATION_FAILED", (url, error)
        assert [f["field"] for f in error["extensions"]["fields"]] == ["input.warehouseUrl"]
    assert (await Workspace.get(id=tenant.workspace_id)).warehouse_url_encrypted is None
    assert await Workspace.filter(organization_id=tenant.organization_id).count() == 1


@pytest.mark.parametrize("url", ["sqlite://analytics", "sqlite://analytics.db", "sqlite:///analytics.db"])
async def test_a_sqlite_warehouse_is_a_name(tenant: Any, url: str) -> None:
    shown = await tenant.data(WAREHOUSE, {"input": {"id": tenant.workspace_id, "warehouseUrl": url}})
    assert shown["updateWorkspace"]["warehouseUrl"] == "sqlite://analytics.db"


async def test_only_an_unrestricted_key_sets_a_warehouse_url(tenant: Any) -> None:
    restricted = (
        await tenant.data(
            CREATE_KEY, {"input": {"name": "workspace only", "workspaceId": tenant.workspace_id}}
        )
    )["createApiKey"]["secret"]

    for url in ("postgres://loader:pw@db.acme.test/analytics", None):
        body = await tenant.graphql(
            WAREHOUSE, {"input": {"id": tenant.workspace_id, "warehouseUrl": url}}, key=restricted
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # The same key may still change the rest of its workspace.
    renamed = await tenant.graphql(
        "mutation($input: UpdateWorkspaceInput!) { updateWorkspace(input: $input) { name } }",
        {"input": {"id": tenant.workspace_id, "name": "renamed"}},
        key=restricted,
    )
    assert renamed["data"]["updateWorkspace"]["name"] == "renamed"
    assert (await tenant.data(READ, {"id": tenant.workspace_id}))["workspace"]["warehouseUrl"] is None


async def test_query_string_passwords_are_masked(tenant: Any) -> None:
    url = (
        "postgres://loader:hunter2@db.acme.test:5432/analytics"
        "?sslmode=require&password=s3cret&application_name=weir"
    )
    shown = await tenant.data(WAREHOUSE, {"input": {"id": tenant.workspace_id, "warehouseUrl": url}})
    masked = (
        "postgres://loader:****@db.acme.test:5432/analytics"
        "?sslmode=require&password=****&application_name=weir"
    )
    assert shown["updateWorkspace"]["warehouseUrl"] == masked
    assert (await tenant.data(READ, {"id": tenant.workspace_id}))["workspace"]["warehouseUrl"] == masked


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgres://h/db?password=x", "postgres://h/db?password=****"),
        (
            "postgres://u@h/db?sslpassword=x&sslkey=/keys/k.pem",
            "postgres://u@h/db?sslpassword=****&sslkey=****",
        ),
        ("postgres://u:p%40ss@[::1]:5433/db?PASSWORD=x", "postgres://u:****@[::1]:5433/db?PASSWORD=****"),
        ("postgres://u@h/db?password", "postgres://u@h/db?password=****"),
        ("postgres://u@h/db#secret", "postgres://u@h/db#****"),
    ],
)
def test_mask_url_hides_every_value_but_known_harmless_ones(url: str, masked: str) -> None:
    assert mask_url(url) == masked
