"""GraphQL read throughput against a plain Starlette endpoint doing the same SQL, in one run.

    python bench/graphql_read.py [--requests 600] [--rounds 12] [--concurrency 8] [--database-url URL]

1,000 end users in a workspace; each request reads a page of 100 end users with their
workspace. The GraphQL side goes through everything a client request goes through (HTTP parsing,
authentication, validation, limits, resolvers, DataLoaders, serialization); the baseline is a
Starlette endpoint that authenticates the same way, runs the same two SQL statements and returns
the same JSON. Both run in-process over httpx's ASGI transport, so the network is not measured.

Prints requests/s of both, the ratio (target >= 0.5), and SQL statements per GraphQL request at
page sizes 10 and 100 (must not grow with the page size: no N+1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise import connections

from server import ids
from server.config import Secret, Settings
from server.crypto import generate_key_spec
from server.db import migrate
from server.orgs.api_keys import authenticate, create_api_key
from server.orgs.models import EndUser, Organization, Workspace
from server.pagination import encode_cursor
from server.web.app import create_app
from server.web.graphql import bearer_from_headers

QUERY = """
query Page($first: Int) {
  endUsers(first: $first) {
    edges { cursor node { id externalId displayName workspace { id name displayName } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


class StatementCounter:
    """Counts SQL statements sent through Tortoise's default connection."""

    def __init__(self) -> None:
        self.count = 0

    def install(self) -> None:
        client = connections.get("default")
        for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
            original = getattr(client, name)

            async def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                self.count += 1
                return await _original(*args, **kwargs)

            setattr(client, name, counted)


async def plain_page(request: Request) -> Response:
    """The baseline: the same authentication, the same two statements, the same JSON."""
    scope = await authenticate(bearer_from_headers(request.headers))
    first = int(request.query_params.get("first", "100"))
    client = connections.get("default")
    rows = await client.execute_query_dict(
        "SELECT id, external_id, display_name, workspace_id FROM end_users "
        "WHERE organization_id = ? ORDER BY id LIMIT ?"
        if client.capabilities.dialect == "sqlite" else
        "SELECT id, external_id, display_name, workspace_id FROM end_users "
        "WHERE organization_id = $1 ORDER BY id LIMIT $2",
        [scope.organization_id, first + 1],
    )
    page = rows[:first]
    workspace_ids = sorted({row["workspace_id"] for row in page})
    marks = ", ".join("?" if client.capabilities.dialect == "sqlite" else f"${i + 2}"
                      for i in range(len(workspace_ids)))
    workspaces = await client.execute_query_dict(
        f"SELECT id, name, display_name FROM workspaces WHERE organization_id = "
        f"{'?' if client.capabilities.dialect == 'sqlite' else '$1'} AND id IN ({marks})",
        [scope.organization_id, *workspace_ids],
    )
    by_id = {w["id"]: {"id": w["id"], "name": w["name"], "displayName": w["display_name"]}
             for w in workspaces}
    edges = [{
        "cursor": encode_cursor(row["id"]),
        "node": {"id": row["id"], "externalId": row["external_id"],
                 "displayName": row["display_name"], "workspace": by_id[row["workspace_id"]]},
    } for row in page]
    body = {"data": {"endUsers": {"edges": edges, "pageInfo": {
        "hasNextPage": len(rows) > first, "endCursor": edges[-1]["cursor"] if edges else None}}}}
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


async def seed(users: int) -> str:
    organization = await Organization.create(id=ids.new_id("organization"), name="Bench")
    workspace = await Workspace.create(id=ids.new_id("workspace"), organization=organization,
                                       name="default", display_name="Bench")
    await EndUser.bulk_create([
        EndUser(id=ids.new_id("end_user"), organization=organization, workspace=workspace,
                external_id=f"customer-{n}", display_name=f"Customer {n}")
        for n in range(users)
    ])
    return (await create_api_key(organization_id=organization.id, name="bench")).secret


async def drive(http: httpx.AsyncClient, send: Any, requests: int, concurrency: int) -> float:
    remaining = iter(range(requests))

    async def worker() -> None:
        for _ in remaining:
            response = await send(http)
            assert response.status_code == 200, response.text

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        database_url = arguments.database_url or f"sqlite://{Path(scratch) / 'bench.db'}"
        settings = Settings(data_dir=Path(scratch), database_url=database_url,
                            encryption_keys=Secret(generate_key_spec()))
        await migrate(settings)
        app = create_app(settings)
        app.router.routes.append(Route("/plain/end-users", plain_page))
        async with app.router.lifespan_context(app):
            key = await seed(arguments.users)
            headers = {"Authorization": f"Bearer {key}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

                async def graphql(client: httpx.AsyncClient, first: int = 100) -> httpx.Response:
                    return await client.post("/graphql", headers=headers,
                                             json={"query": QUERY, "variables": {"first": first}})

                async def plain(client: httpx.AsyncClient) -> httpx.Response:
                    return await client.get("/plain/end-users?first=100", headers=headers)

                same = (await graphql(http)).json() == (await plain(http)).json()
                counter = StatementCounter()
                counter.install()
                statements = {}
                for first in (10, 100):
                    counter.count = 0
                    await graphql(http, first)
                    statements[first] = counter.count
                for _ in range(2):  # warm-up
                    await drive(http, graphql, 30, arguments.concurrency)
                    await drive(http, plain, 30, arguments.concurrency)
                # Alternate short rounds and take medians, so a busy machine slows both sides
                # alike instead of whichever happened to run during the noise.
                per_round = max(arguments.requests // arguments.rounds, 10)
                graphql_rounds, plain_rounds = [], []
                for _ in range(arguments.rounds):
                    graphql_rounds.append(
                        await drive(http, graphql, per_round, arguments.concurrency))
                    plain_rounds.append(await drive(http, plain, per_round, arguments.concurrency))
                graphql_rps = statistics.median(graphql_rounds)
                plain_rps = statistics.median(plain_rounds)

    backend = database_url.split(":", 1)[0]
    print(f"database: {backend}, {arguments.users} end users, pages of 100, "
          f"{arguments.rounds} alternating rounds of {arguments.requests // arguments.rounds} "
          f"requests each at concurrency {arguments.concurrency} (medians)")
    print(f"identical JSON from both endpoints: {same}")
    print(f"plain Starlette endpoint: {plain_rps:8.1f} requests/s")
    print(f"GraphQL endpoint:         {graphql_rps:8.1f} requests/s")
    print(f"ratio GraphQL/plain:      {graphql_rps / plain_rps:8.2f}  (target >= 0.5)")
    print(f"SQL statements per GraphQL request: page of 10 -> {statements[10]}, "
          f"page of 100 -> {statements[100]}  (must not grow with the page size)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=600, help="in all, per endpoint")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    asyncio.run(main(parser.parse_args()))
