"""Shared fixtures: settings, a migrated database (SQLite, and Postgres too), the app, tenants.

Every test that takes ``database`` runs once on SQLite and once on Postgres. The Postgres runs
use ``WEIR_TEST_DATABASE_URL`` (default the machine's ``postgres://postgres@127.0.0.1:5432/test``)
and a fresh database per test session, so concurrent runs do not collide. Without a server they
skip with a message, except under ``CI=true``, where a missing server fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from server.config import Secret, Settings
from server.crypto import generate_key_spec
from tests.serving import serve

# A hung async test fails with the traceback of its await; see tests/timeouts.py.
pytest_plugins = ["tests.timeouts"]

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get("WEIR_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("WEIR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_ENCRYPTION_KEYS = generate_key_spec("test1")


def _port_open(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int, variable: str) -> None:
    """Skip (locally) or fail (under CI) when a server the test needs does not answer."""
    if _port_open(url, default_port):
        return
    message = (
        f"{name} is not reachable at {url}; start it or set {variable} (these tests never skip under CI=true)"
    )
    if CI:
        pytest.fail(message)
    pytest.skip(message)


# -- databases ------------------------------------------------------------------------------


def _with_database_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    from server.db import migrate

    path = tmp_path_factory.mktemp("template") / "weir.db"
    asyncio.run(migrate(Settings(database_url=f"sqlite://{path}")))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated Postgres database for this session, dropped at the end."""
    import asyncpg

    from server.db import migrate

    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    name = f"weir_test_{uuid.uuid4().hex[:10]}"
    admin = POSTGRES_URL.replace("postgres://", "postgresql://", 1)

    async def create() -> None:
        connection = await asyncpg.connect(admin)
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()

    async def drop() -> None:
        connection = await asyncpg.connect(admin)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()

    asyncio.run(create())
    url = _with_database_name(POSTGRES_URL, name)
    asyncio.run(migrate(Settings(database_url=url)))
    yield url
    asyncio.run(drop())


async def _truncate_postgres(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'tortoise_migrations'"
        )
        if tables:
            names = ", ".join(f'"{row["tablename"]}"' for row in tables)
            await connection.execute(f"TRUNCATE {names} CASCADE")
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """Weir's own database for one test: a copy of the SQLite template, or a clean Postgres."""
    if request.param == "sqlite":
        path = tmp_path / "weir.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite://{path}"
    url = request.getfixturevalue("postgres_database")
    asyncio.run(_truncate_postgres(url))
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    # Tortoise caches compiled INSERTs per connection name, across contexts; this suite
    # switches between SQLite and Postgres under the same name, so start each test afresh.
    EXECUTOR_CACHE.clear()
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        warehouse_url=f"sqlite://{tmp_path / 'warehouse.db'}",
        encryption_keys=Secret(TEST_ENCRYPTION_KEYS),
        public_url="http://weir.test",
    )


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Settings]:
    """An open Tortoise context on the test's loop (for calling services directly)."""
    from server.db import close_database, open_database

    ctx = await open_database(settings)
    try:
        yield settings
    finally:
        await close_database(ctx)


# -- the app and its callers ----------------------------------------------------------------


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    """The API app with its lifespan running (database open, event bus started)."""
    from server.embedded import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@contextlib.asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for an app built from ``settings`` (for tests that change a setting)."""
    from server.embedded import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://weir.test") as http:
            yield http


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://weir.test") as http:
        yield http


@dataclass
class Tenant:
    """An organization with a workspace and an API key, and a way to call GraphQL as it."""

    http: httpx.AsyncClient
    key: str
    organization_id: str
    workspace_id: str

    async def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, key: str | None = None
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {key or self.key}"},
        )
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run an operation that must succeed; return its data."""
        body = await self.graphql(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


async def make_tenant(http: httpx.AsyncClient, name: str) -> Tenant:
    from server import ids
    from server.orgs.api_keys import create_api_key
    from server.orgs.models import Organization, Workspace

    organization = await Organization.create(id=ids.new_id("organization"), name=name)
    workspace = await Workspace.create(id=ids.new_id("workspace"), organization=organization, name="default")
    key = await create_api_key(organization_id=organization.id, name="test")
    return Tenant(http=http, key=key.secret, organization_id=organization.id, workspace_id=workspace.id)


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_tenant(client, "Acme")


@pytest.fixture
async def other_tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_tenant(client, "Globex")


@pytest.fixture
async def live_server(app: Any) -> AsyncIterator[str]:
    """The app served by uvicorn on a loopback port, on this test's event loop (``host:port``),
    with the WebSocket protocol ``weir serve`` uses."""
    from server.web.ws_server import WeirWebSocketProtocol

    async with serve(app, ws=WeirWebSocketProtocol) as url:
        yield url.removeprefix("http://")
