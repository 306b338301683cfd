"""GraphQL read throughput, measured like a user: real servers, a client in another process.

    python bench/graphql_read.py [--rounds 12] [--requests 400] [--concurrency 8] [--database-url URL]

1,000 end users in a workspace; each request reads a page of 100 end users with their
workspace. Three processes besides this one, all on 127.0.0.1:

- **Weir**: ``python -m server.cli serve``, what ``weir serve`` runs (uvicorn, one process),
  answering ``POST /graphql``: HTTP parsing, authentication, validation, limits, resolvers,
  DataLoaders, serialization;
- **the baseline**: a small Starlette app under uvicorn (same uvicorn options) answering
  ``GET /end-users?first=100`` with the same JSON, from the same two SQL statements sent through
  plain asyncpg (PostgreSQL) or aiosqlite (SQLite), authenticating the key the same way (its
  SHA-256 looked up once, then cached, as Weir caches it);
- **the client**: a load generator in its own process (raw HTTP/1.1 over asyncio streams,
  keep-alive, ``--concurrency`` connections), so that neither server pays for the client.

Weir and baseline rounds alternate (the order flips each round) so that a busy machine slows
both alike. Prints requests/s of each (min/median/max over the rounds), the ratio of the
medians and of each round pair, and the load average before and after. SQL statements per
GraphQL request at page sizes 10 and 100 are counted in-process first (must not grow with the
page size: no N+1). Seeds rows into the database it is given: use a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

QUERY = """
query Page($first: Int) {
  endUsers(first: $first) {
    edges { cursor node { id externalId displayName workspace { id name displayName } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

PAGE_SQL = (
    "SELECT id, external_id, display_name, workspace_id FROM end_users "
    "WHERE organization_id = {0} ORDER BY id LIMIT {1}"
)
WORKSPACES_SQL = "SELECT id, name, display_name FROM workspaces WHERE organization_id = {0} AND id IN ({1})"


# -- the baseline server (its own process) ------------------------------------------------------


def serve_baseline(database_url: str, port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from server.pagination import encode_cursor

    postgres = database_url.startswith(("postgres://", "postgresql://"))
    state: dict[str, Any] = {"keys": {}}

    def marks(count: int, start: int) -> list[str]:
        return ["?"] * count if not postgres else [f"${start + i}" for i in range(count)]

    async def fetch(sql: str, values: list[Any]) -> list[tuple[Any, ...]]:
        if postgres:
            async with state["pool"].acquire() as connection:
                return [tuple(row) for row in await connection.fetch(sql, *values)]
        async with state["db"].execute(sql, values) as cursor:
            return list(await cursor.fetchall())

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        if postgres:
            import asyncpg

            # Tortoise's asyncpg pool defaults: 1 to 5 connections.
            state["pool"] = await asyncpg.create_pool(database_url, min_size=1, max_size=5)
        else:
            import aiosqlite

            state["db"] = await aiosqlite.connect(database_url.removeprefix("sqlite://"))
            await state["db"].execute("PRAGMA journal_mode=WAL")
        yield
        if postgres:
            await state["pool"].close()
        else:
            await state["db"].close()

    async def organization_of(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        secret = header.removeprefix("Bearer ").strip()
        digest = hashlib.sha256(secret.encode()).hexdigest()
        found = state["keys"].get(digest)
        if found is None:
            rows = await fetch(
                "SELECT organization_id FROM api_keys WHERE secret_hash = "
                f"{marks(1, 1)[0]} AND revoked_at IS NULL",
                [digest],
            )
            if not rows:
                return None
            found = state["keys"][digest] = rows[0][0]
        return found

    async def end_users(request: Request) -> Response:
        organization_id = await organization_of(request)
        if organization_id is None:
            return Response(status_code=401)
        first = int(request.query_params.get("first", "100"))
        rows = await fetch(PAGE_SQL.format(*marks(2, 1)), [organization_id, first + 1])
        page = rows[:first]
        workspace_ids = sorted({row[3] for row in page})
        workspaces = (
            await fetch(
                WORKSPACES_SQL.format(marks(1, 1)[0], ", ".join(marks(len(workspace_ids), 2))),
                [organization_id, *workspace_ids],
            )
            if workspace_ids
            else []
        )
        by_id = {w[0]: {"id": w[0], "name": w[1], "displayName": w[2]} for w in workspaces}
        edges = [
            {
                "cursor": encode_cursor(row[0]),
                "node": {
                    "id": row[0],
                    "externalId": row[1],
                    "displayName": row[2],
                    "workspace": by_id[row[3]],
                },
            }
            for row in page
        ]
        body = {
            "data": {
                "endUsers": {
                    "edges": edges,
                    "pageInfo": {
                        "hasNextPage": len(rows) > first,
                        "endCursor": edges[-1]["cursor"] if edges else None,
                    },
                }
            }
        }
        return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")

    app = Starlette(routes=[Route("/end-users", end_users)], lifespan=lifespan)
    # The options `weir serve` gives uvicorn that matter for plain HTTP.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=True)


# -- the client (its own process) ---------------------------------------------------------------


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    body = b""
    if headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            body += (await reader.readexactly(size + 2))[:-2]
            if size == 0:
                break
    return status, body


async def _load(command: dict[str, Any]) -> dict[str, Any]:
    body = command.get("body", "").encode()
    request = (
        f"{command['method']} {command['path']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {command['key']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    connections = [
        await asyncio.open_connection("127.0.0.1", command["port"]) for _ in range(command["concurrency"])
    ]
    try:
        expected = command["expected"].encode()
        for reader, writer in connections:  # one untimed request each: connections are warm
            writer.write(request)
            assert await read_response(reader) == (200, expected)
        remaining = iter(range(command["requests"]))

        async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            for _ in remaining:
                writer.write(request)
                status, body = await read_response(reader)
                # Every answer is the full page (one comparison: a few microseconds).
                if status != 200 or body != expected:
                    raise RuntimeError(f"status {status} from port {command['port']}: {body[:200]!r}")

        started = time.perf_counter()
        await asyncio.gather(*(worker(r, w) for r, w in connections))
        elapsed = time.perf_counter() - started
    finally:
        for _, writer in connections:
            writer.close()
    return {"rps": command["requests"] / elapsed}


def run_client() -> None:
    """Reads one JSON command per line on stdin, answers one JSON line per command."""
    loop = asyncio.new_event_loop()
    for line in sys.stdin:
        if not line.strip():
            continue
        print(json.dumps(loop.run_until_complete(_load(json.loads(line)))), flush=True)


# -- the orchestrator ---------------------------------------------------------------------------


async def prepare(database_url: str, data_dir: Path, key_spec: str, users: int) -> dict[str, Any]:
    """Migrate, seed, and count SQL statements per GraphQL request (in-process: a count, not a
    timing). Returns the API key and the statement counts."""
    import httpx
    from tortoise import connections

    from server import ids
    from server.config import Secret, Settings
    from server.db import migrate
    from server.embedded import create_app
    from server.orgs.api_keys import create_api_key
    from server.orgs.models import EndUser, Organization, Workspace

    settings = Settings(data_dir=data_dir, database_url=database_url, encryption_keys=Secret(key_spec))
    await migrate(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        organization = await Organization.create(id=ids.new_id("organization"), name="Bench")
        workspace = await Workspace.create(
            id=ids.new_id("workspace"), organization=organization, name="default", display_name="Bench"
        )
        await EndUser.bulk_create(
            [
                EndUser(
                    id=ids.new_id("end_user"),
                    organization=organization,
                    workspace=workspace,
                    external_id=f"customer-{n}",
                    display_name=f"Customer {n}",
                )
                for n in range(users)
            ]
        )
        key = (await create_api_key(organization_id=organization.id, name="bench")).secret
        client = connections.get("default")
        counted = {"n": 0}
        for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
            original = getattr(client, name)

            async def counting(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                counted["n"] += 1
                return await _original(*args, **kwargs)

            setattr(client, name, counting)
        statements = {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for first in (10, 100):
                await http.post(
                    "/graphql",
                    headers={"Authorization": f"Bearer {key}"},
                    json={"query": QUERY, "variables": {"first": first}},
                )
                counted["n"] = 0
                await http.post(
                    "/graphql",
                    headers={"Authorization": f"Bearer {key}"},
                    json={"query": QUERY, "variables": {"first": first}},
                )
                statements[first] = counted["n"]
    return {"key": key, "statements": statements}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    import socket

    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not start on port {port}")


def fetch(port: int, method: str, path: str, key: str, body: str = "") -> str:
    import httpx

    response = httpx.request(
        method,
        f"http://127.0.0.1:{port}{path}",
        content=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.text


def spread(values: list[float]) -> str:
    return f"min {min(values):7.1f}  median {statistics.median(values):7.1f}  max {max(values):7.1f}"


def main(arguments: argparse.Namespace) -> None:
    load_before = os.getloadavg()
    python = sys.executable
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes: list[subprocess.Popen[Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        database_url = arguments.database_url or f"sqlite://{Path(scratch) / 'bench.db'}"
        from server.crypto import generate_key_spec

        key_spec = generate_key_spec()
        prepared = asyncio.run(prepare(database_url, Path(scratch), key_spec, arguments.users))
        key = prepared["key"]
        weir_port, plain_port = free_port(), free_port()
        try:
            weir = subprocess.Popen(
                [python, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(weir_port)],
                env={
                    **environment,
                    "WEIR_DATABASE_URL": database_url,
                    "WEIR_DATA_DIR": scratch,
                    "WEIR_ENCRYPTION_KEYS": key_spec,
                    "WEIR_LOG_LEVEL": "WARNING",
                },
                stdout=subprocess.DEVNULL,
                cwd=ROOT,
            )
            processes.append(weir)
            plain = subprocess.Popen(
                [python, __file__, "--serve-baseline", str(plain_port), "--database-url", database_url],
                env=environment,
                cwd=ROOT,
            )
            processes.append(plain)
            client = subprocess.Popen(
                [python, __file__, "--client"],
                env=environment,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            processes.append(client)
            wait_for(weir_port, weir, "weir serve")
            wait_for(plain_port, plain, "the baseline")

            graphql_body = json.dumps({"query": QUERY, "variables": {"first": 100}})
            weir_page = fetch(weir_port, "POST", "/graphql", key, graphql_body)
            plain_page = fetch(plain_port, "GET", "/end-users?first=100", key)
            same = json.loads(weir_page) == json.loads(plain_page)
            if not same or "errors" in json.loads(weir_page):
                raise RuntimeError(f"the servers disagree: {weir_page[:300]} / {plain_page[:300]}")
            targets = {
                "weir": {
                    "port": weir_port,
                    "method": "POST",
                    "path": "/graphql",
                    "body": graphql_body,
                    "expected": weir_page,
                },
                "baseline": {
                    "port": plain_port,
                    "method": "GET",
                    "path": "/end-users?first=100",
                    "expected": plain_page,
                },
            }

            def round_of(name: str, requests: int) -> float:
                assert client.stdin is not None and client.stdout is not None
                command = {
                    **targets[name],
                    "key": key,
                    "requests": requests,
                    "concurrency": arguments.concurrency,
                }
                client.stdin.write(json.dumps(command) + "\n")
                client.stdin.flush()
                line = client.stdout.readline()
                if not line:
                    raise RuntimeError("the client process died")
                return float(json.loads(line)["rps"])

            for name in ("weir", "baseline"):  # warm-up, not counted
                round_of(name, arguments.requests // 3)
            results: dict[str, list[float]] = {"weir": [], "baseline": []}
            for number in range(arguments.rounds):
                order = ("weir", "baseline") if number % 2 == 0 else ("baseline", "weir")
                for name in order:
                    results[name].append(round_of(name, arguments.requests))
        finally:
            for process in reversed(processes):
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
    load_after = os.getloadavg()

    weir_rps, plain_rps = results["weir"], results["baseline"]
    pairs = [w / p for w, p in zip(weir_rps, plain_rps, strict=True)]
    backend = database_url.split(":", 1)[0]
    print(
        f"database: {backend}, {arguments.users} end users, pages of 100; "
        f"{arguments.rounds} alternating rounds of {arguments.requests} requests per server, "
        f"{arguments.concurrency} keep-alive connections from a separate client process"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average before "
        f"{' '.join(f'{v:.2f}' for v in load_before)}, after "
        f"{' '.join(f'{v:.2f}' for v in load_after)}"
    )
    print(f"identical JSON from both servers: {same}")
    print(f"baseline (Starlette + plain driver): {spread(plain_rps)} requests/s")
    print(f"Weir (weir serve, POST /graphql):    {spread(weir_rps)} requests/s")
    print(
        f"ratio of medians Weir/baseline:      "
        f"{statistics.median(weir_rps) / statistics.median(plain_rps):7.2f}"
    )
    print(
        f"ratio per round pair:                min {min(pairs):7.2f}  median "
        f"{statistics.median(pairs):7.2f}  max {max(pairs):7.2f}"
    )
    statements = prepared["statements"]
    print(
        f"SQL statements per GraphQL request: page of 10 -> {statements[10]}, "
        f"page of 100 -> {statements[100]}  (must not grow with the page size)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=400, help="per round and server")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.client:
        run_client()
    elif parsed.serve_baseline:
        serve_baseline(parsed.database_url, parsed.serve_baseline)
    else:
        main(parsed)
