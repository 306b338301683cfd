"""Both warehouses load the same way: upserts, atomic full refresh, new columns, widening."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from server.destinations.base import Destination, build_destination
from tests.conftest import POSTGRES_URL, require_service

DECLARED = {"id": "integer", "name": "text", "score": "number", "seen_at": "timestamp"}


@pytest.fixture(params=["sqlite", "postgres"])
async def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[Destination, str]]:
    """An open destination and a fresh schema name in it (dropped afterwards on Postgres)."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        destination = build_destination(f"sqlite://{tmp_path / 'warehouse.db'}")
    else:
        require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
        destination = build_destination(POSTGRES_URL)
    await destination.open()
    try:
        yield destination, schema
    finally:
        if request.param == "postgres":
            await destination.db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await destination.close()


async def loader(
    warehouse: tuple[Destination, str],
    *,
    full_refresh: bool = False,
    policy: str = "ALLOW_ALL",
    declared: dict[str, str] | None = None,
) -> Any:
    destination, schema = warehouse
    return await destination.loader(
        schema=schema,
        table="people",
        primary_key=("id",),
        declared=dict(declared or DECLARED),
        policy=policy,
        full_refresh=full_refresh,
    )


async def rows(warehouse: tuple[Destination, str], table: str = "people") -> dict[Any, dict]:
    destination, schema = warehouse
    return {row["id"]: row for row in await destination.fetch(schema, table)}


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": n, "name": f"p{n}", "score": n / 2, "seen_at": "2024-05-01T10:00:00Z", **extra}


async def test_writing_the_same_batch_twice_keeps_one_row_per_key(warehouse: Any) -> None:
    load = await loader(warehouse)
    batch = [person(1), person(2), person(3)]

    await load.write(batch)
    await load.write([{**batch[0], "name": "changed"}, batch[1], batch[2]])

    found = await rows(warehouse)
    assert sorted(found) == [1, 2, 3]
    assert found[1]["name"] == "changed"


async def test_a_key_twice_in_one_batch_keeps_the_last(warehouse: Any) -> None:
    load = await loader(warehouse)

    await load.write([person(1, name="first"), person(1, name="last")])

    assert (await rows(warehouse))[1]["name"] == "last"


async def test_a_full_refresh_keeps_old_rows_visible_until_it_finishes(warehouse: Any) -> None:
    first = await loader(warehouse)
    await first.write([person(1), person(2)])

    refresh = await loader(warehouse, full_refresh=True)
    await refresh.write([person(7)])
    assert sorted(await rows(warehouse)) == [1, 2]  # readers still see the old copy

    await refresh.finish()
    assert sorted(await rows(warehouse)) == [7]
    again = await loader(warehouse)  # the swapped-in table upserts on its key
    await again.write([person(7, name="again")])
    assert (await rows(warehouse))[7]["name"] == "again"


async def test_an_aborted_full_refresh_leaves_the_old_table(warehouse: Any) -> None:
    first = await loader(warehouse)
    await first.write([person(1)])
    refresh = await loader(warehouse, full_refresh=True)
    await refresh.write([person(9)])

    await refresh.abort()

    assert sorted(await rows(warehouse)) == [1]


async def test_a_new_source_field_adds_a_column(warehouse: Any) -> None:
    load = await loader(warehouse)

    await load.write([person(1, plan="pro", tags=["a", "b"])])

    found = (await rows(warehouse))[1]
    assert found["plan"] == "pro"
    assert "a" in str(found["tags"])
    assert load.columns["plan"] == "text" and load.columns["tags"] == "json"


async def test_block_all_leaves_new_fields_out_and_reports_them(warehouse: Any) -> None:
    await (await loader(warehouse)).write([person(1)])
    blocked = await loader(warehouse, policy="BLOCK_ALL")

    await blocked.write([person(2, plan="pro")])

    assert "plan" not in (await rows(warehouse))[2]
    assert blocked.blocked == {"plan"}


async def test_a_value_that_does_not_fit_widens_its_column_to_text(warehouse: Any) -> None:
    load = await loader(warehouse)
    await load.write([person(1, score=1.5)])

    await load.write([person(2, score="n/a"), person(3, seen_at="last tuesday")])

    found = await rows(warehouse)
    assert load.widened == {"score", "seen_at"}
    assert found[2]["score"] == "n/a" and found[3]["seen_at"] == "last tuesday"
    assert float(found[1]["score"]) == 1.5  # earlier values are kept, as text


async def test_typed_columns_and_synced_at(warehouse: Any) -> None:
    destination, schema = warehouse
    load = await loader(warehouse)

    await load.write([person(1)])

    found = (await rows(warehouse))[1]
    assert found["_weir_synced_at"]
    assert found["score"] == 0.5
    if hasattr(destination, "db"):
        types = dict(
            await destination.db.fetch(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = $1 AND table_name = 'people'",
                schema,
            )
        )
        assert types == {
            "id": "bigint",
            "name": "text",
            "score": "double precision",
            "seen_at": "timestamp with time zone",
            "_weir_synced_at": "timestamp with time zone",
        }


async def test_decimals_are_exact_in_postgres_and_real_in_sqlite(warehouse: Any) -> None:
    destination, _ = warehouse
    load = await loader(warehouse, declared={**DECLARED, "price": "decimal"})
    exact = Decimal("12345678901234567890.123456789")

    await load.write(
        [
            person(1, price=exact),
            person(2, price="2.50"),
            person(3, price=7),
            person(4, price=0.1),
            person(5, price=None),
        ]
    )
    await load.write([person(6, price="not a number")])

    found = await rows(warehouse)
    assert load.widened == {"price"}  # a value that is no number still widens, as for others
    if hasattr(destination, "db"):
        assert [found[n]["price"] for n in range(1, 6)] == [
            str(exact),
            "2.50",
            "7",
            "0.1",
            None,
        ]  # exact digits, kept as text after widening
    else:  # REAL, then text after widening, as SQLite casts a REAL to text
        assert float(found[2]["price"]) == 2.5 and float(found[4]["price"]) == 0.1
    assert found[6]["price"] == "not a number"


async def test_repeated_full_refreshes_of_a_63_character_table_keep_their_key(
    warehouse: Any,
) -> None:
    destination, schema = warehouse
    name = "t" * 63  # Postgres' longest name: helper names must not collide with it

    for round_ in range(3):
        refresh = await destination.loader(
            schema=schema,
            table=name,
            primary_key=("id",),
            declared={"id": "integer"},
            policy="ALLOW_ALL",
            full_refresh=True,
        )
        await refresh.write([{"id": round_}, {"id": 100 + round_}, {"id": round_}])
        await refresh.finish()
    upsert = await destination.loader(
        schema=schema,
        table=name,
        primary_key=("id",),
        declared={"id": "integer"},
        policy="ALLOW_ALL",
        full_refresh=False,
    )
    await upsert.write([{"id": 2}, {"id": 7}])

    assert sorted(row["id"] for row in await destination.fetch(schema, name)) == [2, 7, 102]


async def test_a_sqlite_cursor_never_leaves_the_destination_thread(tmp_path: Path) -> None:
    """A cursor freed by another thread resets its cached statement under the next call (the
    "bad parameter or other API misuse" a CI run hit): ``run`` closes it where it was made."""
    destination = build_destination(f"sqlite://{tmp_path / 'warehouse.db'}")
    await destination.open()
    try:
        assert await destination.run(lambda db: db.execute("CREATE TABLE t (x)")) is None
        assert await destination.run(lambda db: db.execute("SELECT 1").fetchall()) == [(1,)]
    finally:
        await destination.close()
    await destination.close()  # closing twice is harmless


async def test_each_batch_counts_rows_inserted_and_updated(warehouse: Any) -> None:
    people = await loader(warehouse)
    await people.write([person(1), person(2), person(3)])
    assert (people.rows_inserted, people.rows_updated) == (3, 0)
    # Two known keys (one of them twice in the batch: counted once) and one new.
    await people.write([person(2, name="b"), person(3), person(2, name="c"), person(4)])
    assert (people.rows_inserted, people.rows_updated) == (4, 2)
    assert people.rows_written == 7
    await people.finish()
    assert (await rows(warehouse))[2]["name"] == "c"

    # A full refresh writes a new table: every row is new to it.
    refresh = await loader(warehouse, full_refresh=True)
    await refresh.write([person(1), person(5)])
    await refresh.finish()
    assert (refresh.rows_inserted, refresh.rows_updated) == (2, 0)


JSON_VALUES = {
    1: {"nested": {"list": [1, 2.5, "é", None, True]}, "emoji": "🚀"},
    2: [1, [2, [3]], {"a": None}],
    3: "a plain string",
    4: 12345678901234567890,
    5: None,
    6: False,
}


async def test_json_values_load_on_the_fast_path_and_read_back_the_same(warehouse: Any) -> None:
    declared = {"id": "integer", "payload": "json"}
    payloads = await loader(warehouse, declared=declared)
    await payloads.write([{"id": key, "payload": value} for key, value in JSON_VALUES.items()])
    await payloads.finish()
    if hasattr(payloads, "_convert"):
        # Postgres: no batch fell back to converting each value.
        assert payloads._convert is False
    stored = await rows(warehouse)
    for key, value in JSON_VALUES.items():
        text = stored[key]["payload"]
        assert (None if text is None else json.loads(text)) == value, key
