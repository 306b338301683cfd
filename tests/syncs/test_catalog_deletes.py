"""A catalog entry's delete markers, end to end against its emulator: Linear's archived issues
(``archivedAt`` set, listed with ``includeArchived``) and issues gone from a full refresh are
marked ``_weir_deleted_at`` in the warehouse, never removed."""

from __future__ import annotations

from typing import Any

from server.destinations.columns import DELETED_AT
from server.scope import Scope
from server.syncs import service as syncs
from server.syncs.runner import RunEnvironment
from server.syncs.service import SyncChanges
from tests.emulators import linear
from tests.emulators.common import serve_emulator  # noqa: F401 (a fixture)
from tests.syncs.conftest import env, run_once, scope, table  # noqa: F401 (fixtures)
from tests.syncs.test_catalog_syncs import CASES, sync_everything

LINEAR = next(case for case in CASES if case.name == "linear")


async def test_linear_archived_and_vanished_issues_are_marked_deleted(
    env: RunEnvironment,  # noqa: F811
    scope: Scope,  # noqa: F811
    serve_emulator: Any,  # noqa: F811
) -> None:
    emulator = linear.LinearEmulator(issues=60, projects=2)
    url = await serve_emulator(emulator.app)
    sync = await sync_everything(env, scope, LINEAR, url, "FULL_REFRESH")
    await syncs.update_sync(
        scope=scope,
        settings=env.settings,
        bus=None,
        sync_id=sync.id,
        changes=SyncChanges(delete_detection="MARKERS"),
    )
    first = await run_once(env, scope, sync)
    assert first.status == "SUCCEEDED", first.error

    issues = emulator.data["issues"]
    issues[4]["archivedAt"] = issues[55]["archivedAt"] = "2025-01-02T03:04:05.000Z"
    gone = issues.pop(10)
    second = await run_once(env, scope, sync)

    assert second.status == "SUCCEEDED", second.error
    assert second.stream_stats["issues"]["rowsDeleted"] == 3
    assert second.stream_stats["issues"]["rowsLoaded"] == 57
    assert second.stream_stats["teams"]["rowsDeleted"] == 0
    rows = {row["id"]: row for row in await table(env, "issues", sync)}
    assert len(rows) == 60
    marked = {key for key, row in rows.items() if row[DELETED_AT] is not None}
    assert marked == {issues[4]["id"], issues[54]["id"], gone["id"]}
    assert rows[gone["id"]]["title"] == gone["title"]  # the last copy stays
