"""The Notion catalog entry (server/connectors/catalog/notion.yaml), run by the declarative
engine against the Notion emulator: the Notion-Version header, search pages whose cursor goes
back in the POST body until has_more is false, and the same cursor in the query of a GET."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.registry import CONNECTORS
from tests.connectors.conftest import collect
from tests.emulators.notion import TOKEN, NotionEmulator

NOTION = CONNECTORS["notion"]


@pytest.fixture
async def emulator(serve_emulator: Any) -> NotionEmulator:
    emulator = NotionEmulator(databases=5, pages=230, users=3)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(http: httpx.AsyncClient, emulator: NotionEmulator, token: str = TOKEN) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=f"{emulator.url}/v1",  # type: ignore[attr-defined]
        credentials={"access_token": token},
    )


async def test_check_names_the_integration(http, emulator):
    result = await NOTION.check(context(http, emulator), {"access_token": TOKEN})
    assert result.ok and result.account_label == "Weir Sync"


async def test_check_refuses_a_wrong_token(http, emulator):
    result = await NOTION.check(context(http, emulator, "ntn_wrong"), {"access_token": "ntn_wrong"})
    assert not result.ok


async def test_pages_are_searched_with_the_cursor_in_the_body(http, emulator):
    batches, _ = await collect(NOTION, context(http, emulator), "pages")

    assert [len(batch) for batch in batches] == [100, 100, 30]
    assert {r["object"] for b in batches for r in b} == {"page"}
    assert emulator.controls.calls == ["POST /v1/search"] * 3
    assert [body.get("start_cursor") for body in emulator.bodies] == [
        None,
        batches[1][0]["id"],
        batches[2][0]["id"],
    ]
    assert all(body["filter"] == {"property": "object", "value": "page"} for body in emulator.bodies)
    assert {body["page_size"] for body in emulator.bodies} == {100}


async def test_databases_keep_their_title_and_parent(http, emulator):
    batches, _ = await collect(NOTION, context(http, emulator), "databases")
    records = [r for b in batches for r in b]
    assert len(records) == 5
    assert records[0]["title"][0]["plain_text"] == "Database 1"
    assert records[0]["parent"] == {"type": "workspace", "workspace": True}


async def test_users_page_with_the_cursor_in_the_query(http, emulator):
    batches, _ = await collect(NOTION, context(http, emulator), "users")
    assert [r["name"] for b in batches for r in b] == ["Person 1", "Person 2", "Person 3"]
    assert emulator.controls.calls == ["GET /v1/users?page_size=100"]


async def test_a_rate_limited_search_is_sent_again(http, emulator):
    emulator.controls.rate_limit_once(retry_after=1)
    batches, _ = await collect(NOTION, context(http, emulator), "databases")
    assert sum(len(batch) for batch in batches) == 5
    assert emulator.controls.calls == ["POST /v1/search"] * 2
