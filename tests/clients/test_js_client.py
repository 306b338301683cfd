"""clients/js (@weir/connect): generated from schema.graphql, type-checked, and run against Weir.

Drift fails here: the typed documents are regenerated with GraphQL Code Generator from the
committed schema.graphql and graphql/host.graphql and compared with src/generated/graphql.ts;
an operation that no longer matches the schema makes the generator fail; ``tsc`` checks the
whole package. Then the built WeirClient calls a live Weir.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import CI, make_tenant
from tests.emulators.oauth_provider import serve_app
from tests.serving import free_port

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "clients" / "js"
GENERATED = "src/generated/graphql.ts"


def _run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, check=check, timeout=600, capture_output=True, text=True)


@pytest.fixture(scope="session")
def js_client() -> Path:
    """clients/js with its locked dev dependencies (`npm ci`), built with tsc."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if CI:
            pytest.fail("node and npm are needed to check clients/js")
        pytest.skip("node/npm missing")
    if not (PACKAGE / "node_modules" / ".bin" / "graphql-codegen").exists():
        _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], PACKAGE)
    _run(["npm", "run", "build", "--silent"], PACKAGE)
    return PACKAGE


def _copy(tmp_path: Path, schema: str) -> Path:
    """The package's codegen inputs under tmp_path/clients/js, with ``schema`` as ../../schema.graphql."""
    (tmp_path / "schema.graphql").write_text(schema)
    copy = tmp_path / "clients" / "js"
    (copy / "src" / "generated").mkdir(parents=True)
    shutil.copy(PACKAGE / "codegen.ts", copy / "codegen.ts")
    shutil.copy(PACKAGE / "package.json", copy / "package.json")
    shutil.copytree(PACKAGE / "graphql", copy / "graphql")
    (copy / "node_modules").symlink_to(PACKAGE / "node_modules")
    return copy


def _codegen(copy: Path) -> subprocess.CompletedProcess[str]:
    return _run(
        [str(copy / "node_modules" / ".bin" / "graphql-codegen"), "--config", "codegen.ts"], copy, check=False
    )


def test_generated_client_matches_schema_graphql(js_client, tmp_path):
    copy = _copy(tmp_path, (ROOT / "schema.graphql").read_text())
    result = _codegen(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    fresh = (copy / GENERATED).read_text()
    committed = (PACKAGE / GENERATED).read_text()
    diff = "".join(
        difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True), GENERATED, "regenerated")
    )
    assert not diff, f"run `cd clients/js && npm run codegen` and commit:\n{diff[:4000]}"


def test_an_operation_the_schema_no_longer_has_fails_generation(js_client, tmp_path):
    schema = (ROOT / "schema.graphql").read_text()
    assert "  credentialPreview: String\n" in schema
    copy = _copy(tmp_path, schema.replace("  credentialPreview: String\n", "  credentialHint: String\n", 1))
    result = _codegen(copy)
    assert result.returncode != 0
    assert "credentialPreview" in result.stdout + result.stderr


def test_a_changed_type_changes_the_generated_file(js_client, tmp_path):
    # The schema renames an enum value the typed client exposes: the comparison above sees it.
    schema = (ROOT / "schema.graphql").read_text()
    copy = _copy(tmp_path, schema.replace("  EXPIRED\n", "  TIMED_OUT\n", 1))
    assert _codegen(copy).returncode == 0
    assert (copy / GENERATED).read_text() != (PACKAGE / GENERATED).read_text()


def test_the_package_type_checks(js_client):
    result = _run(
        [str(PACKAGE / "node_modules" / ".bin" / "tsc"), "-p", "tsconfig.json", "--noEmit"],
        PACKAGE,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("index", "react", "server"):
        assert (PACKAGE / "dist" / f"{name}.js").is_file() and (PACKAGE / "dist" / f"{name}.d.ts").is_file()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_weir_client_against_a_live_weir(js_client, settings):
    from server.embedded import create_app

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings.replace(public_url=url, port=port)
    application = create_app(settings)
    async with application.router.lifespan_context(application), serve_app(application, port=port):
        async with httpx.AsyncClient(base_url=url) as http:
            tenant = await make_tenant(http, "Acme")
            # node runs while this event loop serves Weir, so it runs in a thread.
            result = await asyncio.to_thread(
                _run, ["node", "test/live.mjs", url, tenant.key, tenant.workspace_id], PACKAGE, False
            )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    session = out["created"]["session"]
    assert out["created"]["token"] == "string"
    assert out["created"]["connectUrl"].startswith(url + "/connect")
    assert (session["status"], session["allowedIntegrations"], session["externalId"]) == (
        "PENDING",
        ["demo"],
        "crm-main",
    )
    assert out["session"]["id"] == session["id"]
    assert out["cancelled"]["status"] in ("EXPIRED", "FAILED")
    assert out["connections"] == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    assert out["missingConnection"]["isApiError"] is True
    assert (out["missingConnection"]["name"], out["missingConnection"]["code"]) == (
        "WeirApiError",
        "NOT_FOUND",
    )
    assert out["badSession"]["code"] == "VALIDATION_FAILED"
    assert "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" in json.dumps(
        out["action"]["output"]
    )
    assert (out["action"]["connectionId"], out["action"]["replayed"]) == (None, False)
    assert out["resolveMissing"]["code"] == "NOT_FOUND"
    assert out["syncs"]["edges"] == []
    assert out["proxy"]["status"] == 404
    assert out["proxy"]["body"]["error"]["code"] == "NOT_FOUND"
    assert out["unauthenticated"]["code"] == "UNAUTHENTICATED"
