"""The GitLab catalog entry (server/connectors/catalog/gitlab.yaml), run by the declarative
engine against the GitLab emulator: Link-header pages (keyset and offset), the updated_after
cursor, a rate limit, and a whole sync into the warehouse."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from server import ids
from server.connections.models import Connection
from server.connectors.base import ConnectorContext
from server.connectors.registry import CONNECTORS
from server.scope import Scope
from server.syncs import service
from server.syncs.runner import RunEnvironment
from server.syncs.service import StreamChoice, SyncChanges
from tests.connectors.conftest import collect
from tests.emulators.gitlab import TOKEN, GitLabEmulator
from tests.syncs.conftest import env, run_once, scope, table  # noqa: F401 (fixtures)

GITLAB = CONNECTORS["gitlab"]


@pytest.fixture
async def emulator(serve_emulator: Any) -> GitLabEmulator:
    emulator = GitLabEmulator(projects=250, issues=230, merge_requests=3)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def api_url(emulator: GitLabEmulator) -> str:
    return f"{emulator.url}/api/v4"  # type: ignore[attr-defined]


def context(http: httpx.AsyncClient, emulator: GitLabEmulator, token: str = TOKEN) -> ConnectorContext:
    return ConnectorContext(http=http, base_url=api_url(emulator), credentials={"access_token": token})


def calls(emulator: GitLabEmulator, path: str) -> list[str]:
    return [call for call in emulator.controls.calls if call.startswith(f"GET /api/v4{path}?")]


async def test_the_entry_is_in_the_catalog_with_its_streams():
    assert GITLAB is not None
    spec = GITLAB.SPEC
    assert spec.display_name == "GitLab" and spec.category == "DEVELOPER_TOOLS"
    assert [s.name for s in spec.streams] == ["projects", "issues", "merge_requests"]
    assert spec.stream("issues").cursor_field == "updated_at"
    assert spec.oauth is not None and spec.oauth.authorize_url == "https://gitlab.com/oauth/authorize"


async def test_check_names_the_user(http, emulator):
    result = await GITLAB.check(context(http, emulator), {"access_token": TOKEN})
    assert result.ok and result.account_label == "ada"


async def test_check_refuses_a_wrong_token(http, emulator):
    result = await GITLAB.check(context(http, emulator, "glpat-wrong"), {"access_token": "glpat-wrong"})
    assert not result.ok


async def test_projects_follow_keyset_link_headers_to_the_end(http, emulator):
    batches, _ = await collect(GITLAB, context(http, emulator), "projects")

    assert [len(batch) for batch in batches] == [100, 100, 50]
    assert sorted(r["id"] for b in batches for r in b) == sorted(p["id"] for p in emulator.projects)
    listed = calls(emulator, "/projects")
    assert len(listed) == 3
    assert "pagination=keyset" in listed[0] and "order_by=id" in listed[0] and "per_page=100" in listed[0]
    assert "id_after=" not in listed[0] and "id_after=" in listed[1] and "id_after=" in listed[2]


async def test_records_keep_the_schema_fields(http, emulator):
    batches, _ = await collect(GITLAB, context(http, emulator), "merge_requests")
    record = batches[0][0]
    assert (
        record["iid"] == 1 and record["source_branch"] == "topic-1" and record["author"]["username"] == "ada"
    )


async def test_issues_read_oldest_change_first_and_resume_from_the_cursor(http, emulator):
    batches, states = await collect(GITLAB, context(http, emulator), "issues")

    assert [len(batch) for batch in batches] == [100, 100, 30]
    assert [r["iid"] for b in batches for r in b] == list(range(1, 231))
    newest = emulator.issues[-1]["updated_at"]
    assert states and states[-1] == {"cursor": newest}
    first = calls(emulator, "/issues")[0]
    assert "order_by=updated_at" in first and "sort=asc" in first and "updated_after" not in first

    emulator.touch_issue(7, title="Seven, edited")
    emulator.add_issue()
    emulator.controls.calls.clear()
    batches, states = await collect(GITLAB, context(http, emulator), "issues", state=states[-1])

    changed = {r["iid"]: r for b in batches for r in b}
    # updated_after is inclusive: the last issue of the first run may come again.
    assert {7, 231} <= set(changed) <= {7, 230, 231}
    assert changed[7]["title"] == "Seven, edited"
    assert "updated_after=" in calls(emulator, "/issues")[0]
    assert states[-1] == {"cursor": emulator.issues[-1]["updated_at"]}


async def test_a_rate_limited_page_is_asked_again(http, emulator):
    emulator.controls.rate_limit_once(retry_after=1)
    batches, _ = await collect(GITLAB, context(http, emulator), "merge_requests")
    assert [len(batch) for batch in batches] == [3]
    assert len(calls(emulator, "/merge_requests")) == 2


async def test_a_whole_sync_copies_issues_into_the_warehouse(
    env: RunEnvironment,  # noqa: F811
    scope: Scope,  # noqa: F811
    emulator: GitLabEmulator,
) -> None:
    settings = env.settings.replace(connector_base_urls={"gitlab": api_url(emulator)})
    run_env = RunEnvironment(settings=settings, key_ring=env.key_ring, bus=env.bus)
    connection_id = ids.new_id("connection")
    await Connection.create(
        id=connection_id,
        organization_id=scope.organization_id,
        workspace_id=scope.workspace_id,
        integration_name="gitlab",
        auth_type="OAUTH2",
        scope="WORKSPACE",
        display_name="GitLab",
        credentials_encrypted=env.key_ring.encrypt(
            json.dumps({"access_token": TOKEN}).encode(), associated_data=connection_id
        ),
    )
    sync = await service.create_sync(
        scope=scope,
        settings=settings,
        key_ring=env.key_ring,
        bus=None,
        connection_id=connection_id,
        changes=SyncChanges(destination_schema="gitlab", settings={}, sync_interval="0 * * * *"),
        streams=[
            StreamChoice(name="issues", sync_mode="INCREMENTAL"),
            StreamChoice(name="projects", sync_mode="FULL_REFRESH"),
        ],
    )

    first = await run_once(run_env, scope, sync)

    assert first.status == "SUCCEEDED", first.error
    assert first.stream_stats["issues"]["rowsLoaded"] == 230
    assert first.stream_stats["projects"]["rowsLoaded"] == 250
    rows = await table(run_env, "issues", sync)
    assert sorted(r["iid"] for r in rows) == list(range(1, 231))
    by_iid = {r["iid"]: r for r in rows}
    assert by_iid[5]["title"] == "issues 5" and by_iid[5]["state"] == "opened"

    emulator.touch_issue(5, state="closed")
    second = await run_once(run_env, scope, sync)

    assert second.status == "SUCCEEDED", second.error
    assert second.stream_stats["issues"]["rowsLoaded"] in (1, 2)  # the change (and the inclusive edge)
    rows = await table(run_env, "issues", sync)
    assert len(rows) == 230
    assert {r["iid"]: r for r in rows}[5]["state"] == "closed"


async def test_a_personal_access_token_reads_like_an_oauth_token(http, emulator):
    assert "SECRET_TEXT" in GITLAB.SPEC.auth_types
    reading = ConnectorContext(http=http, base_url=api_url(emulator), credentials={"secret_text": TOKEN})
    batches, _ = await collect(GITLAB, reading, "merge_requests")
    assert [len(batch) for batch in batches] == [3]
