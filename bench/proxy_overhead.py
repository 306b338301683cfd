"""What the authenticated proxy costs: ``GET /proxy/...`` through Weir against the same call made
straight to the provider, measured like a user: real servers, a client in another process.

    python bench/proxy_overhead.py [--rounds 10] [--requests 600] [--concurrency 8]
                                   [--provider-ms 50] [--wide 32]

Three processes besides this one, all on 127.0.0.1:

- **the provider**: an emulator of OpenAI's ``GET /v1/models`` under uvicorn, answering the
  documented list (about 2 KB of JSON) to the right bearer token, at once or after
  ``?delay_ms=`` milliseconds;
- **Weir**: ``python -m server.cli serve`` (what ``weir serve`` runs, SQLite), with the OpenAI
  integration's base URL pointed at the emulator and one connection holding the token. Each
  proxied request is authenticated (API key), resolves the connection, decrypts the
  credential, checks the path and the workspace policy, forwards with the token injected,
  streams the answer back and writes the call log;
- **the client**: a load generator in its own process (raw HTTP/1.1 over asyncio streams,
  keep-alive connections) timing every request.

Direct and proxied rounds alternate (the order flips each round) so that a busy machine slows
both alike. The measurements:

- latency with one connection to the instant provider: the proxy's added milliseconds at p50
  and p90 (goal: under 2 ms at p50);
- throughput with ``--concurrency`` connections to the instant provider: Weir's own capacity,
  since the emulator answers in a tenth of a millisecond what takes Weir a couple (an
  authenticated, logged call with a second HTTP exchange inside); no proxy comes near 0.7x of
  that, and the ratio says only how much cheaper a bare emulator is;
- throughput to a provider that answers in ``--provider-ms`` (real APIs take tens to hundreds
  of milliseconds), with ``--concurrency`` and with ``--wide`` connections (goal: at least 0.7x
  the direct requests/s): whether the proxy keeps up with what callers send.

Prints each with min/median/max over the rounds, the ratio of the medians and of each round
pair, and the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
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

from bench.graphql_read import free_port, read_response, spread, wait_for  # noqa: E402 (after the path fix)

TOKEN = "sk-bench-0123456789abcdefghijklmnop"
MODELS = {
    "object": "list",
    "data": [
        {"id": f"model-{n:02d}", "object": "model", "created": 1_700_000_000 + n, "owned_by": "bench"}
        for n in range(24)
    ],
}


# -- the provider (its own process) -------------------------------------------------------------


def serve_provider(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = json.dumps(MODELS).encode()

    async def models(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response(b'{"error": {"message": "bad key"}}', status_code=401)
        delay = int(request.query_params.get("delay_ms", "0"))
        if delay:
            await asyncio.sleep(delay / 1000)
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/v1/models", models)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# -- the client (its own process) ---------------------------------------------------------------


async def _load(command: dict[str, Any]) -> dict[str, Any]:
    headers = "".join(f"{name}: {value}\r\n" for name, value in command["headers"].items())
    request = f"GET {command['path']} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()
    expected = command["expected"].encode()
    connections = [
        await asyncio.open_connection("127.0.0.1", command["port"]) for _ in range(command["concurrency"])
    ]
    timings: list[float] = []
    try:
        for reader, writer in connections:  # one untimed request each: connections are warm
            writer.write(request)
            assert await read_response(reader) == (200, expected)
        remaining = iter(range(command["requests"]))

        async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            for _ in remaining:
                sent = time.perf_counter()
                writer.write(request)
                status, body = await read_response(reader)
                timings.append(time.perf_counter() - sent)
                if status != 200 or body != expected:
                    raise RuntimeError(f"status {status} from port {command['port']}: {body[:200]!r}")

        started = time.perf_counter()
        await asyncio.gather(*(worker(r, w) for r, w in connections))
        elapsed = time.perf_counter() - started
    finally:
        for _, writer in connections:
            writer.close()
    timings.sort()
    return {
        "rps": command["requests"] / elapsed,
        "p50_ms": timings[len(timings) // 2] * 1000,
        "p90_ms": timings[int(len(timings) * 0.9)] * 1000,
    }


def run_client() -> None:
    """Reads one JSON command per line on stdin, answers one JSON line per command."""
    loop = asyncio.new_event_loop()
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(loop.run_until_complete(_load(json.loads(line)))), flush=True)


# -- the orchestrator ---------------------------------------------------------------------------


async def prepare(database_url: str, data_dir: Path, key_spec: str) -> dict[str, str]:
    """Migrate and create an organization, a workspace and an API key."""
    from server import ids
    from server.config import Secret, Settings
    from server.db import migrate
    from server.embedded import create_app
    from server.orgs.api_keys import create_api_key
    from server.orgs.models import Organization, Workspace

    settings = Settings(data_dir=data_dir, database_url=database_url, encryption_keys=Secret(key_spec))
    await migrate(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        organization = await Organization.create(id=ids.new_id("organization"), name="Bench")
        workspace = await Workspace.create(
            id=ids.new_id("workspace"), organization=organization, name="default", display_name="Bench"
        )
        key = (await create_api_key(organization_id=organization.id, name="bench")).secret
    return {"key": key, "workspace_id": workspace.id}


def graphql(port: int, key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    import httpx

    response = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    answer: dict[str, Any] = response.json()
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL refused: {answer['errors']}")
    return answer["data"]


CREATE_CONNECTION = """
mutation Create($input: CreateConnectionInput!) { createConnection(input: $input) { id } }
"""


def main(arguments: argparse.Namespace) -> None:
    import httpx

    load_before = os.getloadavg()
    python = sys.executable
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes: list[subprocess.Popen[Any]] = []
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        database_url = f"sqlite://{Path(scratch) / 'bench.db'}"
        from server.crypto import generate_key_spec

        key_spec = generate_key_spec()
        prepared = asyncio.run(prepare(database_url, Path(scratch), key_spec))
        key = prepared["key"]
        weir_port, provider_port = free_port(), free_port()
        try:
            provider = subprocess.Popen(
                [python, __file__, "--serve-provider", str(provider_port)], env=environment, cwd=ROOT
            )
            processes.append(provider)
            weir = subprocess.Popen(
                [python, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(weir_port)],
                env={
                    **environment,
                    "WEIR_DATABASE_URL": database_url,
                    "WEIR_DATA_DIR": scratch,
                    "WEIR_ENCRYPTION_KEYS": key_spec,
                    "WEIR_LOG_LEVEL": "WARNING",
                    # The key's request budget stays on (its check is part of the cost) but
                    # above what the bench sends.
                    "WEIR_RATE_LIMIT_KEY_PER_MINUTE": "100000000",
                    # The emulator stands in for api.openai.com (loopback is allowed outside
                    # WEIR_ENV=production).
                    "WEIR_CONNECTOR_OPENAI_BASE_URL": f"http://127.0.0.1:{provider_port}",
                },
                stdout=subprocess.DEVNULL,
                cwd=ROOT,
            )
            processes.append(weir)
            client = subprocess.Popen(
                [python, __file__, "--client"],
                env=environment,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            processes.append(client)
            wait_for(provider_port, provider, "the provider emulator")
            wait_for(weir_port, weir, "weir serve")
            created = graphql(
                weir_port,
                key,
                CREATE_CONNECTION,
                {
                    "input": {
                        "integrationName": "openai",
                        "authType": "SECRET_TEXT",
                        "secretText": TOKEN,
                        "workspaceId": prepared["workspace_id"],
                    }
                },
            )
            connection_id = created["createConnection"]["id"]
            targets = {
                "direct": {
                    "port": provider_port,
                    "path": "/v1/models",
                    "headers": {"Authorization": f"Bearer {TOKEN}"},
                },
                "proxy": {
                    "port": weir_port,
                    "path": "/proxy/v1/models",
                    "headers": {"Authorization": f"Bearer {key}", "X-Weir-Connection-Id": connection_id},
                },
            }
            answers = {
                name: httpx.get(f"http://127.0.0.1:{t['port']}{t['path']}", headers=t["headers"], timeout=30)
                for name, t in targets.items()
            }
            for name, answer in answers.items():
                if answer.status_code != 200:
                    raise RuntimeError(f"{name}: HTTP {answer.status_code}: {answer.text[:300]}")
            same = answers["direct"].content == answers["proxy"].content
            if not same:
                raise RuntimeError("the proxy's answer differs from the provider's")

            def round_of(name: str, requests: int, concurrency: int, delay_ms: int = 0) -> dict[str, float]:
                assert client.stdin is not None and client.stdout is not None
                target = targets[name]
                command = {
                    **target,
                    "path": target["path"] + (f"?delay_ms={delay_ms}" if delay_ms else ""),
                    "expected": answers[name].text,
                    "requests": requests,
                    "concurrency": concurrency,
                }
                client.stdin.write(json.dumps(command) + "\n")
                client.stdin.flush()
                line = client.stdout.readline()
                if not line:
                    raise RuntimeError("the client process died")
                return dict(json.loads(line))

            for name in targets:  # warm-up, not counted
                round_of(name, arguments.requests // 3, arguments.concurrency)
            for phase, concurrency, delay_ms in phases(arguments):
                for name in targets:
                    results[f"{phase}:{name}"] = {"rps": [], "p50_ms": [], "p90_ms": []}
                for number in range(arguments.rounds):
                    order = ("direct", "proxy") if number % 2 == 0 else ("proxy", "direct")
                    for name in order:
                        measured = round_of(name, arguments.requests, concurrency, delay_ms)
                        for metric, value in measured.items():
                            results[f"{phase}:{name}"][metric].append(value)
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

    print(
        f"{arguments.rounds} alternating rounds of {arguments.requests} GET requests per target; "
        f"latency with 1 keep-alive connection, throughput with {arguments.concurrency}, "
        "from a separate client process; Weir on SQLite, call log on"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average before "
        f"{' '.join(f'{v:.2f}' for v in load_before)}, after "
        f"{' '.join(f'{v:.2f}' for v in load_after)}"
    )
    print("identical body through the proxy: True")
    direct, proxied = results["latency:direct"], results["latency:proxy"]
    added = [p - d for p, d in zip(proxied["p50_ms"], direct["p50_ms"], strict=True)]
    added90 = [p - d for p, d in zip(proxied["p90_ms"], direct["p90_ms"], strict=True)]
    print(f"p50 latency, direct (ms):        {spread(direct['p50_ms'])}")
    print(f"p50 latency, through Weir (ms):  {spread(proxied['p50_ms'])}")
    print(f"added by the proxy at p50 (ms):  {spread(added)}   goal < 2")
    print(f"added by the proxy at p90 (ms):  {spread(added90)}")
    for phase, concurrency, delay_ms in phases(arguments)[1:]:
        provider = f"a provider answering in {delay_ms} ms" if delay_ms else "the instant emulator"
        goal = "   goal >= 0.7" if delay_ms else "   (Weir's capacity, not a goal)"
        direct, proxied = results[f"{phase}:direct"], results[f"{phase}:proxy"]
        pairs = [p / d for p, d in zip(proxied["rps"], direct["rps"], strict=True)]
        print(f"throughput with {concurrency} connections to {provider}:")
        print(f"  direct (req/s):                {spread(direct['rps'])}")
        print(f"  through Weir (req/s):          {spread(proxied['rps'])}")
        ratio = statistics.median(proxied["rps"]) / statistics.median(direct["rps"])
        print(f"  ratio of medians proxy/direct: {ratio:7.2f}{goal}")
        print(
            f"  ratio per round pair:          min {min(pairs):7.2f}  median "
            f"{statistics.median(pairs):7.2f}  max {max(pairs):7.2f}"
        )


def phases(arguments: argparse.Namespace) -> list[tuple[str, int, int]]:
    """(name, connections, provider delay in ms) of each measurement, latency first."""
    return [
        ("latency", 1, 0),
        ("instant", arguments.concurrency, 0),
        ("provider", arguments.concurrency, arguments.provider_ms),
        ("provider-wide", arguments.wide, arguments.provider_ms),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--provider-ms", type=int, default=50, help="the slow provider's answer time")
    parser.add_argument("--wide", type=int, default=32, help="connections of the widest round")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-provider", type=int, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.client:
        run_client()
    elif parsed.serve_provider:
        serve_provider(parsed.serve_provider)
    else:
        main(parsed)
