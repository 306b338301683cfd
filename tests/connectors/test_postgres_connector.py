"""The Postgres source against the machine's PostgreSQL, in a schema of its own."""

from __future__ import annotations

import json
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from server.config import Settings
from server.connectors import postgres
from server.connectors.base import ConnectorContext, JsonText, RecordBatch, StateCheckpoint
from server.outbound import Policy
from tests.conftest import POSTGRES_URL, require_service
from tests.connectors.conftest import collect

ROWS = 50_000


def url_credentials(url: str, **changes) -> dict:
    parts = urlsplit(url)
    credentials = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "database": parts.path.lstrip("/") or "postgres",
        "user": parts.username or "postgres",
        "password": parts.password or "",
        "sslmode": "disable",
    }
    credentials.update(changes)
    return credentials


@pytest.fixture
async def source() -> AsyncIterator[dict]:
    """A schema with a 50k-row table, a composite-key table and a table without a key."""
    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    schema = f"weir_src_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
    try:
        await admin.execute(f"""
            CREATE SCHEMA {schema};
            CREATE TABLE {schema}.orders (
                id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12, 2),
                tag uuid, payload jsonb, tags text[], blob bytea, happened date,
                updated_at timestamptz NOT NULL);
            INSERT INTO {schema}.orders
                SELECT n, 'customer ' || n, n * 1.5, md5(n::text)::uuid,
                       jsonb_build_object('n', n), ARRAY['a', 'b'], '\\x0102'::bytea,
                       DATE '2024-01-01' + (n % 365),
                       TIMESTAMPTZ '2024-01-01 00:00:00+00' + n * INTERVAL '1 second'
                FROM generate_series(1, {ROWS}) AS n;
            CREATE TABLE {schema}.line_items (
                order_id bigint, line int, sku text, PRIMARY KEY (order_id, line));
            INSERT INTO {schema}.line_items
                SELECT n / 3 + 1, n % 3, 'sku-' || n FROM generate_series(0, 2499) AS n;
            CREATE TABLE {schema}.events (kind text, at timestamptz);
            INSERT INTO {schema}.events SELECT 'kind-' || n, now() FROM generate_series(1, 25) n;
            CREATE VIEW {schema}.big_orders AS SELECT * FROM {schema}.orders WHERE amount > 70000;
        """)
        yield {"credentials": url_credentials(POSTGRES_URL), "schema": schema, "admin": admin}
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


def context(credentials: dict) -> ConnectorContext:
    # The test server is on loopback: the outbound policy of a development deployment.
    return ConnectorContext(
        http=httpx.AsyncClient(),
        base_url=None,
        credentials=credentials,
        outbound=Policy.from_settings(Settings()),
    )


async def test_check_runs_select_one():
    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    credentials = url_credentials(POSTGRES_URL)
    result = await postgres.check(context(credentials), credentials)
    assert result.ok and result.account_label.endswith("/" + credentials["database"])


async def test_check_reports_a_missing_database():
    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    credentials = url_credentials(POSTGRES_URL, database="weir_no_such_database", password="hunter2-secret")
    result = await postgres.check(context(credentials), credentials)
    assert not result.ok
    assert "does not exist" in result.message and "hunter2" not in result.message


async def test_check_reports_an_unreachable_server():
    credentials = url_credentials("postgres://weir@127.0.0.1:1/weir")
    result = await postgres.check(context(credentials), credentials)
    assert not result.ok and result.message.startswith("could not connect")


async def test_discover_finds_tables_keys_cursors_and_types(source):
    settings = {"schema": source["schema"]}
    streams = {
        s.name: s
        for s in await postgres.discover(context(source["credentials"]), source["credentials"], settings)
    }
    assert set(streams) == {"orders", "line_items", "events", "big_orders"}
    orders = streams["orders"]
    assert orders.primary_key == ("id",) and orders.cursor_field == "updated_at"
    properties = orders.record_schema["properties"]
    assert properties["id"] == {"type": "integer"}
    assert properties["amount"] == {"type": ["number", "null"], "format": "decimal"}
    assert properties["updated_at"] == {"type": "string", "format": "date-time"}
    assert properties["tag"] == {"type": ["string", "null"]}
    assert properties["tags"] == {"type": ["array", "null"], "items": {"type": "string"}}
    assert streams["line_items"].primary_key == ("order_id", "line")
    assert streams["events"].primary_key == () and streams["events"].cursor_field is None
    chosen = await postgres.discover(
        context(source["credentials"]),
        source["credentials"],
        {**settings, "tables": ["orders"], "cursor_columns": {"orders": "happened"}},
    )
    assert [(s.name, s.cursor_field) for s in chosen] == [("orders", "happened")]


async def test_settings_options_list_schemas_then_tables(source):
    credentials = source["credentials"]
    options = await postgres.settings_options(context(credentials), credentials, {})
    assert source["schema"] in options["schema"] and "pg_catalog" not in options["schema"]
    options = await postgres.settings_options(context(credentials), credentials, {"schema": source["schema"]})
    assert options["tables"] == ["big_orders", "events", "line_items", "orders"]


async def test_full_read_streams_in_keyset_batches(source):
    settings = {"schema": source["schema"], "batch_size": 5000}
    batches, states = await collect(postgres, context(source["credentials"]), "orders", settings)
    assert [len(b) for b in batches] == [5000] * 10
    ids = [r["id"] for b in batches for r in b]
    assert ids == list(range(1, ROWS + 1))
    first = batches[0][0]
    # JSON comes as its text, for the destination to store as it is.
    assert isinstance(first["payload"], JsonText) and json.loads(first["payload"]) == {"n": 1}
    assert first["tags"] == ["a", "b"]
    assert first["blob"] == "AQI=" and isinstance(first["updated_at"], datetime)
    assert len(first["tag"]) == 36
    assert states[0] == {"pk": [5000], "high_water": {"cursor": "2024-01-01T13:53:20+00:00", "pk": [ROWS]}}
    assert states[-1] == {"cursor": "2024-01-01T13:53:20+00:00", "pk": [ROWS]}


async def test_full_read_holds_one_batch_at_a_time(source):
    settings = {"schema": source["schema"], "batch_size": 1000}
    rows = 0
    tracemalloc.start()
    try:
        async for item in postgres.read(context(source["credentials"]), "orders", settings, None):
            if isinstance(item, RecordBatch):
                rows += len(item.records)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == ROWS
    # 50k rows held at once take tens of MB; one batch of 1000 takes well under 5 MB.
    assert peak < 5_000_000, peak


async def test_an_interrupted_read_resumes_after_the_last_checkpoint(source):
    settings = {"schema": source["schema"], "batch_size": 7000}
    seen, saved = [], None
    async for item in postgres.read(context(source["credentials"]), "orders", settings, None):
        if isinstance(item, RecordBatch):
            seen.extend(r["id"] for r in item.records)
        elif isinstance(item, StateCheckpoint):
            saved = item.state
            if len(seen) >= 14000:
                break
    batches, states = await collect(postgres, context(source["credentials"]), "orders", settings, saved)
    rest = [r["id"] for b in batches for r in b]
    assert seen + rest == list(range(1, ROWS + 1))
    assert "cursor" in states[-1]


async def test_incremental_read_returns_only_changed_rows(source):
    settings = {"schema": source["schema"], "batch_size": 5000}
    _, states = await collect(postgres, context(source["credentials"]), "orders", settings)
    await source["admin"].execute(f"""
        UPDATE {source["schema"]}.orders SET customer = 'changed', updated_at = now()
            WHERE id IN (7, 70, 700);
        INSERT INTO {source["schema"]}.orders (id, customer, updated_at)
            VALUES ({ROWS + 1}, 'new', now());
    """)
    batches, later = await collect(postgres, context(source["credentials"]), "orders", settings, states[-1])
    records = [r for b in batches for r in b]
    assert sorted(r["id"] for r in records) == [7, 70, 700, ROWS + 1]
    assert later[-1]["cursor"] == records[-1]["updated_at"].isoformat()
    again, _ = await collect(postgres, context(source["credentials"]), "orders", settings, later[-1])
    assert again == []


async def test_incremental_paging_breaks_cursor_ties_on_the_key(source):
    settings = {"schema": source["schema"], "batch_size": 100}
    await source["admin"].execute(
        f"UPDATE {source['schema']}.orders SET updated_at = TIMESTAMPTZ '2030-01-01 00:00:00+00'"
        " WHERE id <= 250"
    )
    start = {"cursor": "2029-12-31T00:00:00+00:00", "pk": [0]}
    batches, states = await collect(postgres, context(source["credentials"]), "orders", settings, start)
    assert [len(b) for b in batches] == [100, 100, 50]
    assert [r["id"] for b in batches for r in b] == list(range(1, 251))
    assert states[0] == {"cursor": "2030-01-01T00:00:00+00:00", "pk": [100]}


async def test_composite_keys_and_tables_without_a_key(source):
    settings = {"schema": source["schema"], "batch_size": 1000}
    batches, states = await collect(postgres, context(source["credentials"]), "line_items", settings)
    assert [len(b) for b in batches] == [1000, 1000, 500]
    assert states[0] == {"pk": [334, 0]}
    pairs = [(r["order_id"], r["line"]) for b in batches for r in b]
    assert pairs == sorted(pairs) and len(set(pairs)) == 2500
    batches, states = await collect(
        postgres, context(source["credentials"]), "events", {"schema": source["schema"], "batch_size": 10}
    )
    assert [len(b) for b in batches] == [10, 10, 5] and states == []


async def test_reading_a_missing_table_names_it(source):
    with pytest.raises(ValueError, match="nope"):
        await collect(postgres, context(source["credentials"]), "nope", {"schema": source["schema"]})
