"""The Calendly catalog entry (next-page links in the body, the organization URI kept from the
token response and sent as a filter) against the Calendly emulator."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.http import ProviderError
from server.connectors.registry import get_connector
from tests.connectors.conftest import collect
from tests.emulators.calendly import ORGANIZATION, TOKEN, CalendlyEmulator

calendly = get_connector("calendly")


@pytest.fixture
async def emulator(serve_emulator) -> CalendlyEmulator:
    emulator = CalendlyEmulator(scheduled_events=230, event_types=3)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(http: httpx.AsyncClient, emulator: CalendlyEmulator, token: str = TOKEN) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=emulator.url,  # type: ignore[attr-defined]
        credentials={"access_token": token},
        # What the token response named, kept as a connection parameter.
        parameters={"organization": ORGANIZATION},
    )


def test_the_organization_comes_from_the_token_response():
    assert calendly is not None
    oauth = calendly.SPEC.oauth
    assert oauth is not None and oauth.token_response_parameters == ("organization",)
    assert "scheduled_events:read" in oauth.default_scopes


async def test_check_names_the_user(http, emulator):
    result = await calendly.check(context(http, emulator), {"access_token": TOKEN})
    assert result.ok and result.account_label == "Olga Owner"

    refused = await calendly.check(context(http, emulator, "stale"), {"access_token": "stale"})
    assert not refused.ok


async def test_read_follows_next_page_links_with_the_organization_filter(http, emulator):
    batches, _ = await collect(calendly, context(http, emulator), "scheduled_events")

    assert [len(b) for b in batches] == [100, 100, 30]
    assert [r["uri"] for b in batches for r in b] == [e["uri"] for e in emulator.data["scheduled_events"]]
    calls = [unquote(c) for c in emulator.controls.calls]
    assert all(f"organization={ORGANIZATION}" in c for c in calls)
    assert "count=100" in calls[0] and "page_token" not in calls[0]
    assert "page_token=PT100" in calls[1] and "page_token=PT200" in calls[2]
    assert len(calls) == 3


async def test_a_connection_without_the_organization_cannot_list(http, emulator):
    bare = ConnectorContext(http=http, base_url=emulator.url, credentials={"access_token": TOKEN})  # type: ignore[attr-defined]

    with pytest.raises(ProviderError, match=r"\{organization\} has no value"):
        await collect(calendly, bare, "event_types")
    assert emulator.controls.calls == []
