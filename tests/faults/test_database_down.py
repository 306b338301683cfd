"""With Weir's database down, the API answers truthfully (issue 16, item 5).

A real ``weir serve`` on a PostgreSQL server of the test's own. With the server stopped,
``/graphql`` and ``/proxy`` answer JSON with the code ``UNAVAILABLE`` and the request id (never a
plain-text 500), ``/healthz`` still answers and ``/readyz`` says not ready. Once PostgreSQL is
back, the same requests succeed without restarting Weir.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import redis
from graphql.error import GraphQLError
from tortoise.exceptions import TransactionManagementError

from server.api.errors import to_client_error
from server.config import Settings
from server.db import close_database, is_unavailable, open_database
from server.logs import request_id_var
from server.orgs.api_keys import create_api_key
from server.orgs.models import ApiKey
from tests.conftest import TEST_ENCRYPTION_KEYS
from tests.faults.shared import graphql, seed
from tests.scaleout.cluster import ROOT, Cluster, OwnPostgres

SYNCS = "query { eltSyncs(first: 5) { edges { node { id enabled } } } }"
RECOVERY_SECONDS = 30  # generous: the pool reconnects on the first request after the restart


def test_a_resolver_that_loses_the_database_reports_unavailable_with_the_request_id() -> None:
    token = request_id_var.set("req-resolver-1")
    try:
        cause = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        error = to_client_error(GraphQLError("boom", path=["eltSyncs"], original_error=cause))
    finally:
        request_id_var.reset(token)
    assert error.extensions == {"code": "UNAVAILABLE", "requestId": "req-resolver-1"}
    assert "req-resolver-1" in error.message and "127.0.0.1" not in error.message


def test_only_the_database_not_answering_counts_as_unavailable() -> None:
    def raised(outer: type[Exception], inner: Exception) -> Exception:
        try:
            try:
                raise inner
            except Exception as cause:
                raise outer(str(cause)) from cause
        except Exception as exc:
            return exc
        raise AssertionError("unreachable")

    refused = ConnectionRefusedError(111, "Connect call failed")
    assert is_unavailable(refused)
    assert is_unavailable(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert is_unavailable(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"))
    assert is_unavailable(raised(TransactionManagementError, sqlite3.OperationalError("database is locked")))
    # Redis's client wraps the same refused socket: that is not the database.
    assert not is_unavailable(raised(redis.ConnectionError, refused))
    assert not is_unavailable(asyncpg.exceptions.UniqueViolationError("duplicate key"))
    assert not is_unavailable(ValueError("database is locked"))


def assert_unavailable(response: httpx.Response, request_id: str, *, proxy: bool = False) -> None:
    assert response.headers["content-type"].startswith("application/"), response.text
    assert response.headers["x-request-id"] == request_id
    body = response.json()
    error = body["error"] if proxy else body["errors"][0]
    extensions = error if proxy else error["extensions"]
    assert (extensions["code"], extensions["requestId"]) == ("UNAVAILABLE", request_id), body
    assert request_id in error["message"]


async def test_with_postgres_stopped_the_api_answers_unavailable_then_recovers(tmp_path: Path) -> None:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    EXECUTOR_CACHE.clear()
    # Outside pytest's 0700 temporary tree: under root the server runs as the postgres user.
    base = Path(tempfile.mkdtemp(prefix="weir-fault-pg-"))
    postgres = OwnPostgres(base)
    postgres.create()
    cluster: Cluster | None = None
    try:
        environ = {
            "WEIR_DATABASE_URL": postgres.url,
            "WEIR_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
            "WEIR_DATA_DIR": str(tmp_path / "data"),
            "WEIR_LOG_LEVEL": "WARNING",
        }
        migrated = subprocess.run(  # noqa: ASYNC221 -- before anything else runs
            [sys.executable, "-m", "server.cli", "migrate"],
            cwd=ROOT,
            env={**Cluster(environ={}, logs=tmp_path).environ, **environ},
            capture_output=True,
            timeout=120,
        )
        assert migrated.returncode == 0, migrated.stderr.decode()
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=postgres.url,
            encryption_keys=Settings.from_env({"WEIR_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS}).encryption_keys,
        )
        database = await open_database(settings)
        try:
            secret, _ = await seed(settings, 1)
            organization_id = (await ApiKey.all().first()).organization_id  # type: ignore[union-attr]
            # A second key never used before the outage: authenticating it must read the database.
            unused = (await create_api_key(organization_id=organization_id, name="unused")).secret
        finally:
            await close_database(database)

        cluster = Cluster(environ=environ, logs=tmp_path)
        port = cluster.start_api("serve")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as http:
            http.headers["Authorization"] = f"Bearer {secret}"
            response, body = await graphql(http, SYNCS)
            assert response.status_code == 200 and "errors" not in body, body

            postgres.stop()

            # Authentication reads the API key from the database: a 503, GraphQL-shaped.
            response = await http.post(
                "/graphql",
                json={"query": SYNCS},
                headers={"Authorization": f"Bearer {unused}", "X-Request-Id": "fault-auth-1"},
            )
            assert response.status_code == 503 and response.headers["retry-after"]
            assert_unavailable(response, "fault-auth-1")
            # The key that just worked (its authentication may still be cached): UNAVAILABLE too,
            # from the resolver or from authentication.
            response = await http.post(
                "/graphql", json={"query": SYNCS}, headers={"X-Request-Id": "fault-q-1"}
            )
            assert response.status_code in (200, 503)
            assert_unavailable(response, "fault-q-1")
            # The same with the GraphQL-over-HTTP media type.
            response = await http.post(
                "/graphql",
                json={"query": SYNCS},
                headers={"X-Request-Id": "fault-q-2", "Accept": "application/graphql-response+json"},
            )
            assert response.headers["content-type"].startswith("application/graphql-response+json")
            assert_unavailable(response, "fault-q-2")
            # The proxy answers JSON too.
            response = await http.get(
                "/proxy/v1/contacts",
                headers={"Authorization": f"Bearer {unused}", "X-Request-Id": "fault-proxy-1"},
            )
            assert response.status_code == 503
            assert_unavailable(response, "fault-proxy-1", proxy=True)
            # The process is alive; it is not ready.
            assert (await http.get("/healthz")).status_code == 200
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("failed")

            postgres.start()

            deadline = time.monotonic() + RECOVERY_SECONDS
            while True:
                response, body = await graphql(http, SYNCS)
                if response.status_code == 200 and "errors" not in body:
                    break
                assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE", body
                assert time.monotonic() < deadline, f"still failing after the restart: {body}"
                await asyncio.sleep(0.2)
            assert len(body["data"]["eltSyncs"]["edges"]) == 1
            http.headers["Authorization"] = f"Bearer {unused}"
            response, body = await graphql(http, SYNCS)
            assert response.status_code == 200 and "errors" not in body, body
            assert (await http.get("/readyz")).status_code == 200
        # Reported as the outage it was, never as a bug.
        assert "unexpected error" not in cluster.log_of("serve")
    finally:
        if cluster is not None:
            cluster.stop()
        postgres.destroy()
        shutil.rmtree(base, ignore_errors=True)
