"""Scheduler throughput: N enabled syncs due in the same instant, claimed by two `weir scheduler`
processes on Postgres; time until every run is created and its message is in Redis, and
duplicates (must be 0).

    python bench/scheduler.py                 # 10,000 syncs, 1,440 crons, 5 zones, 2 schedulers
    python bench/scheduler.py --syncs 2000 --schedulers 3 --crons 1 --zones 1

The syncs' schedules are spread over ``--crons`` distinct daily cron expressions (``M H * * *``,
up to 1,440: every minute of a day) and ``--zones`` time zones, as real tenants' are; each
distinct (cron, zone) has its own next run time.

Uses a fresh database on the machine's Postgres (dropped at the end) and its own redis-server on
a free port. The schedulers are started first with nothing due; the clock starts when one UPDATE
makes every sync due, so process start-up is not counted (the scan interval is, at most 0.2 s).
Prints figures; not a test. Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("WEIR_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
INTERVAL_SECONDS = "0.2"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney")


def crons(count: int) -> list[str]:
    """``count`` distinct daily cron expressions (at most 1,440: one per minute of the day)."""
    return [f"{minute % 60} {minute // 60} * * *" for minute in range(min(count, 1440))]


async def seed(url: str, count: int, cron_count: int, zone_count: int) -> None:
    """Migrate, then insert a tenant, a demo connection and ``count`` enabled syncs (due in a
    year, so nothing runs until the clock starts)."""
    from server import ids
    from server.config import Settings
    from server.connections.models import Connection
    from server.db import close_database, migrate, open_database
    from server.orgs.models import Organization, Workspace
    from server.syncs.models import EltSync

    settings = Settings(database_url=url)
    await migrate(settings)
    database = await open_database(settings)
    try:
        now = datetime.now(UTC)
        expressions = crons(cron_count)
        organization = await Organization.create(id=ids.new_id("organization"), name="bench")
        workspace = await Workspace.create(
            id=ids.new_id("workspace"), organization=organization, name="default"
        )
        connection = await Connection.create(
            id=ids.new_id("connection"),
            organization=organization,
            workspace=workspace,
            integration_name="demo",
            auth_type="NONE",
            scope="WORKSPACE",
            display_name="bench",
        )
        syncs = [
            EltSync(
                id=ids.new_id("elt_sync"),
                organization=organization,
                workspace=workspace,
                connection=connection,
                destination_schema=f"s{i}",
                settings={},
                sync_interval=expressions[i % len(expressions)],
                timezone=ZONES[(i // len(expressions)) % zone_count],
                enabled=True,
                next_run_at=now + timedelta(days=365),
            )
            for i in range(count)
        ]
        await EltSync.bulk_create(syncs, batch_size=1000)
    finally:
        await close_database(database)


async def measure(url: str, redis_url: str, count: int) -> tuple[float, int, int, int]:
    import asyncpg
    import redis

    db = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    queue = redis.Redis.from_url(redis_url)
    try:
        started = time.perf_counter()
        await db.execute("UPDATE elt_syncs SET next_run_at = now() - interval '1 second'")
        while True:
            runs = await db.fetchval("SELECT count(*) FROM sync_runs")
            messages = queue.hlen("weir:weir-syncs.msgs")
            if runs >= count and messages >= count:
                elapsed = time.perf_counter() - started
                break
            if time.perf_counter() - started > 300:
                raise SystemExit(f"gave up after 300 s: {runs} runs, {messages} messages")
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.0)  # anything late would show as a duplicate now
        duplicates = await count_duplicates(db)
        runs = await db.fetchval("SELECT count(*) FROM sync_runs")
        messages = queue.hlen("weir:weir-syncs.msgs")
        return elapsed, runs, messages, duplicates
    finally:
        queue.close()
        await db.close()


async def count_duplicates(db: object) -> int:
    """Runs of a sync beyond the first that were created before its cron fired again. A sync
    whose next cron time fell inside the measurement (a cron for the coming minute) is rightly
    due again: its second run is not a duplicate."""
    from server.syncs.schedule import next_run_after

    rows = await db.fetch(  # type: ignore[attr-defined]
        "SELECT r.sync_id, r.queued_at, s.sync_interval, s.timezone FROM sync_runs AS r "
        "JOIN elt_syncs AS s ON s.id = r.sync_id WHERE r.sync_id IN "
        "(SELECT sync_id FROM sync_runs GROUP BY sync_id HAVING count(*) > 1) ORDER BY r.sync_id, r.queued_at"
    )
    duplicates = 0
    previous: dict[str, object] = {}
    for sync_id, queued_at, interval, timezone in rows:
        earlier = previous.get(sync_id)
        # The claim computes the next time from the scheduler's clock at the earlier run.
        if earlier is not None and queued_at < next_run_after(interval, timezone, earlier):  # type: ignore[arg-type]
            duplicates += 1
        previous[sync_id] = queued_at
    return duplicates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--syncs", type=int, default=10_000)
    parser.add_argument("--schedulers", type=int, default=2)
    parser.add_argument("--crons", type=int, default=1440, help="distinct cron expressions (1 to 1440)")
    parser.add_argument("--zones", type=int, default=5, help=f"time zones (1 to {len(ZONES)})")
    args = parser.parse_args()

    import asyncpg

    from server.crypto import generate_key_spec

    name = f"weir_bench_sched_{uuid.uuid4().hex[:8]}"
    url = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgres://", 1) + "/" + name

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(ADMIN_URL)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    redis_port = free_port()
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
        ],
        stdout=subprocess.DEVNULL,
    )
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    schedulers: list[subprocess.Popen[bytes]] = []
    logs = tempfile.mkdtemp(prefix="weir-bench-sched-")
    try:
        asyncio.run(seed(url, args.syncs, args.crons, min(max(args.zones, 1), len(ZONES))))
        environ = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "WEIR_DATABASE_URL": url,
            "WEIR_REDIS_URL": redis_url,
            "WEIR_ENCRYPTION_KEYS": generate_key_spec("b1"),
            "WEIR_SCHEDULER_INTERVAL_SECONDS": INTERVAL_SECONDS,
            "WEIR_LOG_LEVEL": "WARNING",
            "WEIR_DATA_DIR": logs,
        }
        for index in range(args.schedulers):
            log = open(Path(logs) / f"scheduler-{index}.log", "wb")  # noqa: SIM115
            schedulers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "server.cli", "scheduler"],
                    cwd=ROOT,
                    env=environ,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 30
        while not all(
            "running" in (Path(logs) / f"scheduler-{i}.log").read_text() for i in range(args.schedulers)
        ):
            if time.monotonic() > deadline:
                raise SystemExit(f"the schedulers did not start; see {logs}")
            time.sleep(0.1)
        time.sleep(0.5)
        load = os.getloadavg()[0]
        elapsed, runs, messages, duplicates = asyncio.run(measure(url, redis_url, args.syncs))
        print(
            f"{args.syncs:,} due syncs over {min(args.crons, 1440):,} crons x {args.zones} zones, "
            f"{args.schedulers} schedulers (load {load:.2f} before, {os.getloadavg()[0]:.2f} after, "
            f"{os.cpu_count()} CPUs): all enqueued in "
            f"{elapsed:.2f} s ({args.syncs / elapsed:,.0f} syncs/s); runs {runs:,}, "
            f"messages {messages:,}, duplicate runs {duplicates}"
        )
    finally:
        for process in schedulers:
            process.send_signal(signal.SIGTERM)
        for process in schedulers:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        redis_server.kill()
        redis_server.wait(10)
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
