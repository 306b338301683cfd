"""Rows deleted at the source are marked (``_weir_deleted_at``), never removed, on both
warehouses: from a source's delete markers, from a full refresh, from a reconciliation pass."""

from __future__ import annotations

from typing import Any

from server.destinations.columns import DELETED_AT
from tests.destinations import test_warehouses as shared
from tests.destinations.test_warehouses import person, rows

warehouse = shared.warehouse  # the fixture: both warehouses


async def tracking(warehouse: Any, *, full_refresh: bool = False, track: bool = True) -> Any:
    destination, schema = warehouse
    return await destination.loader(
        schema=schema,
        table="people",
        primary_key=("id",),
        declared={"id": "integer", "name": "text", "score": "number", "seen_at": "timestamp"},
        policy="ALLOW_ALL",
        full_refresh=full_refresh,
        attempt="run_1",
        track_deletes=track,
    )


async def test_marked_keys_keep_their_rows_and_a_later_upsert_clears_the_mark(warehouse: Any) -> None:
    load = await tracking(warehouse)
    await load.write([person(1), person(2), person(3)])

    assert await load.mark_deleted([{"id": 2}, {"id": 99}, {"id": "not a number"}]) == 1
    assert await load.mark_deleted([{"id": 2}]) == 0  # marked once
    found = await rows(warehouse)
    assert sorted(found) == [1, 2, 3]
    assert found[2][DELETED_AT] is not None
    assert found[1][DELETED_AT] is None and found[3][DELETED_AT] is None
    assert load.rows_deleted == 1

    await load.write([person(2, name="back")])
    found = await rows(warehouse)
    assert found[2][DELETED_AT] is None and found[2]["name"] == "back"


async def test_without_tracking_there_is_no_column_and_nothing_is_marked(warehouse: Any) -> None:
    load = await tracking(warehouse, track=False)
    await load.write([person(1)])

    assert await load.mark_deleted([{"id": 1}]) == 0
    assert DELETED_AT not in (await rows(warehouse))[1]


async def test_tracking_an_existing_table_adds_the_column(warehouse: Any) -> None:
    before = await tracking(warehouse, track=False)
    await before.write([person(1), person(2)])

    load = await tracking(warehouse)
    assert await load.mark_deleted([{"id": 1}]) == 1
    found = await rows(warehouse)
    assert found[1][DELETED_AT] is not None and found[2][DELETED_AT] is None


async def test_a_full_refresh_marks_the_rows_it_no_longer_has(warehouse: Any) -> None:
    first = await tracking(warehouse)
    await first.write([person(1), person(2), person(3)])
    await first.mark_deleted([{"id": 3}])
    marked_before = (await rows(warehouse))[3][DELETED_AT]

    refresh = await tracking(warehouse, full_refresh=True)
    await refresh.write([person(1, name="new"), person(4)])
    await refresh.finish()

    found = await rows(warehouse)
    assert sorted(found) == [1, 2, 3, 4]
    assert found[1]["name"] == "new" and found[1][DELETED_AT] is None
    assert found[4][DELETED_AT] is None
    assert found[2][DELETED_AT] is not None and found[2]["name"] == "p2"
    assert found[3][DELETED_AT] == marked_before  # keeps when it was first seen deleted
    assert refresh.rows_deleted == 1

    again = await tracking(warehouse, full_refresh=True)
    await again.write([person(1), person(2)])
    await again.finish()
    found = await rows(warehouse)
    assert found[2][DELETED_AT] is None  # back at the source
    assert found[4][DELETED_AT] is not None
    assert again.rows_deleted == 1


async def test_a_full_refresh_without_tracking_replaces_the_table(warehouse: Any) -> None:
    first = await tracking(warehouse)
    await first.write([person(1), person(2)])

    refresh = await tracking(warehouse, full_refresh=True, track=False)
    await refresh.write([person(1)])
    await refresh.finish()

    found = await rows(warehouse)
    assert sorted(found) == [1]
    assert DELETED_AT not in found[1]


async def test_reconciliation_marks_keys_the_source_no_longer_has(warehouse: Any, monkeypatch: Any) -> None:
    load = await tracking(warehouse)
    await load.write([person(n) for n in range(1, 13)])
    monkeypatch.setattr("server.destinations.base.KEY_CHUNK", 5)

    await load.begin_keys()
    await load.add_keys([{"id": n} for n in range(1, 13) if n not in (4, 9)])
    await load.add_keys([{"id": 500}])
    assert await load.end_keys() == 2

    found = await rows(warehouse)
    assert sorted(found) == list(range(1, 13))
    assert {n for n, row in found.items() if row[DELETED_AT] is not None} == {4, 9}


async def test_reconciliation_leaves_rows_synced_during_the_pass(warehouse: Any) -> None:
    load = await tracking(warehouse)
    await load.write([person(1), person(2)])

    await load.begin_keys()
    await load.add_keys([{"id": 1}])
    other = await tracking(warehouse)
    await other.write([person(3)])  # a run loading while the keys are read
    assert await load.end_keys() == 1

    found = await rows(warehouse)
    assert found[2][DELETED_AT] is not None
    assert found[3][DELETED_AT] is None


async def test_widening_a_column_keeps_the_marks(warehouse: Any) -> None:
    load = await tracking(warehouse)
    await load.write([person(1), person(2)])
    await load.mark_deleted([{"id": 2}])

    await load.write([person(3, score="not a number")])  # widens score to text

    found = await rows(warehouse)
    assert "score" in load.widened
    assert found[2][DELETED_AT] is not None and found[1][DELETED_AT] is None
    assert found[3]["score"] == "not a number"
