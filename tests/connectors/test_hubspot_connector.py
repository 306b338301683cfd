"""The HubSpot connector against the HubSpot emulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from server.connectors import hubspot
from server.connectors.base import ConnectorContext
from tests.connectors.conftest import collect
from tests.emulators.common import serve
from tests.emulators.hubspot import TOKEN, HubSpotEmulator


@pytest.fixture
async def emulator() -> AsyncIterator[HubSpotEmulator]:
    emulator = HubSpotEmulator(contacts=230, companies=12, deals=3)
    async with serve(emulator.app) as url:
        emulator.url = url  # type: ignore[attr-defined]
        yield emulator


def oauth(token: str) -> dict:
    return {"access_token": token, "refresh_token": "refresh-1", "expires_at": None, "token_type": "bearer"}


def context(
    http: httpx.AsyncClient, emulator: HubSpotEmulator, token: str = TOKEN, refresh=None
) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=emulator.url,  # type: ignore[attr-defined]
        credentials=oauth(token),
        refresh_credentials=refresh,
    )


async def test_check_reads_the_token_information(http, emulator):
    result = await hubspot.check(context(http, emulator), oauth(TOKEN))
    assert result.ok and result.account_label == "weir-emulated.com"


async def test_check_refuses_an_unknown_token(http, emulator):
    bad = "CJT0not-a-real-token-at-all"
    result = await hubspot.check(context(http, emulator, bad), oauth(bad))
    assert not result.ok
    assert "Token not found" in result.message and bad not in result.message


async def test_check_refreshes_an_expired_token(http, emulator, refresher):
    emulator.controls.expire(TOKEN)
    emulator.controls.tokens.add("CJT0fresh-token-0002")
    refresh = refresher(oauth("CJT0fresh-token-0002"))
    result = await hubspot.check(context(http, emulator, refresh=refresh), oauth(TOKEN))
    assert result.ok and refresh.calls == 1


async def test_full_read_pages_with_after(http, emulator):
    batches, states = await collect(hubspot, context(http, emulator), "contacts")
    assert [len(b) for b in batches] == [100, 100, 30]
    first = batches[0][0]
    assert first["id"] == "1" and first["email"] == "person1@example.com"
    assert set(first) == set(hubspot.SPEC.stream("contacts").record_schema["properties"])
    assert states == [{"cursor": batches[-1][-1]["updatedAt"]}]
    assert any("after=101" in call for call in emulator.controls.calls)


async def test_incremental_read_searches_for_newer_changes(http, emulator):
    _, states = await collect(hubspot, context(http, emulator), "companies")
    emulator.touch("companies", "3", name="Renamed")
    created = emulator.add("companies")
    batches, later = await collect(hubspot, context(http, emulator), "companies", state=states[-1])
    records = [r for b in batches for r in b]
    assert [r["id"] for r in records] == ["3", created["id"]]
    assert records[0]["name"] == "Renamed"
    assert later[-1] == {"cursor": records[-1]["updatedAt"]}
    assert emulator.controls.calls[-1] == "POST /crm/v3/objects/companies/search"


async def test_incremental_read_restarts_past_the_search_window(http, emulator):
    emulator.search_window = 100
    hubspot_window = hubspot.SEARCH_WINDOW
    hubspot.SEARCH_WINDOW = 100
    try:
        start = {"cursor": "2023-12-31T00:00:00.000Z"}
        batches, states = await collect(hubspot, context(http, emulator), "contacts", state=start)
    finally:
        hubspot.SEARCH_WINDOW = hubspot_window
    ids = [r["id"] for b in batches for r in b]
    assert ids == [str(n) for n in range(1, 231)]
    assert len(states) == len(batches)


async def test_read_waits_out_a_rate_limit(http, emulator):
    emulator.controls.rate_limit_once()
    started = time.monotonic()
    batches, _ = await collect(hubspot, context(http, emulator), "deals")
    assert time.monotonic() - started >= 1 and len(batches[0]) == 3


async def test_expired_token_is_refreshed_once_during_a_read(http, emulator, refresher):
    emulator.controls.expire(TOKEN)
    emulator.controls.tokens.add("CJT0fresh-token-0002")
    refresh = refresher(oauth("CJT0fresh-token-0002"))
    ctx = context(http, emulator, refresh=refresh)
    batches, _ = await collect(hubspot, ctx, "contacts")
    assert refresh.calls == 1 and sum(len(b) for b in batches) == 230
    assert ctx.credentials["access_token"] == "CJT0fresh-token-0002"
