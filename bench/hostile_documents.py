"""Hostile GraphQL documents against a real ``weir serve``: does ``/healthz`` stay fast and
does memory stay flat?

    python bench/hostile_documents.py [--seconds 20] [--concurrency 4]

Three processes besides this one, all on 127.0.0.1:

- **Weir**: ``python -m server.cli serve`` (SQLite in a scratch directory), request budgets off
  (``WEIR_RATE_LIMIT_*=0``: the worst case, as many keys and tokens as an attacker wants), or
  with ``--budgets`` the defaults (one key and one connect token, as an end user has);
- **the attacker**: ``--concurrency`` loops per kind, for ``--seconds``, each sending maximal
  hostile documents, every one distinct (so the parse cache churns): ``POST /graphql`` with an
  API key and with a connect token (a 1 MB body of one over-long document, a document at the
  length limit made of one long string, a dense document at the token limit, a fragment bomb),
  and WebSocket ``subscribe`` messages (the same documents, plus a message over the size cap);
- **the prober**: ``GET /healthz`` every 20 ms, timing each answer.

Prints the prober's p50/p99/max, the server's resident memory idle (after a warm-up) and at its
peak under attack (sampled every 100 ms from /proc), what the attacker got back, and the load
average. Targets: p99 < 100 ms, peak RSS < idle + 50 MB.
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

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.graphql_read import free_port, wait_for  # noqa: E402

CREATE_SESSION = """mutation($w: ID!) {
  createConnectSession(input: {workspaceId: $w, integrationName: "demo"}) { token }
}"""


def hostile_documents(n: int) -> list[str]:
    """Distinct (by ``n``) worst cases for each limit, the defaults' maxima."""
    return [
        f"# {n}\n{{ __typename }}" + " " * 1_000_000,  # over the length limit: refused unread
        f'{{ __typename(x: "{n}' + "x" * 99_900 + '") }',  # at the length limit, one string
        f"query Q{n} {{ " + " ".join("__typename" for _ in range(4990)) + " }",  # at 5000 tokens
        f"query B{n} {{ ...F0 }} "
        + " ".join(  # a fragment bomb: 2**40 fields once expanded
            f"fragment F{i} on Query {{ ...F{i + 1} ... on Query {{ ...F{i + 1} }} }}" for i in range(40)
        )
        + " fragment F40 on Query { __typename }",
    ]


# -- the attacker (its own process) -----------------------------------------------------------


async def attack(port: int, key: str, token: str, seconds: float, concurrency: int) -> dict:
    import httpx
    import websockets

    outcomes: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))

    def count(what: str) -> None:
        outcomes[what] = outcomes.get(what, 0) + 1

    async def http_loop(secret: str, label: str) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            while time.monotonic() < deadline:
                for query in hostile_documents(next(counter)):
                    try:
                        response = await http.post(
                            "/graphql",
                            content=json.dumps({"query": query}),
                            headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
                        )
                    except httpx.HTTPError as exc:
                        count(f"{label} {type(exc).__name__}")
                        continue
                    errors = response.json().get("errors") or [{}]
                    count(f"{label} {response.status_code} {errors[0].get('extensions', {}).get('code')}")

    async def ws_loop(secret: str, label: str) -> None:
        while time.monotonic() < deadline:
            try:
                await ws_round(secret, label)
            except (websockets.ConnectionClosed, OSError, TimeoutError) as exc:
                count(f"{label} {type(exc).__name__}")

    async def ws_round(secret: str, label: str) -> None:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"], max_size=None
        ) as socket:
            await socket.send(
                json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {secret}"}})
            )
            await socket.recv()
            try:
                for i, query in enumerate(hostile_documents(next(counter))[1:]):
                    await socket.send(
                        json.dumps({"id": str(i), "type": "subscribe", "payload": {"query": query}})
                    )
                    answer = json.loads(await socket.recv())
                    payload = answer.get("payload")
                    code = payload[0].get("extensions", {}).get("code") if isinstance(payload, list) else None
                    count(f"{label} {answer['type']} {code}")
                    if answer["type"] == "next":  # ran: its `complete` follows
                        await socket.recv()
                await socket.send(
                    json.dumps(
                        {
                            "id": "big",
                            "type": "subscribe",
                            "payload": {"query": hostile_documents(next(counter))[0] + " " * 100_000},
                        }
                    )
                )
                await socket.recv()
            except websockets.ConnectionClosed as closed:
                count(f"{label} close {closed.rcvd.code if closed.rcvd else None}")

    loops = []
    for _ in range(concurrency):
        loops += [
            http_loop(key, "http key"),
            http_loop(token, "http token"),
            ws_loop(key, "ws key"),
            ws_loop(token, "ws token"),
        ]
    await asyncio.gather(*loops)
    return outcomes


async def probe(port: int, seconds: float) -> list[float]:
    import httpx

    timings: list[float] = []
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = await http.get("/healthz")
                assert response.status_code == 200
            except httpx.TimeoutException:
                pass  # counted as the 30 s it waited
            timings.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)
    return timings


# -- the orchestrator ---------------------------------------------------------------------------


async def prepare(database_url: str, data_dir: Path, key_spec: str) -> tuple[str, str]:
    import httpx

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
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
            body = (
                await http.post(
                    "/graphql",
                    headers={"Authorization": f"Bearer {key}"},
                    json={"query": CREATE_SESSION, "variables": {"w": workspace.id}},
                )
            ).json()
    return key, body["data"]["createConnectSession"]["token"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def percentiles(timings: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max of ``timings`` (seconds), in milliseconds."""
    ordered = sorted(t * 1000 for t in timings)
    return (statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], ordered[-1])


def main(arguments: argparse.Namespace) -> None:
    load_before = os.getloadavg()
    python = sys.executable
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as scratch:
        from server.crypto import generate_key_spec

        database_url = f"sqlite://{Path(scratch) / 'bench.db'}"
        key_spec = generate_key_spec()
        key, token = asyncio.run(prepare(database_url, Path(scratch), key_spec))
        port = free_port()
        weir = subprocess.Popen(
            [python, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={
                **environment,
                "WEIR_DATABASE_URL": database_url,
                "WEIR_DATA_DIR": scratch,
                "WEIR_ENCRYPTION_KEYS": key_spec,
                "WEIR_LOG_LEVEL": "WARNING",
                **(
                    {}
                    if arguments.budgets
                    else {
                        "WEIR_RATE_LIMIT_KEY_PER_MINUTE": "0",
                        "WEIR_RATE_LIMIT_CONNECT_TOKEN_PER_MINUTE": "0",
                    }
                ),
            },
            stdout=subprocess.DEVNULL,
            cwd=ROOT,
        )
        try:
            wait_for(port, weir, "weir serve")
            # Warm up, then take the idle figures: memory, and /healthz with no attack (the
            # machine's own noise, to read the figure under attack against).
            subprocess.run(
                [python, __file__, "--probe", str(port), "2"],
                env=environment,
                check=True,
                capture_output=True,
            )
            quiet = json.loads(
                subprocess.run(
                    [python, __file__, "--probe", str(port), str(arguments.seconds / 2)],
                    env=environment,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            idle = rss_mb(weir.pid)
            prober = subprocess.Popen(
                [python, __file__, "--probe", str(port), str(arguments.seconds + 2)],
                env=environment,
                stdout=subprocess.PIPE,
                text=True,
            )
            attacker = subprocess.Popen(
                [
                    python,
                    __file__,
                    "--attack",
                    str(port),
                    key,
                    token,
                    str(arguments.seconds),
                    str(arguments.concurrency),
                ],
                env=environment,
                stdout=subprocess.PIPE,
                text=True,
            )
            peak = idle
            # Bounded: the attacker gets the run's length again to finish what is in flight.
            give_up = time.monotonic() + 2 * arguments.seconds + 40
            while (attacker.poll() is None or prober.poll() is None) and time.monotonic() < give_up:
                peak = max(peak, rss_mb(weir.pid))
                time.sleep(0.1)
            for process in (attacker, prober):
                if process.poll() is None:
                    process.kill()
            timings = json.loads(prober.stdout.read() or "[30]")
            outcomes = json.loads(
                attacker.stdout.read() or '{"attacker still waiting for answers when stopped": 1}'
            )
        finally:
            weir.terminate()
            try:
                weir.wait(10)
            except subprocess.TimeoutExpired:
                print("weir serve did not stop within 10 s of SIGTERM: killed")
                weir.kill()
    quiet_p50, quiet_p99, quiet_max = percentiles(quiet)
    p50, p99, top = percentiles(timings)
    print(
        f"/healthz idle:         {len(quiet)} probes, p50 {quiet_p50:.1f} ms, "
        f"p99 {quiet_p99:.1f} ms, max {quiet_max:.1f} ms"
    )
    print(
        f"/healthz under attack: {len(timings)} probes, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {top:.1f} ms  (p99 {p99 / quiet_p99:.1f}x idle; target p99 < 100 ms: "
        f"{'met' if p99 < 100 else 'MISSED'})"
    )
    print(
        f"RSS: idle {idle:.1f} MB, peak {peak:.1f} MB, +{peak - idle:.1f} MB"
        f"  (target < +50 MB: {'met' if peak - idle < 50 else 'MISSED'})"
    )
    print(f"attacker got: {json.dumps(outcomes, sort_keys=True)}")
    print(f"load average before {load_before}, after {os.getloadavg()}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        print(json.dumps(asyncio.run(probe(int(sys.argv[2]), float(sys.argv[3])))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--attack":
        port, key, token, seconds, concurrency = sys.argv[2:7]
        print(json.dumps(asyncio.run(attack(int(port), key, token, float(seconds), int(concurrency)))))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--seconds", type=float, default=20)
        parser.add_argument("--concurrency", type=int, default=2)
        parser.add_argument(
            "--budgets",
            action="store_true",
            help="keep the default request budgets (one key, one token spend "
            "theirs, as an end user holding one token would)",
        )
        main(parser.parse_args())
