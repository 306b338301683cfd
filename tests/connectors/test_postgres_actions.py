"""The PostgreSQL connector's actions (``query``, ``list_tables``) against the machine's
PostgreSQL, in a schema of their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
from jsonschema import Draft202012Validator

from server.config import Settings
from server.connectors import postgres
from server.connectors.base import ActionInputError, ConnectorContext
from server.connectors.http import ProviderAuthError, ProviderUnreachable
from server.connectors.postgres_query import MAX_OUTPUT_BYTES, first_keyword, to_json
from server.outbound import Policy
from tests.conftest import POSTGRES_URL, require_service
from tests.connectors.test_postgres_connector import url_credentials


@pytest.fixture
async def database() -> AsyncIterator[dict]:
    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    schema = f"weir_act_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
    try:
        await admin.execute(f"""
            CREATE SCHEMA {schema};
            CREATE TABLE {schema}.orders (
                id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12, 2),
                tag uuid, payload jsonb, blob bytea, happened date, at timestamptz, ratio float8,
                waited interval);
            INSERT INTO {schema}.orders
                SELECT n, 'customer ' || n, n * 1.5, md5(n::text)::uuid, jsonb_build_object('n', n),
                       '\\x0102'::bytea, DATE '2024-01-01' + n, TIMESTAMPTZ '2024-01-01 00:00:00+00',
                       'NaN'::float8, INTERVAL '1 day 2 hours 30 seconds'
                FROM generate_series(1, 250) AS n;
            CREATE VIEW {schema}.big_orders AS SELECT id, amount FROM {schema}.orders WHERE amount > 300;
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
        caller="action",
    )


async def query(database: dict, sql: str, *parameters, **options) -> dict:
    sql = sql.replace("{schema}", database["schema"])
    return await postgres.run_action(
        context(database["credentials"]), "query", {"query": sql, "parameters": list(parameters), **options}
    )


def test_the_action_schemas_are_valid_json_schema():
    names = [action.name for action in postgres.SPEC.actions]
    assert names == ["query", "list_tables"]
    for action in postgres.SPEC.actions:
        Draft202012Validator.check_schema(action.input_schema)
        Draft202012Validator.check_schema(action.output_schema)
        assert action.read_only


async def test_query_returns_columns_and_json_rows(database):
    result = await query(
        database, "SELECT * FROM {schema}.orders WHERE id = $1 AND customer = $2", 7, "customer 7"
    )
    assert [c["name"] for c in result["columns"]][:3] == ["id", "customer", "amount"]
    assert result["columns"][2]["type"] == "numeric"
    assert result["row_count"] == 1 and not result["truncated"]
    row = dict(zip([c["name"] for c in result["columns"]], result["rows"][0], strict=True))
    assert row["id"] == 7 and row["amount"] == "10.50"  # decimals as strings
    assert row["payload"] == {"n": 7}
    assert row["blob"] == "AQI="  # base64
    assert row["happened"] == "2024-01-08" and row["at"] == "2024-01-01T00:00:00+00:00"
    assert row["ratio"] == "NaN" and row["waited"] == "P1DT2H30S"
    assert len(row["tag"]) == 36
    Draft202012Validator(postgres.SPEC.action("query").output_schema).validate(result)


async def test_query_converts_json_parameters_to_the_inferred_types(database):
    result = await query(
        database,
        "SELECT count(*) AS n FROM {schema}.orders WHERE amount >= $1 AND happened < $2 "
        "AND at <= $3 AND id = ANY($4) AND payload @> $5",
        "1.5",
        "2024-03-01",
        "2024-01-01T00:00:00Z",
        [1, 2, 3, 400],
        {"n": 2},
    )
    assert result["rows"] == [[1]]


async def test_query_caps_rows_and_says_it_truncated(database):
    result = await query(database, "SELECT id FROM {schema}.orders ORDER BY id", max_rows=100)
    assert result["row_count"] == 100 and result["truncated"]
    assert result["rows"][-1] == [100]
    exact = await query(database, "SELECT id FROM {schema}.orders WHERE id <= 5 ORDER BY id", max_rows=5)
    assert exact["row_count"] == 5 and not exact["truncated"]


async def test_query_stops_at_the_output_size_limit(database):
    # 1000 rows of 64 KiB each would be 64 MiB of output: it stops at the byte limit.
    result = await query(database, "SELECT repeat('x', 65536) FROM generate_series(1, 1000)", max_rows=1000)
    assert result["truncated"] and 0 < result["row_count"] < 1000
    assert result["row_count"] * 65536 <= MAX_OUTPUT_BYTES


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO {schema}.orders (id, customer) VALUES (9999, 'x')",
        "WITH gone AS (DELETE FROM {schema}.orders RETURNING id) SELECT count(*) FROM gone",
        "SELECT * INTO {schema}.copy FROM {schema}.orders",
        "SELECT set_config('transaction_read_only', 'off', true)",
        "/* hello */ -- a comment\n UPDATE {schema}.orders SET customer = 'x'",
        "COPY (SELECT 1) TO PROGRAM 'true'",
        "DO $$ BEGIN PERFORM 1; END $$",
        "SET statement_timeout = 0",
    ],
)
async def test_writes_and_other_statements_are_refused(database, sql):
    with pytest.raises(ActionInputError) as refused:
        await query(database, sql)
    assert refused.value.path == "query"
    # Nothing changed.
    count = await database["admin"].fetchval(f"SELECT count(*) FROM {database['schema']}.orders")
    assert count == 250
    tables = await database["admin"].fetchval(
        "SELECT count(*) FROM pg_tables WHERE schemaname = $1", database["schema"]
    )
    assert tables == 1


async def test_a_write_in_the_transaction_is_refused_by_the_database(database):
    with pytest.raises(ActionInputError) as refused:
        await query(database, "WITH x AS (UPDATE {schema}.orders SET customer = 'y' RETURNING 1) SELECT 1")
    assert "read-only transaction" in refused.value.message and "25006" in refused.value.message


async def test_multiple_statements_are_refused(database):
    with pytest.raises(ActionInputError) as refused:
        await query(database, "SELECT 1; DELETE FROM {schema}.orders")
    assert refused.value.path == "query" and "multiple commands" in refused.value.message
    assert await database["admin"].fetchval(f"SELECT count(*) FROM {database['schema']}.orders") == 250


async def test_errors_of_the_query_name_the_query(database):
    with pytest.raises(ActionInputError) as refused:
        await query(database, "SELECT nope FROM {schema}.orders")
    assert refused.value.path == "query" and 'column "nope" does not exist' in refused.value.message
    with pytest.raises(ActionInputError) as missing:
        await query(database, "SELECT * FROM {schema}.missing")
    assert "does not exist" in missing.value.message


async def test_bad_parameters_name_the_parameter(database):
    with pytest.raises(ActionInputError) as wrong_count:
        await query(database, "SELECT $1::int + $2::int", 1)
    assert wrong_count.value.path == "parameters" and "2 parameter(s), 1 given" in wrong_count.value.message
    with pytest.raises(ActionInputError) as wrong_type:
        await query(database, "SELECT $1::int, $2::int", 1, "seven")
    assert wrong_type.value.path == "parameters.1" and "$2 (int4)" in wrong_type.value.message
    with pytest.raises(ActionInputError) as bad_date:
        await query(database, "SELECT $1::date", "yesterday-ish")
    assert bad_date.value.path == "parameters.0"
    assert bad_date.value.message == "$1 (date): not a valid date value"  # never the value itself


async def test_a_slow_query_is_cancelled_by_the_statement_timeout(database, monkeypatch):
    monkeypatch.setattr("server.connectors.postgres_query.STATEMENT_TIMEOUT", 0.5)
    with pytest.raises(ActionInputError) as refused:
        await query(database, "SELECT pg_sleep(5)")
    assert refused.value.path == "query" and "was cancelled" in refused.value.message


async def test_a_query_that_lifts_its_own_timeout_is_stopped_by_the_client(database, monkeypatch):
    monkeypatch.setattr("server.connectors.postgres_query.STATEMENT_TIMEOUT", 0.5)
    with pytest.raises(ActionInputError) as refused:
        await query(database, "SELECT set_config('statement_timeout', '0', true), pg_sleep(10)")
    assert "was cancelled" in refused.value.message


async def test_list_tables_shows_tables_views_and_columns(database):
    result = await postgres.run_action(
        context(database["credentials"]), "list_tables", {"schema": database["schema"]}
    )
    assert not result["truncated"]
    tables = {t["name"]: t for t in result["tables"]}
    assert set(tables) == {"orders", "big_orders"}
    assert tables["orders"]["kind"] == "table" and tables["big_orders"]["kind"] == "view"
    columns = {c["name"]: c for c in tables["orders"]["columns"]}
    assert columns["id"] == {"name": "id", "type": "bigint", "nullable": False}
    assert columns["amount"]["type"] == "numeric(12,2)" and columns["amount"]["nullable"]
    Draft202012Validator(postgres.SPEC.action("list_tables").output_schema).validate(result)
    everything = await postgres.run_action(context(database["credentials"]), "list_tables", {})
    assert {"schema": database["schema"], "name": "orders"}.items() <= next(
        t for t in everything["tables"] if t["name"] == "orders" and t["schema"] == database["schema"]
    ).items()
    assert not any(t["schema"] in ("pg_catalog", "information_schema") for t in everything["tables"])


async def test_a_refused_login_is_an_auth_error_without_the_password(database):
    # A role that does not exist is refused (SQLSTATE 28000) even where loopback is trusted.
    secret = "wrong-password-9876543210"
    credentials = {**database["credentials"], "user": f"nobody_{uuid.uuid4().hex[:8]}", "password": secret}
    with pytest.raises(ProviderAuthError) as refused:
        await postgres.run_action(context(credentials), "query", {"query": "SELECT 1"})
    assert "does not exist" in str(refused.value) and secret not in str(refused.value)


async def test_an_address_the_outbound_guard_refuses_is_unreachable(database):
    strict = ConnectorContext(
        http=httpx.AsyncClient(), base_url=None, credentials=database["credentials"], outbound=Policy()
    )
    with pytest.raises(ProviderUnreachable):
        await postgres.run_action(strict, "query", {"query": "SELECT 1"})


async def test_error_messages_never_carry_the_password(database):
    secret = "s3cret-password-that-must-not-leak"
    credentials = {**database["credentials"], "password": secret}
    with pytest.raises(ActionInputError) as refused:
        await postgres.run_action(context(credentials), "query", {"query": f"SELECT '{secret}'::int"})
    assert secret not in str(refused.value) and "[redacted]" in refused.value.message


def test_first_keyword_skips_comments_and_parentheses():
    assert first_keyword("  /* a /* nested */ comment */ -- line\n((SELECT 1))") == "select"
    assert first_keyword("/* unterminated") == ""
    assert first_keyword("explain analyze select 1") == "explain"


def test_intervals_and_ranges_as_json():
    assert to_json(timedelta(seconds=-90)) == "-PT1M30S"
    assert to_json(timedelta(0)) == "PT0S"
    assert to_json(asyncpg.Range(1, 5)) == {
        "lower": 1,
        "upper": 5,
        "lower_inclusive": True,
        "upper_inclusive": False,
        "empty": False,
    }


async def test_show_explain_and_table_are_reading_statements(database):
    shown = await query(database, "SHOW TimeZone")
    assert shown["rows"] == [["UTC"]]
    explained = await query(database, "EXPLAIN SELECT * FROM {schema}.orders WHERE id = $1", 1)
    assert explained["columns"] == [{"name": "QUERY PLAN", "type": "text"}] and explained["row_count"] >= 1
    table = await query(database, "TABLE {schema}.big_orders", max_rows=2)
    assert table["row_count"] == 2 and table["truncated"]
