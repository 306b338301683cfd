"""The Freshdesk catalog entry (Link header paging, HTTP Basic with the key as the user name, the
updated_since cursor that also makes a first read see tickets older than 30 days) against the
Freshdesk emulator."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.registry import get_connector
from tests.connectors.conftest import collect
from tests.emulators.freshdesk import KEY, FreshdeskEmulator

freshdesk = get_connector("freshdesk")


@pytest.fixture
async def emulator(serve_emulator) -> FreshdeskEmulator:
    emulator = FreshdeskEmulator(tickets=230, contacts=40, companies=3)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(http: httpx.AsyncClient, emulator: FreshdeskEmulator, key: str = KEY) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=f"{emulator.url}/api/v2",  # type: ignore[attr-defined]
        credentials={"api_key": key},
        parameters={"domain": "acme"},
    )


async def test_check_names_the_agent(http, emulator):
    result = await freshdesk.check(context(http, emulator), {"api_key": KEY})
    assert result.ok and result.account_label == "owner@example.com"

    refused = await freshdesk.check(context(http, emulator, "nope"), {"api_key": "nope"})
    assert not refused.ok


async def test_a_first_read_follows_the_link_header_through_every_ticket(http, emulator):
    batches, states = await collect(freshdesk, context(http, emulator), "tickets")

    ids = [r["id"] for b in batches for r in b]
    # All 230, not only the 30 days' worth Freshdesk returns without updated_since.
    assert sorted(ids) == list(range(1, 231))
    assert [len(b) for b in batches if b] == [100, 100, 30]
    listed = [unquote(c) for c in emulator.controls.calls if c.startswith("GET /api/v2/tickets")]
    assert len(listed) == 3
    assert "per_page=100" in listed[0] and "order_by=updated_at" in listed[0]
    assert "page=2" in listed[1] and "page=3" in listed[2]
    assert states[-1] == {"cursor": emulator.data["tickets"][-1]["updated_at"]}


async def test_an_incremental_read_sends_the_cursor_as_updated_since(http, emulator):
    _, states = await collect(freshdesk, context(http, emulator), "tickets")
    emulator.add("tickets")

    batches, _ = await collect(freshdesk, context(http, emulator), "tickets", state=states[-1])

    ids = {r["id"] for b in batches for r in b}
    assert 231 in ids and len(ids) <= 2
    last = unquote([c for c in emulator.controls.calls if c.startswith("GET /api/v2/tickets")][-1])
    assert f"updated_since={states[-1]['cursor']}" in last
