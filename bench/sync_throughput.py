"""Sync throughput: one Postgres table (with a jsonb column) copied into a Postgres destination
schema, and the same rows from an API-shaped source, several ways, alternated round by round.

    (a) Weir's engine: the `postgres` source connector, the runner and the Postgres destination
        (keyset-paged reads, COPY into the destination, primary key, atomic swap), run in a
        fresh process per measurement so its peak RSS is its own; once as COPY text (what a
        Postgres-to-Postgres sync does), once as records (what it does with a hashed column),
        and once from an API-shaped source: records as a REST API gives them (timestamps as
        ISO strings, nested objects), generated in the process, the path of every non-Postgres
        connector;
    (b) dlt into its `postgres` destination, `write_disposition="replace"`: its `sql_database`
        source (`sql_table`) with its default sqlalchemy backend and with its pyarrow backend,
        and a `dlt.resource` yielding the same API-shaped records;
    (c) raw `COPY ... TO STDOUT | COPY ... FROM STDIN` between the two (psql), the floor: into a
        table with the primary key, and into one without it, the key added after the load.

Run (needs the machine's Postgres, and dlt installed in the venv for (b) only):

    pip install "dlt[postgres]" sqlalchemy pyarrow   # benchmark only; not Weir dependencies
    python bench/sync_throughput.py      # 1,000,000 rows (and 100,000 for the RSS check)
    python bench/sync_throughput.py --rows 300000 --repeat 3 --dlt-repeat 2

Prints rows/s of each, the ratios and Weir's peak RSS at 100k and 1M rows. Not a test: the
numbers depend on the machine. Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("WEIR_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = os.environ.get("WEIR_BENCH_DATABASE", "weir_bench")
SOURCE_SCHEMA = "bench_src"
BATCH_SIZE = int(os.environ.get("WEIR_BENCH_BATCH_SIZE", "20000"))


def database_url(scheme: str = "postgresql") -> str:
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{DATABASE}".replace("postgresql://", f"{scheme}://", 1)


def table_for(rows: int) -> str:
    return f"events_json_{rows}"


# -- the source ---------------------------------------------------------------------------------


async def prepare_source(sizes: list[int]) -> None:
    """Create the benchmark database and a source table per size (kept between runs)."""
    import asyncpg

    admin = await asyncpg.connect(ADMIN_URL)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    db = await asyncpg.connect(database_url())
    try:
        await db.execute(f"CREATE SCHEMA IF NOT EXISTS {SOURCE_SCHEMA}")
        for rows in sizes:
            table = f"{SOURCE_SCHEMA}.{table_for(rows)}"
            exists = await db.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
            if exists and await db.fetchval(f"SELECT count(*) FROM {table}") == rows:
                continue
            print(f"creating {table} ({rows:,} rows)...", flush=True)
            await db.execute(f"DROP TABLE IF EXISTS {table}")
            await db.execute(f"""
                CREATE TABLE {table} (
                    id bigint PRIMARY KEY,
                    account_id integer NOT NULL,
                    email text NOT NULL,
                    status text NOT NULL,
                    amount double precision,
                    active boolean NOT NULL,
                    created_at timestamptz NOT NULL,
                    updated_at timestamptz NOT NULL,
                    attributes jsonb NOT NULL
                )""")
            await db.execute(f"""
                INSERT INTO {table}
                SELECT n, n % 5000, 'user' || n || '@example.com',
                       (ARRAY['new', 'active', 'churned'])[1 + n % 3],
                       round((n % 100000) / 100.0, 2), n % 2 = 0,
                       timestamptz '2024-01-01' + n * interval '1 second',
                       timestamptz '2024-01-01' + n * interval '1 second',
                       jsonb_build_object(
                           'plan', (ARRAY['free', 'pro', 'team'])[1 + n % 3], 'seats', n % 50,
                           'tags', jsonb_build_array('t' || n % 7, 't' || n % 11),
                           'address', jsonb_build_object('city', 'City ' || n % 100,
                                                         'zip', lpad((n % 99999)::text, 5, '0')))
                FROM generate_series(1, {rows}) AS n""")
            await db.execute(f"ANALYZE {table}")
    finally:
        await db.close()


async def count(schema: str, table: str) -> int:
    import asyncpg

    db = await asyncpg.connect(database_url())
    try:
        return await db.fetchval(f'SELECT count(*) FROM "{schema}"."{table}"')
    finally:
        await db.close()


async def drop_schema(schema: str) -> None:
    import asyncpg

    db = await asyncpg.connect(database_url())
    try:
        await db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await db.close()


# -- (a) Weir -----------------------------------------------------------------------------------


API_PAGE = 1000


def api_pages(rows: int) -> Any:
    """The source rows as a REST API would page them: JSON-decoded records, timestamps as ISO
    8601 strings, the attributes a nested object."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    plans = ("free", "pro", "team")
    for first in range(1, rows + 1, API_PAGE):
        page = []
        for n in range(first, min(first + API_PAGE, rows + 1)):
            moment = (start + timedelta(seconds=n)).isoformat()
            page.append(
                {
                    "id": n,
                    "account_id": n % 5000,
                    "email": f"user{n}@example.com",
                    "status": ("new", "active", "churned")[n % 3],
                    "amount": round((n % 100000) / 100.0, 2),
                    "active": n % 2 == 0,
                    "created_at": moment,
                    "updated_at": moment,
                    "attributes": {
                        "plan": plans[n % 3],
                        "seats": n % 50,
                        "tags": [f"t{n % 7}", f"t{n % 11}"],
                        "address": {"city": f"City {n % 100}", "zip": f"{n % 99999:05d}"},
                    },
                }
            )
        yield page


API_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "account_id": {"type": "integer"},
        "email": {"type": "string"},
        "status": {"type": "string"},
        "amount": {"type": "number"},
        "active": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "attributes": {"type": "object"},
    },
}


def install_api_source(rows: int) -> None:
    """A connector ``bench_api`` whose one stream yields ``api_pages``."""
    from types import SimpleNamespace

    from server.connectors import registry
    from server.connectors.base import ConnectorSpec, RecordBatch, StreamSpec

    spec = ConnectorSpec(
        name="bench_api",
        display_name="Bench API",
        category="Other",
        auth_types=("NONE",),
        description="API-shaped records generated in the process.",
        streams=(StreamSpec(name=table_for(rows), primary_key=("id",), record_schema=API_SCHEMA),),
    )

    async def read(context: Any, stream: str, settings: Any, state: Any) -> Any:
        for page in api_pages(rows):
            yield RecordBatch(stream=stream, records=page)

    registry.CONNECTORS["bench_api"] = SimpleNamespace(SPEC=spec, check=None, read=read)


async def weir_once(rows: int, mode: str, records: bool = False, api: bool = False) -> dict[str, Any]:
    """One Weir run in this process: the real services, runner and destination.

    ``records``: as if the source could not send COPY text, so every row is decoded into a
    record and encoded again for the destination (what a hashed column goes through).
    ``api``: the rows come from the API-shaped source instead (what every connector other than
    PostgreSQL's goes through).
    """
    import dataclasses

    from server import ids
    from server.config import Secret, Settings
    from server.connections.models import Connection
    from server.connectors import postgres
    from server.crypto import generate_key_spec, load_key_ring
    from server.db import close_database, migrate, open_database
    from server.orgs.models import Organization, Workspace
    from server.scope import Scope
    from server.syncs import service
    from server.syncs.models import SyncRun
    from server.syncs.runner import RunEnvironment, execute_run
    from server.syncs.schedule import create_run
    from server.syncs.service import StreamChoice, SyncChanges

    if records:
        postgres.SPEC = dataclasses.replace(postgres.SPEC, copy_text=False)
    if api:
        install_api_source(rows)
    schema = "weir_dst"
    await drop_schema(schema)
    workdir = Path(tempfile.mkdtemp(prefix="weir-bench-"))
    settings = Settings(
        data_dir=workdir,
        database_url=f"sqlite://{workdir / 'weir.db'}",
        warehouse_url=database_url("postgres"),
        encryption_keys=Secret(generate_key_spec("bench")),
    )
    key_ring = load_key_ring(settings)
    await migrate(settings)
    database = await open_database(settings)
    try:
        organization = await Organization.create(id=ids.new_id("organization"), name="Bench")
        workspace = await Workspace.create(
            id=ids.new_id("workspace"), organization=organization, name="bench"
        )
        scope = Scope(organization_id=organization.id)
        connection_id = ids.new_id("connection")
        parts = database_url().split("://", 1)[1]
        user_host, _, name = parts.partition("/")
        user, _, hostport = user_host.rpartition("@")
        host, _, port = hostport.partition(":")
        credentials = {
            "host": host,
            "port": int(port or 5432),
            "database": name,
            "user": user or "postgres",
            "sslmode": "disable",
        }
        await Connection.create(
            id=connection_id,
            organization_id=organization.id,
            workspace_id=workspace.id,
            integration_name="bench_api" if api else "postgres",
            auth_type="NONE" if api else "CUSTOM_AUTH",
            scope="WORKSPACE",
            credentials_encrypted=key_ring.encrypt(
                json.dumps({} if api else credentials).encode(), associated_data=connection_id
            ),
        )
        table = table_for(rows)
        source_settings = (
            {} if api else {"schema": SOURCE_SCHEMA, "tables": [table], "batch_size": BATCH_SIZE}
        )
        sync = await service.create_sync(
            scope=scope,
            settings=settings,
            key_ring=key_ring,
            bus=None,
            connection_id=connection_id,
            changes=SyncChanges(
                destination_schema=schema,
                sync_interval="0 * * * *",
                settings=source_settings,
            ),
            streams=[StreamChoice(name=table, sync_mode=mode)],
        )
        run = await create_run(sync=sync, trigger="MANUAL")
        started = time.perf_counter()
        status = await execute_run(
            env=RunEnvironment(settings=settings, key_ring=key_ring, bus=None), run_id=run.id
        )
        seconds = time.perf_counter() - started
        run = await SyncRun.get(id=run.id)
        if status != "SUCCEEDED":
            raise SystemExit(f"Weir run {status}: {run.error} {run.stream_stats}")
    finally:
        await close_database(database)
    # The shared warehouse keeps each workspace's tables in a schema of its own.
    loaded = await count(sync.warehouse_schema, table)
    await drop_schema(sync.warehouse_schema)
    assert loaded == rows, f"Weir loaded {loaded} rows, expected {rows}"
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"rows": rows, "seconds": seconds, "peak_rss": peak_rss}


def in_subprocess(*args: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


# -- (b) dlt ------------------------------------------------------------------------------------


def dlt_once(rows: int, backend: str) -> dict[str, Any]:
    """dlt's ``sql_table`` with ``backend`` ("sqlalchemy", "pyarrow"), or (``api``) a
    ``dlt.resource`` yielding the API-shaped pages."""
    import dlt

    asyncio.run(drop_schema("dlt_dst"))
    workdir = tempfile.mkdtemp(prefix="dlt-bench-")
    # dlt insists on a password; the machine's Postgres trusts loopback and ignores it.
    with_password = database_url().replace("postgres@", "postgres:unused@", 1)
    pipeline = dlt.pipeline(
        pipeline_name=f"weir_bench_{backend}",
        pipelines_dir=workdir,
        destination=dlt.destinations.postgres(credentials=with_password),
        dataset_name="dlt_dst",
    )
    if backend == "api":
        source: Any = dlt.resource(api_pages(rows), name=table_for(rows), primary_key="id")
    else:
        from dlt.sources.sql_database import sql_table

        source = sql_table(
            credentials=database_url("postgresql+psycopg2"),
            schema=SOURCE_SCHEMA,
            table=table_for(rows),
            backend=backend,
        )
    started = time.perf_counter()
    pipeline.run(source, write_disposition="replace")
    seconds = time.perf_counter() - started
    loaded = asyncio.run(count("dlt_dst", table_for(rows)))
    assert loaded == rows, f"dlt loaded {loaded} rows, expected {rows}"
    return {"rows": rows, "seconds": seconds}


# -- (c) raw COPY -------------------------------------------------------------------------------


def copy_once(rows: int, key_after: bool = False) -> dict[str, Any]:
    """``COPY TO STDOUT | COPY FROM STDIN`` into a table with the source's primary key, or
    (``key_after``) into one without it, the key added after the load as Weir's full refresh
    does."""
    import asyncpg

    table = table_for(rows)

    async def prepare() -> None:
        await drop_schema("copy_dst")
        db = await asyncpg.connect(database_url())
        try:
            await db.execute("CREATE SCHEMA copy_dst")
            await db.execute(
                f"CREATE TABLE copy_dst.{table} (LIKE {SOURCE_SCHEMA}.{table} "
                f"{'INCLUDING DEFAULTS' if key_after else 'INCLUDING ALL'})"
            )
        finally:
            await db.close()

    asyncio.run(prepare())
    url = database_url()
    command = (
        f"psql -X -q '{url}' -c 'COPY {SOURCE_SCHEMA}.{table} TO STDOUT' | "
        f"psql -X -q '{url}' -c 'COPY copy_dst.{table} FROM STDIN'"
    )
    if key_after:
        command += f" && psql -X -q '{url}' -c 'ALTER TABLE copy_dst.{table} ADD PRIMARY KEY (id)'"
    started = time.perf_counter()
    subprocess.run(command, shell=True, check=True)
    seconds = time.perf_counter() - started
    loaded = asyncio.run(count("copy_dst", table))
    assert loaded == rows, f"COPY loaded {loaded} rows, expected {rows}"
    return {"rows": rows, "seconds": seconds}


# -- the report ---------------------------------------------------------------------------------


def median(results: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(results, key=lambda r: r["seconds"])[len(results) // 2]


def rate(result: dict[str, Any]) -> float:
    return result["rows"] / result["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", nargs="?", default="all", choices=["all", "weir", "dlt"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--small",
        type=int,
        default=100_000,
        help="row count of the second Weir run, for the memory comparison",
    )
    parser.add_argument("--mode", default="FULL_REFRESH", choices=["FULL_REFRESH", "INCREMENTAL"])
    parser.add_argument("--skip-dlt", action="store_true")
    parser.add_argument(
        "--records", action="store_true", help="(with part weir) load as records, not COPY text"
    )
    parser.add_argument("--api", action="store_true", help="(with part weir) from the API-shaped source")
    parser.add_argument(
        "--backend", default="sqlalchemy", choices=["sqlalchemy", "pyarrow", "api"], help="(with part dlt)"
    )
    parser.add_argument("--dlt-repeat", type=int, default=2, help="rounds that also run dlt's three ways")
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of raw COPY and Weir (medians are reported)"
    )
    args = parser.parse_args()
    if args.part == "weir":
        print(json.dumps(asyncio.run(weir_once(args.rows, args.mode, args.records, args.api))))
        return
    if args.part == "dlt":
        print(json.dumps(dlt_once(args.rows, args.backend)))
        return

    asyncio.run(prepare_source([args.rows, args.small]))
    print(
        f"source: {SOURCE_SCHEMA}.{table_for(args.rows)}, {args.rows:,} rows, 9 columns (one jsonb); "
        f"Weir batch size {BATCH_SIZE:,}; {os.cpu_count()} CPU(s); load average "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    # The baselines and Weir alternate, and each reports its median, so a busy moment on a
    # shared machine does not land on one side only.
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in LABELS}
    weir = ("weir", "--rows", str(args.rows), "--mode", args.mode)
    for attempt in range(args.repeat):
        runs["copy"].append(copy_once(args.rows))
        runs["copy_key_after"].append(copy_once(args.rows, key_after=True))
        runs["weir"].append(in_subprocess(*weir))
        runs["weir_records"].append(in_subprocess(*weir, "--records"))
        runs["weir_api"].append(in_subprocess(*weir, "--api"))
        if not args.skip_dlt and attempt < args.dlt_repeat:
            for backend in ("sqlalchemy", "pyarrow", "api"):
                runs[f"dlt_{backend}"].append(
                    in_subprocess("dlt", "--rows", str(args.rows), "--backend", backend)
                )
        print(
            f"  round {attempt + 1} (load {os.getloadavg()[0]:.1f}): "
            + ", ".join(
                f"{LABELS[name]} {results[-1]['seconds']:.2f} s"
                for name, results in runs.items()
                if len(results) == attempt + 1
            ),
            flush=True,
        )
    runs["weir_incremental"].append(in_subprocess("weir", "--rows", str(args.rows), "--mode", "INCREMENTAL"))
    small = in_subprocess("weir", "--rows", str(args.small), "--mode", args.mode)
    best = {name: median(results) for name, results in runs.items() if results}
    for name, result in best.items():
        spread = [r["seconds"] for r in runs[name]]
        print(
            f"{LABELS[name]:<52} {result['seconds']:7.2f} s  {rate(result):>10,.0f} rows/s  "
            f"(rounds {min(spread):.2f}-{max(spread):.2f} s)"
        )
    print()
    goals = [
        ("weir", "copy", 0.8),
        ("weir", "copy_key_after", 0.8),
        ("weir_records", "copy", 0.4),
        ("weir_records", "copy_key_after", 0.4),
        ("weir_api", "copy", 0.4),
    ]
    for name, baseline, target in goals:
        print(
            f"{LABELS[name]} / {LABELS[baseline]}: {rate(best[name]) / rate(best[baseline]):5.2f}x   "
            f"(target >= {target})"
        )
    dlts = [name for name in ("dlt_sqlalchemy", "dlt_pyarrow") if name in best]
    if dlts:
        fastest = max(dlts, key=lambda name: rate(best[name]))
        for name in ("weir", "weir_records"):
            print(
                f"{LABELS[name]} / {LABELS[fastest]} (dlt's fastest): "
                f"{rate(best[name]) / rate(best[fastest]):6.2f}x   (target >= 5)"
            )
    if "dlt_api" in best:
        print(
            f"{LABELS['weir_api']} / {LABELS['dlt_api']}: "
            f"{rate(best['weir_api']) / rate(best['dlt_api']):6.2f}x   (target >= 5)"
        )
    weir_result = best["weir"]
    ratio = weir_result["peak_rss"] / small["peak_rss"]
    print(
        f"Weir peak RSS   {small['peak_rss'] / 2**20:6.1f} MiB at {args.small:,} rows, "
        f"{weir_result['peak_rss'] / 2**20:6.1f} MiB at {args.rows:,} rows: {ratio:.2f}x "
        "(target <= 1.2)"
    )


LABELS = {
    "copy": "raw COPY (key during the load)",
    "copy_key_after": "raw COPY (key added after)",
    "weir": "Weir (COPY text)",
    "weir_records": "Weir (as records)",
    "weir_api": "Weir (API-shaped source)",
    "dlt_sqlalchemy": "dlt (sql_table, sqlalchemy backend)",
    "dlt_pyarrow": "dlt (sql_table, pyarrow backend)",
    "dlt_api": "dlt (API-shaped resource)",
    "weir_incremental": "Weir, first INCREMENTAL load (staged upserts)",
}


if __name__ == "__main__":
    main()
