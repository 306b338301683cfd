"""The Zendesk catalog entry (cursor paging with page[size]/page[after] until meta.has_more is
false, an OAuth bearer token, a per-account subdomain) against the Zendesk emulator."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.registry import get_connector
from tests.connectors.conftest import collect
from tests.emulators.zendesk import TOKEN, ZendeskEmulator

zendesk = get_connector("zendesk")


@pytest.fixture
async def emulator(serve_emulator) -> ZendeskEmulator:
    emulator = ZendeskEmulator(tickets=250, users=100, organizations=2)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(http: httpx.AsyncClient, emulator: ZendeskEmulator, token: str = TOKEN) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=f"{emulator.url}/api/v2",  # type: ignore[attr-defined]
        credentials={"access_token": token},
        parameters={"subdomain": "acme"},
    )


def test_the_oauth_endpoints_are_on_the_account_subdomain():
    assert zendesk is not None
    oauth = zendesk.SPEC.oauth
    assert oauth is not None
    assert oauth.authorize_url == "https://{subdomain}.zendesk.com/oauth/authorizations/new"
    assert oauth.token_url == "https://{subdomain}.zendesk.com/oauth/tokens"
    assert oauth.default_scopes == ("read", "tickets:write")


async def test_check_names_the_signed_in_user(http, emulator):
    result = await zendesk.check(context(http, emulator), {"access_token": TOKEN})
    assert result.ok and result.account_label == "owner@example.com"

    refused = await zendesk.check(context(http, emulator, "revoked"), {"access_token": "revoked"})
    assert not refused.ok


async def test_read_follows_the_after_cursor_until_has_more_is_false(http, emulator):
    batches, _ = await collect(zendesk, context(http, emulator), "tickets")

    assert [len(b) for b in batches if b] == [100, 100, 50]
    assert [r["id"] for b in batches for r in b] == [t["id"] for t in emulator.data["tickets"]]
    listed = [unquote(c) for c in emulator.controls.calls if c.startswith("GET /api/v2/tickets.json")]
    # has_more is false on the third page: no fourth call.
    assert len(listed) == 3
    assert "page[size]=100" in listed[0] and "page[after]" not in listed[0]
    assert "page[after]=" in listed[1] and "page[after]=" in listed[2]


async def test_an_exact_multiple_of_the_page_size_ends_on_has_more(http, emulator):
    batches, _ = await collect(zendesk, context(http, emulator), "users")

    assert sum(len(b) for b in batches) == 100
    assert len([c for c in emulator.controls.calls if c.startswith("GET /api/v2/users.json")]) == 1
