"""The Linear catalog entry (server/connectors/catalog/linear.yaml), run by the declarative
engine against the Linear emulator: GraphQL over POST, the page cursor passed back through the
body's ``variables.after`` until ``pageInfo.hasNextPage`` is false."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.registry import CONNECTORS
from tests.connectors.conftest import collect
from tests.emulators.linear import TOKEN, LinearEmulator

LINEAR = CONNECTORS["linear"]


@pytest.fixture
async def emulator(serve_emulator: Any) -> LinearEmulator:
    emulator = LinearEmulator(issues=230, projects=3)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(http: httpx.AsyncClient, emulator: LinearEmulator, token: str = TOKEN) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=emulator.url,  # type: ignore[attr-defined]
        credentials={"access_token": token},
    )


async def test_check_runs_the_viewer_query(http, emulator):
    result = await LINEAR.check(context(http, emulator), {"access_token": TOKEN})
    assert result.ok and result.account_label == "ada@example.com"


async def test_check_refuses_a_wrong_token(http, emulator):
    result = await LINEAR.check(context(http, emulator, "lin_wrong"), {"access_token": "lin_wrong"})
    assert not result.ok


async def test_issues_page_with_the_end_cursor_in_the_body(http, emulator):
    batches, _ = await collect(LINEAR, context(http, emulator), "issues")

    assert [len(batch) for batch in batches] == [100, 100, 30]
    assert [r["identifier"] for b in batches for r in b] == [f"ENG-{n}" for n in range(1, 231)]
    # Every call is one POST /graphql; the cursor moves in variables, never in the URL.
    assert emulator.controls.calls == ["POST /graphql"] * 3
    issues = [q for q in emulator.queries if q["list"] == "issues"]
    assert [q["after"] for q in issues] == [None, "issue-00100", "issue-00200"]
    assert {q["first"] for q in issues} == {100}


async def test_nested_objects_arrive_as_objects(http, emulator):
    batches, _ = await collect(LINEAR, context(http, emulator), "issues")
    first = batches[0][0]
    assert first["state"] == {"id": "state-todo", "name": "Todo", "type": "unstarted"}
    assert first["team"]["key"] == "ENG" and first["assignee"]["email"] == "ada@example.com"


async def test_every_stream_query_runs_against_linears_schema(http, emulator):
    for stream in ("projects", "teams"):
        batches, _ = await collect(LINEAR, context(http, emulator), stream)
        assert sum(len(batch) for batch in batches) == len(emulator.data[stream])


async def test_a_rate_limited_query_is_sent_again(http, emulator):
    emulator.controls.rate_limit_once(retry_after=1)
    batches, _ = await collect(LINEAR, context(http, emulator), "projects")
    assert [r["name"] for b in batches for r in b] == ["Project 1", "Project 2", "Project 3"]
    assert emulator.controls.calls == ["POST /graphql"] * 2
