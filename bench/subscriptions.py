"""Live-status fan-out: N WebSocket subscribers on one `weir serve` process, events published from
another process through Redis; delivery latency p50/p99 and the API process's RSS.

    python bench/subscriptions.py                       # 1,000 then 5,000 subscribers
    python bench/subscriptions.py --subscribers 2000 --events 30

Each subscriber runs `syncRunUpdated(workspaceId)` (the dashboard's subscription). The
publisher process publishes one event per run for ``--events`` distinct runs, ``--gap`` seconds
apart, recording when it published each; a subscriber's latency for an event is the time it
received that run minus the publish time (same machine, same clock). Subscribers are bare
sockets speaking the WebSocket framing by hand (a few microseconds per message, each still parsed
as JSON and checked), spread over ``--client-processes`` processes, so the clients' own work does
not dominate the figures. Runs received twice are counted and reported.
Uses a fresh database on the machine's Postgres and its own redis-server. Prints figures; not a
test. Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("WEIR_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SUBSCRIPTION = """subscription Runs($workspaceId: ID!) {
  syncRunUpdated(workspaceId: $workspaceId) { id syncId status trigger rowsLoaded startedAt finishedAt }
}"""
CONNECT_CONCURRENCY = 100


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def seed(url: str, runs: int) -> dict[str, Any]:
    """The first tenant, a demo sync and ``runs`` finished runs the publisher announces."""
    from server import ids
    from server.config import Settings
    from server.connections.models import Connection
    from server.db import close_database, migrate, open_database
    from server.orgs.bootstrap import initialise
    from server.syncs.models import EltSync, SyncRun

    settings = Settings(database_url=url)
    await migrate(settings)
    database = await open_database(settings)
    try:
        created = await initialise()
        assert created is not None
        org, workspace = created.organization, created.workspace
        connection = await Connection.create(
            id=ids.new_id("connection"),
            organization=org,
            workspace=workspace,
            integration_name="demo",
            auth_type="NONE",
            scope="WORKSPACE",
            display_name="bench",
        )
        sync = await EltSync.create(
            id=ids.new_id("elt_sync"),
            organization=org,
            workspace=workspace,
            connection=connection,
            destination_schema="bench",
            settings={},
            sync_interval="0 0 1 1 *",
        )
        run_ids = []
        for _ in range(runs):
            run = await SyncRun.create(
                id=ids.new_id("sync_run"),
                organization=org,
                sync=sync,
                trigger="MANUAL",
                status="SUCCEEDED",
                stream_stats={"contacts": {"rowsLoaded": 1000}},
            )
            run_ids.append(run.id)
        return {
            "key": created.key.secret,
            "organization": org.id,
            "workspace": workspace.id,
            "sync": sync.id,
            "runs": run_ids,
        }
    finally:
        await close_database(database)


# -- the clients (in their own processes) --------------------------------------------------------


class _Subscriber(asyncio.Protocol):
    """One subscriber on a bare socket: the WebSocket handshake and framing done by hand, so a
    client process spends a few microseconds per message and the figures stay the server's.
    Each message is still parsed as JSON and checked; its receive time is taken when its bytes
    arrive."""

    def __init__(self, port: int, key: str, workspace: str, events: int) -> None:
        self.port, self.key, self.workspace, self.events = port, key, workspace, events
        self.transport: Any = None
        self.buffer = bytearray()
        self.upgraded = False
        self.stage = "ack"
        self.received: dict[str, float] = {}
        self.duplicates = 0  # a run received twice: must stay 0
        loop = asyncio.get_running_loop()
        self.subscribed = loop.create_future()
        self.done = loop.create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        nonce = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n".encode()
        )

    def send(self, message: dict[str, Any] | bytes, opcode: int = 1) -> None:
        data = message if isinstance(message, bytes) else json.dumps(message).encode()
        mask = os.urandom(4)
        length = len(data)
        header = bytes([0x80 | opcode])
        if length < 126:
            header += bytes([0x80 | length])
        else:
            header += bytes([0x80 | 126]) + length.to_bytes(2, "big")
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(data))
        self.transport.write(header + mask + masked)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in buffer[:end]:
                self._fail(f"handshake refused: {bytes(buffer[:end])!r}")
                return
            del buffer[: end + 4]
            self.upgraded = True
            self.send({"type": "connection_init", "payload": {"authorization": f"Bearer {self.key}"}})
        while len(buffer) >= 2:
            length, start = buffer[1] & 0x7F, 2
            if length == 126:
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                return
            opcode = buffer[0] & 0x0F
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == 1:
                self._message(json.loads(payload), now)
            elif opcode == 9:
                self.send(payload, opcode=10)  # uvicorn's keepalive ping: answer it
            elif opcode == 8:
                self._fail(f"closed by the server: {payload!r}")

    def _message(self, message: dict[str, Any], now: float) -> None:
        if self.stage == "ack":
            assert message["type"] == "connection_ack", message
            self.stage = "snapshot"
            self.send(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIPTION, "variables": {"workspaceId": self.workspace}},
                }
            )
        elif self.stage == "snapshot":
            assert message["type"] == "next", message  # the latest run
            self.stage = "live"
            self.subscribed.set_result(None)
        elif message.get("type") == "next":
            run_id = message["payload"]["data"]["syncRunUpdated"]["id"]
            if run_id in self.received:
                self.duplicates += 1
            self.received.setdefault(run_id, now)
            if len(self.received) >= self.events and not self.done.done():
                self.done.set_result(None)

    def _fail(self, reason: str) -> None:
        for future in (self.subscribed, self.done):
            if not future.done():
                future.set_exception(RuntimeError(reason))
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail("connection lost")


async def _clients(
    port: int, key: str, workspace: str, count: int, events: int, ready: Any, go: Any, results: Any
) -> None:
    raise_file_limit()
    loop = asyncio.get_running_loop()
    subscribers: list[_Subscriber] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def open_one() -> None:
        async with gate:
            _, subscriber = await loop.create_connection(
                lambda: _Subscriber(port, key, workspace, events), "127.0.0.1", port
            )
            subscribers.append(subscriber)
            await asyncio.wait_for(subscriber.subscribed, 60)

    await asyncio.gather(*(open_one() for _ in range(count)))
    ready.set()
    await asyncio.to_thread(go.wait)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(s.done for s in subscribers), return_exceptions=True), timeout=120
        )
    finally:
        for subscriber in subscribers:
            subscriber.transport.abort()
    results.put(
        (
            [subscriber.received for subscriber in subscribers],
            sum(subscriber.duplicates for subscriber in subscribers),
        )
    )


def client_process(*args: Any) -> None:
    try:  # the event loop `weir serve` runs on too (uvicorn picks uvloop when installed)
        import uvloop
    except ImportError:
        asyncio.run(_clients(*args))
    else:
        uvloop.run(_clients(*args))


# -- the publisher (its own process) -------------------------------------------------------------


def publish(
    redis_url: str, organization: str, workspace: str, sync: str, runs: list[str], gap: float
) -> dict[str, float]:
    """Publish one event per run through Weir's Redis bus; return when each was published."""
    from server.events import RedisEventBus
    from server.syncs.transitions import run_channels

    async def go() -> dict[str, float]:
        bus = RedisEventBus(redis_url)
        published = {}
        try:
            for run_id in runs:
                # What a worker publishes for one progress update of a run, on the workspace
                # channel the subscribers follow.
                name = run_channels(organization, sync, workspace)[-1]
                event = {"type": "syncRun.progress", "runId": run_id, "syncId": sync, "status": "SUCCEEDED"}
                published[run_id] = time.time()
                await bus.publish(name, event)
                await asyncio.sleep(gap)
        finally:
            await bus.close()
        return published

    return asyncio.run(go())


def publisher_process(args: tuple[Any, ...], out: Any) -> None:
    out.put(publish(*args))


# -- one measurement ------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


def measure(*, subscribers: int, events: int, gap: float, client_processes: int) -> None:
    import asyncpg

    from server.crypto import generate_key_spec

    name = f"weir_bench_subs_{uuid.uuid4().hex[:8]}"
    url = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgres://", 1) + "/" + name

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(ADMIN_URL)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    redis_port, api_port = free_port(), free_port()
    redis_server = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxclients",
            "20000",
        ],
        stdout=subprocess.DEVNULL,
    )
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    api: subprocess.Popen[bytes] | None = None
    logs = Path(tempfile.mkdtemp(prefix="weir-bench-subs-"))
    context = multiprocessing.get_context("spawn")
    try:
        tenant = asyncio.run(seed(url, events))
        environ = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "WEIR_DATABASE_URL": url,
            "WEIR_REDIS_URL": redis_url,
            "WEIR_ENCRYPTION_KEYS": generate_key_spec("b1"),
            "WEIR_LOG_LEVEL": "WARNING",
            "WEIR_DATA_DIR": str(logs),
        }
        with open(logs / "api.log", "wb") as log:
            api = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--port", str(api_port)],
                cwd=ROOT,
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=raise_file_limit,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{api_port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"weir serve did not start; see {logs / 'api.log'}")
            time.sleep(0.1)
        idle_rss = rss_mb(api.pid)

        go, results = context.Event(), context.Queue()
        share = [
            subscribers // client_processes + (1 if i < subscribers % client_processes else 0)
            for i in range(client_processes)
        ]
        readies, clients = [], []
        for count in share:
            ready = context.Event()
            process = context.Process(
                target=client_process,
                args=(api_port, tenant["key"], tenant["workspace"], count, events, ready, go, results),
            )
            process.start()
            readies.append(ready)
            clients.append(process)
        started = time.monotonic()
        for ready in readies:
            if not ready.wait(300):
                raise SystemExit("the subscribers did not all connect within 300 s")
        connected_in = time.monotonic() - started
        time.sleep(1.0)
        subscribed_rss = rss_mb(api.pid)

        published_queue = context.Queue()
        publisher = context.Process(
            target=publisher_process,
            args=(
                (redis_url, tenant["organization"], tenant["workspace"], tenant["sync"], tenant["runs"], gap),
                published_queue,
            ),
        )
        go.set()
        publisher.start()
        published = published_queue.get(timeout=300)
        publisher.join(30)
        peak_rss = rss_mb(api.pid)
        latencies: list[float] = []
        missing = duplicates = 0
        by_event: dict[str, list[float]] = {}
        for _ in clients:
            received, repeated = results.get(timeout=300)
            duplicates += repeated
            for mine in received:
                for run_id, sent in published.items():
                    if run_id in mine:
                        latencies.append((mine[run_id] - sent) * 1000)
                        by_event.setdefault(run_id, []).append(latencies[-1])
                    else:
                        missing += 1
        for process in clients:
            process.join(30)
        print(
            f"{subscribers:,} subscribers ({client_processes} client processes, connected in "
            f"{connected_in:.1f} s), {events} events {gap * 1000:.0f} ms apart: latency p50 "
            f"{percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
            f"min {min(latencies):.1f} ms, max {max(latencies):.1f} ms; {len(latencies):,} deliveries, {missing} missing, {duplicates} duplicated; "
            f"API RSS idle {idle_rss:.0f} MB, subscribed {subscribed_rss:.0f} MB, "
            f"after events {peak_rss:.0f} MB",
            flush=True,
        )
        # Whether the tail is every event or a few slow ones (a neighbour's burst, a GC pause).
        worst = sorted(max(values) for values in by_event.values())
        print(f"  slowest last delivery per event, ms: {', '.join(f'{w:.0f}' for w in worst)}", flush=True)
    finally:
        if api is not None:
            api.send_signal(signal.SIGTERM)
            try:
                api.wait(20)
            except subprocess.TimeoutExpired:
                api.kill()
        redis_server.kill()
        redis_server.wait(10)
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--subscribers",
        type=int,
        action="append",
        help="subscriber count (repeatable; default 1000 then 5000)",
    )
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between events")
    # Two: one client process is itself the bottleneck at 1,000 subscribers, and every further
    # one adds wake-ups the server's sends pay for on a two-core machine (docs/benchmarks.md).
    parser.add_argument("--client-processes", type=int, default=2)
    args = parser.parse_args()
    raise_file_limit()
    for count in args.subscribers or [1000, 5000]:
        measure(subscribers=count, events=args.events, gap=args.gap, client_processes=args.client_processes)


if __name__ == "__main__":
    main()
