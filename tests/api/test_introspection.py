"""Introspection: the standard full query works and matches schema.graphql (in graphql-core and
in graphql-js); production turns it off by default, and with it field suggestions."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from graphql import (
    build_client_schema,
    build_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    print_schema,
)

from server.config import Settings
from tests.conftest import CI, client_for, make_tenant

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "tests" / "js"
# What GraphiQL, code generators and schema-driven fuzzers send.
FULL_INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
    one_of=True,
)
TYPO = "{ viewr { organization { name } } }"
BAD_VARIABLE = (
    "query($f: ConnectionFilter) { connections(filter: $f) { edges { cursor } } }",
    {"f": {"statuss": "ACTIVE"}},
)


def _sorted_sdl(schema) -> str:
    return print_schema(lexicographic_sort_schema(schema))


async def _introspect(tenant) -> dict:
    response = await tenant.http.post(
        "/graphql",
        json={"query": FULL_INTROSPECTION, "operationName": "IntrospectionQuery"},
        headers={"Authorization": f"Bearer {tenant.key}"},
    )
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


@pytest.fixture(scope="session")
def graphql_js() -> Path:
    """tests/js with its pinned graphql-js installed (`npm ci`, from the lock file)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if CI:
            pytest.fail("node and npm are needed for the graphql-js introspection check")
        pytest.skip("node/npm missing")
    if not (JS / "node_modules" / "graphql" / "package.json").is_file():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS, check=True, timeout=300
        )
    return JS


async def test_the_full_introspection_query_rebuilds_schema_graphql_in_graphql_core(tenant):
    data = await _introspect(tenant)
    client = build_client_schema(data)
    committed = build_schema((ROOT / "schema.graphql").read_text())
    assert _sorted_sdl(client) == _sorted_sdl(committed)


async def test_the_full_introspection_query_rebuilds_schema_graphql_in_graphql_js(tenant, graphql_js):
    data = await _introspect(tenant)
    payload = json.dumps({"introspection": data, "sdl": (ROOT / "schema.graphql").read_text()})
    process = await asyncio.create_subprocess_exec(
        "node",
        str(graphql_js / "client_schema.js"),
        cwd=graphql_js,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(payload.encode()), timeout=60)
    assert process.returncode == 0, err.decode()
    printed = json.loads(out)
    assert "type Query" in printed["client"]
    assert printed["client"] == printed["sdl"]


def test_production_defaults_introspection_off_and_the_setting_turns_it_on():
    assert Settings.from_env({}).introspection is True
    assert Settings.from_env({"WEIR_ENV": "production"}).introspection is False
    assert Settings(env="production").introspection is False
    assert (
        Settings.from_env({"WEIR_ENV": "production", "WEIR_GRAPHQL_INTROSPECTION": "true"}).introspection
        is True
    )
    assert Settings.from_env({"WEIR_GRAPHQL_INTROSPECTION": "false"}).introspection is False


async def test_production_refuses_introspection_and_gives_no_suggestions(settings):
    async with client_for(settings.replace(env="production")) as http:
        tenant = await make_tenant(http, "Prod")
        refused = await tenant.graphql("{ __schema { queryType { name } } }")
        one_type = await tenant.graphql('{ __type(name: "Query") { name } }')
        typo = await tenant.graphql(TYPO)
        variable = await tenant.graphql(*BAD_VARIABLE)
    for body in (refused, one_type):
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "introspection" in body["errors"][0]["message"].lower()
    assert typo["errors"][0]["message"] == "Cannot query field 'viewr' on type 'Query'."
    message = variable["errors"][0]["message"]
    assert "statuss" in message and "Did you mean" not in message and "'status'" not in message


async def test_production_with_introspection_on_keeps_suggestions(settings):
    opened = settings.replace(env="production", graphql_introspection=True)
    async with client_for(opened) as http:
        tenant = await make_tenant(http, "Prod")
        assert "errors" not in await tenant.graphql("{ __schema { queryType { name } } }")
        typo = await tenant.graphql(TYPO)
        variable = await tenant.graphql(*BAD_VARIABLE)
    assert typo["errors"][0]["message"].endswith("Did you mean 'viewer'?")
    assert "Did you mean 'status'?" in variable["errors"][0]["message"]


async def test_development_suggests_and_introspects(tenant):
    typo = await tenant.graphql(TYPO)
    assert "Did you mean 'viewer'?" in typo["errors"][0]["message"]
