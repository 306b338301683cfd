"""PostgreSQL to PostgreSQL as COPY text: the same rows and state as records, and a fallback.

The engine moves a Postgres source's rows into a Postgres destination as COPY text when nothing
has to happen to a value on the way. Every test here compares that path with the record path on
the same data, values chosen to break a naive text format: quotes, tabs, newlines, backslashes,
a literal ``\\N``, NULLs, arrays, JSON, bytea, timestamps and numerics.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from server import ids
from server.config import Settings
from server.connections.models import Connection
from server.connectors import postgres
from server.connectors.base import ConnectorContext, CopyBatch, RecordBatch, StateCheckpoint
from server.destinations.base import CopyRejected, build_destination
from server.destinations.postgres import PostgresTableLoader
from server.outbound import Policy
from server.scope import Scope
from server.syncs import service
from server.syncs.models import SyncRun
from server.syncs.runner import RunEnvironment, execute_run
from server.syncs.service import StreamChoice, SyncChanges
from tests.conftest import POSTGRES_URL, require_service
from tests.connectors.test_postgres_connector import url_credentials
from tests.syncs.conftest import run_once

KEYS = [
    "it's",
    "tab\there",
    "line\nbreak",
    "back\\slash",
    "\\N",
    "",
    " spaced ",
    "ünïcode ☃",
    "carriage\rreturn",
    'quote"d',
]
ROWS = 350


@pytest.fixture
async def source() -> AsyncIterator[dict[str, Any]]:
    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    schema = f"copy_src_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
    await admin.execute(f"""
        CREATE SCHEMA {schema};
        CREATE TABLE {schema}.notes (
            key text PRIMARY KEY, n integer, amount numeric(30, 10), ratio double precision,
            flag boolean, body text, doc jsonb, tags text[], counts int[], blob bytea,
            day date, local_at timestamp, ident uuid, span interval,
            updated_at timestamptz NOT NULL);
        INSERT INTO {schema}.notes
            SELECT 'row ' || lpad(n::text, 4, '0'), n, n / 7.0, n / 3.0, n % 2 = 0,
                   'body ' || n, jsonb_build_object('n', n, 'nested', jsonb_build_array(n, 'é')),
                   ARRAY['a', 'b' || n], ARRAY[n, n + 1], decode(lpad(to_hex(n), 4, '0'), 'hex'),
                   DATE '2024-01-01' + n, TIMESTAMP '2024-01-01 00:00:00' + n * INTERVAL '1.5 s',
                   md5(n::text)::uuid, n * INTERVAL '1 minute',
                   TIMESTAMPTZ '2024-01-01 00:00:00+00' + n * INTERVAL '1 second'
            FROM generate_series(1, {ROWS}) AS n;
    """)
    for position, key in enumerate(KEYS):
        await admin.execute(
            f"INSERT INTO {schema}.notes (key, body, doc, ratio, updated_at) VALUES "
            "($1, $2, $3::jsonb, $4, TIMESTAMPTZ '2024-06-01 00:00:00.123456+00' + $5 * "
            "INTERVAL '1 second')",
            key,
            key + "\t\\ \n end",
            json.dumps({"text": key}),
            1e-300 * position,
            position,
        )
    try:
        yield {"schema": schema, "admin": admin, "credentials": url_credentials(POSTGRES_URL)}
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


def context(credentials: dict[str, Any]) -> ConnectorContext:
    return ConnectorContext(
        http=httpx.AsyncClient(),
        base_url=None,
        credentials=credentials,
        outbound=Policy.from_settings(Settings()),
    )


async def read_all(
    source: dict[str, Any], state: dict[str, Any] | None = None, copy_columns: tuple[str, ...] | None = None
) -> tuple[list[RecordBatch | CopyBatch], list[dict[str, Any]]]:
    settings = {"schema": source["schema"], "batch_size": 100}
    extra = {"copy_columns": copy_columns} if copy_columns else {}
    pages, states = [], []
    async for item in postgres.read(context(source["credentials"]), "notes", settings, state, **extra):
        if isinstance(item, StateCheckpoint):
            states.append(item.state)
        else:
            pages.append(item)
    return pages, states


def test_copy_text_fields_decode_every_escape() -> None:
    assert postgres.copy_text_value(b"\\N") is None
    assert postgres.copy_text_value(b"\\\\N") == "\\N"
    assert postgres.copy_text_value(b"a\\tb\\nc\\rd\\\\e") == "a\tb\nc\rd\\e"
    assert postgres.copy_text_value(b"\\x41\\101\\b\\f\\v") == "AA\b\f\v"
    assert postgres.copy_text_value("ünï".encode()) == "ünï"


async def test_copy_pages_carry_the_same_rows_and_state_as_records(source: dict) -> None:
    columns = ("key", "n", "body", "updated_at")
    records, record_states = await read_all(source)
    pages, copy_states = await read_all(source, copy_columns=columns)

    assert all(isinstance(page, CopyBatch) and page.columns == columns for page in pages)
    assert [page.rows for page in pages] == [len(batch.records) for batch in records]
    assert copy_states == record_states
    lines = [line.split(b"\t") for page in pages for line in page.data.splitlines()]
    keys = [postgres.copy_text_value(fields[0]) for fields in lines]
    assert keys == [row["key"] for batch in records for row in batch.records]
    assert sorted(KEYS) == sorted(k for k in keys if not k.startswith("row "))

    # An incremental read from the same saved state finds the same changed rows either way.
    await source["admin"].execute(
        f"UPDATE {source['schema']}.notes SET body = 'changed', updated_at = now() "
        "WHERE key IN ('row 0007', 'tab\there', '\\N')"
    )
    changed, later = await read_all(source, record_states[-1])
    changed_copy, later_copy = await read_all(source, record_states[-1], copy_columns=columns)
    assert later_copy == later
    assert sum(page.rows for page in changed_copy) == 3 == len(changed[0].records)


async def test_copy_columns_without_the_key_fall_back_to_records(source: dict) -> None:
    pages, _ = await read_all(source, copy_columns=("n", "body"))
    assert pages and all(isinstance(page, RecordBatch) for page in pages)


# -- through the engine -------------------------------------------------------------------------


@pytest.fixture
async def pg_env(env: RunEnvironment) -> RunEnvironment:
    """The engine with the machine's Postgres as the warehouse."""
    return dataclasses.replace(env, settings=env.settings.replace(warehouse_url=POSTGRES_URL))


@pytest.fixture
async def schemas(source: dict) -> AsyncIterator[list[str]]:
    """Destination schemas the test loaded, dropped after it."""
    made: list[str] = []
    yield made
    for schema in made:
        await source["admin"].execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def postgres_sync(
    env: RunEnvironment, scope: Scope, source: dict, schemas: list[str], mode: str, **stream: Any
) -> Any:
    """A sync of the source's ``notes`` table into a new destination schema."""
    schema = f"copy_dst_{uuid.uuid4().hex[:8]}"
    connection_id = ids.new_id("connection")
    await Connection.create(
        id=connection_id,
        organization_id=scope.organization_id,
        workspace_id=scope.workspace_id,
        integration_name="postgres",
        auth_type="CUSTOM_AUTH",
        scope="WORKSPACE",
        credentials_encrypted=env.key_ring.encrypt(
            json.dumps(source["credentials"]).encode(), associated_data=connection_id
        ),
    )
    sync = await service.create_sync(
        scope=scope,
        settings=env.settings,
        key_ring=env.key_ring,
        bus=None,
        connection_id=connection_id,
        changes=SyncChanges(
            destination_schema=schema,
            sync_interval="0 * * * *",
            settings={"schema": source["schema"], "tables": ["notes"], "batch_size": 100},
        ),
        streams=[StreamChoice(name="notes", sync_mode=mode, **stream)],
    )
    schemas.append(sync.warehouse_schema)  # the physical schema on the shared warehouse
    return sync


@pytest.fixture
def copy_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows of every batch the destination loaded as COPY text."""
    calls: list[int] = []
    original = PostgresTableLoader.write_copy

    async def counted(self: PostgresTableLoader, batch: CopyBatch) -> int:
        calls.append(batch.rows)
        return await original(self, batch)

    monkeypatch.setattr(PostgresTableLoader, "write_copy", counted)
    return calls


def without_copy_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "SPEC", dataclasses.replace(postgres.SPEC, copy_text=False))


async def destination_rows(schema: str) -> list[dict[str, Any]]:
    destination = build_destination(POSTGRES_URL)
    await destination.open()
    try:
        rows = await destination.fetch(schema, "notes")
    finally:
        await destination.close()
    return sorted(
        ({k: v for k, v in row.items() if k != "_weir_synced_at"} for row in rows), key=lambda row: row["key"]
    )


async def column_types(source: dict, schema: str) -> dict[str, str]:
    rows = await source["admin"].fetch(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = $1 AND table_name = 'notes'",
        schema,
    )
    return {row["column_name"]: row["data_type"] for row in rows}


@pytest.mark.parametrize("mode", ["FULL_REFRESH", "INCREMENTAL"])
async def test_the_engine_loads_the_same_table_either_way(
    pg_env: RunEnvironment,
    scope: Scope,
    source: dict,
    schemas: list[str],
    copy_calls: list[int],
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    by_copy = await postgres_sync(pg_env, scope, source, schemas, mode)
    first = await run_once(pg_env, scope, by_copy)
    assert first.status == "SUCCEEDED", first.error
    assert sum(copy_calls) == ROWS + len(KEYS) == first.stream_stats["notes"]["rowsLoaded"]

    with monkeypatch.context() as patched:
        without_copy_text(patched)
        by_records = await postgres_sync(pg_env, scope, source, schemas, mode)
        assert (await run_once(pg_env, scope, by_records)).status == "SUCCEEDED"
    assert len(copy_calls) == 4  # the record-path run loaded no COPY text

    copied = await destination_rows(by_copy.warehouse_schema)
    assert len(copied) == ROWS + len(KEYS)
    assert copied == await destination_rows(by_records.warehouse_schema)
    types = await column_types(source, by_copy.warehouse_schema)
    assert types == await column_types(source, by_records.warehouse_schema)
    assert types["doc"] == "jsonb" and types["tags"] == "jsonb"
    row = next(r for r in copied if r["key"] == "row 0003")
    assert json.loads(row["doc"]) == {"n": 3, "nested": [3, "é"]}
    assert json.loads(row["tags"]) == ["a", "b3"] and row["blob"] == "AAM="

    # A second run: changed rows only (incremental) or the whole table again, the same way.
    await source["admin"].execute(
        f"UPDATE {source['schema']}.notes SET body = 'changed', updated_at = now() "
        "WHERE key IN ('row 0007', 'line\nbreak')"
    )
    before = len(copy_calls)
    second = await run_once(pg_env, scope, by_copy)
    with monkeypatch.context() as patched:
        without_copy_text(patched)
        assert (await run_once(pg_env, scope, by_records)).status == "SUCCEEDED"
    expected = 2 if mode == "INCREMENTAL" else ROWS + len(KEYS)
    assert second.stream_stats["notes"]["rowsLoaded"] == expected == sum(copy_calls[before:])
    again = await destination_rows(by_copy.warehouse_schema)
    assert again == await destination_rows(by_records.warehouse_schema)
    assert sum(1 for r in again if r["body"] == "changed") == 2


async def test_hashed_columns_are_loaded_as_records(
    pg_env: RunEnvironment,
    scope: Scope,
    source: dict,
    schemas: list[str],
    copy_calls: list[int],
) -> None:
    sync = await postgres_sync(pg_env, scope, source, schemas, "FULL_REFRESH", hashed_columns=["body"])
    run = await run_once(pg_env, scope, sync)
    assert run.status == "SUCCEEDED", run.error
    assert copy_calls == []
    rows = await destination_rows(sync.warehouse_schema)
    assert len(rows) == ROWS + len(KEYS) and all(len(r["body"]) == 64 for r in rows)


async def test_a_batch_the_destination_refuses_is_loaded_as_records(
    pg_env: RunEnvironment,
    scope: Scope,
    source: dict,
    schemas: list[str],
    copy_calls: list[int],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The warehouse refuses the third page (as it would a value its column cannot take).
    counted = PostgresTableLoader.write_copy

    async def refusing(self: PostgresTableLoader, batch: CopyBatch) -> int:
        if len(copy_calls) == 2:
            copy_calls.append(batch.rows)
            raise CopyRejected("22003: value out of range for this column")
        return await counted(self, batch)

    monkeypatch.setattr(PostgresTableLoader, "write_copy", refusing)
    sync = await postgres_sync(pg_env, scope, source, schemas, "INCREMENTAL")
    caplog.set_level(logging.INFO, logger="weir.runner")

    run = await run_once(pg_env, scope, sync)

    assert run.status == "SUCCEEDED", run.error
    # Two pages went in as COPY text; the third was refused, then it and the rest as records.
    assert copy_calls == [100, 100, 100]
    assert "22003" in caplog.text and "loading it as records" in caplog.text
    assert run.stream_stats["notes"]["rowsLoaded"] == ROWS + len(KEYS)
    rows = await destination_rows(sync.warehouse_schema)
    assert len({r["key"] for r in rows}) == len(rows) == ROWS + len(KEYS)


async def test_numeric_columns_stay_exact_both_ways(
    pg_env: RunEnvironment,
    scope: Scope,
    source: dict,
    schemas: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Beyond a double's range and precision: a float would make these Infinity and 0.1...
    await source["admin"].execute(
        f"ALTER TABLE {source['schema']}.notes ALTER COLUMN amount TYPE numeric;"
        f"UPDATE {source['schema']}.notes SET amount = 1e400 WHERE key = 'row 0250';"
        f"UPDATE {source['schema']}.notes SET amount = 0.1000000000000000000000000001 "
        "WHERE key = 'row 0251'"
    )
    by_copy = await postgres_sync(pg_env, scope, source, schemas, "FULL_REFRESH")
    assert (await run_once(pg_env, scope, by_copy)).status == "SUCCEEDED"
    with monkeypatch.context() as patched:
        without_copy_text(patched)
        by_records = await postgres_sync(pg_env, scope, source, schemas, "FULL_REFRESH")
        assert (await run_once(pg_env, scope, by_records)).status == "SUCCEEDED"

    for sync in (by_copy, by_records):
        rows = {r["key"]: r["amount"] for r in await destination_rows(sync.warehouse_schema)}
        assert rows["row 0250"] == Decimal("1e400")
        assert rows["row 0251"] == Decimal("0.1000000000000000000000000001")
        assert (await column_types(source, sync.warehouse_schema))["amount"] == "numeric"


async def test_a_run_that_dies_after_a_commit_is_replayed_without_duplicates(
    pg_env: RunEnvironment,
    scope: Scope,
    source: dict,
    schemas: list[str],
    copy_calls: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The third page commits, then the worker "dies" before its state is saved.
    counted = PostgresTableLoader.write_copy

    async def dying(self: PostgresTableLoader, batch: CopyBatch) -> int:
        written = await counted(self, batch)
        if len(copy_calls) == 3:
            raise RuntimeError("worker lost after the commit")
        return written

    sync = await postgres_sync(pg_env, scope, source, schemas, "INCREMENTAL")
    with monkeypatch.context() as patched:
        patched.setattr(PostgresTableLoader, "write_copy", dying)
        first = await run_once(pg_env, scope, sync)
    assert first.status == "FAILED" and "worker lost" in first.stream_stats["notes"]["error"]
    assert len(await destination_rows(sync.warehouse_schema)) == 300

    # Its retry (queued by the failure) runs next.
    retry = await SyncRun.get(sync_id=sync.id, status="QUEUED")
    await execute_run(env=pg_env, run_id=retry.id)
    again = await SyncRun.get(id=retry.id)

    assert again.status == "SUCCEEDED" and again.trigger == "RETRY", again.error
    # The replay starts after the last saved page: the third page is loaded a second time.
    assert again.stream_stats["notes"]["rowsLoaded"] == ROWS + len(KEYS) - 200
    # The third page's 100 rows were there already: counted as updated, the rest as new.
    assert again.stream_stats["notes"]["rowsUpdated"] == 100
    assert again.stream_stats["notes"]["rowsInserted"] == ROWS + len(KEYS) - 300
    rows = await destination_rows(sync.warehouse_schema)
    source_keys = [
        r["key"]
        for r in await source["admin"].fetch(f"SELECT key FROM {source['schema']}.notes ORDER BY key")
    ]
    assert sorted(r["key"] for r in rows) == sorted(source_keys)
