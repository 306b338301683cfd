"""The Twilio catalog entry (server/connectors/catalog/twilio.yaml), run by the declarative
engine against the Twilio emulator: HTTP Basic (Account SID and Auth Token), the SID in the
path, and pages followed through the body's relative ``next_page_uri``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.registry import CONNECTORS
from tests.connectors.conftest import collect
from tests.emulators.twilio import ACCOUNT_SID, AUTH_TOKEN, VERSION, TwilioEmulator

TWILIO = CONNECTORS["twilio"]
CREDENTIALS = {"username": ACCOUNT_SID, "password": AUTH_TOKEN}


@pytest.fixture
async def emulator(serve_emulator: Any) -> TwilioEmulator:
    emulator = TwilioEmulator(messages=2500, calls=7)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(
    http: httpx.AsyncClient, emulator: TwilioEmulator, credentials: dict[str, Any] = CREDENTIALS
) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=f"{emulator.url}{VERSION}",  # type: ignore[attr-defined]
        credentials=dict(credentials),
    )


async def test_check_names_the_account(http, emulator):
    result = await TWILIO.check(context(http, emulator), CREDENTIALS)
    assert result.ok and result.account_label == "Weir Emulated Account"


async def test_check_refuses_a_wrong_token_without_echoing_it(http, emulator):
    wrong = {"username": ACCOUNT_SID, "password": "e" * 32}
    result = await TWILIO.check(context(http, emulator, wrong), wrong)
    assert not result.ok and "e" * 32 not in result.message


async def test_messages_follow_next_page_uri_to_the_end(http, emulator):
    batches, _ = await collect(TWILIO, context(http, emulator), "messages")

    assert [len(batch) for batch in batches] == [1000, 1000, 500]
    sids = [r["sid"] for b in batches for r in b]
    assert sids == [m["sid"] for m in reversed(emulator.data["messages"])]
    listed = [c for c in emulator.controls.calls if "/Messages.json" in c]
    assert listed[0] == f"GET {VERSION}/Accounts/{ACCOUNT_SID}/Messages.json?PageSize=1000"
    assert "Page=1&PageToken=PA1000" in listed[1] and "Page=2&PageToken=PA2000" in listed[2]


async def test_calls_fit_on_one_page(http, emulator):
    batches, _ = await collect(TWILIO, context(http, emulator), "calls")
    assert [len(batch) for batch in batches] == [7]
    assert batches[0][0]["sid"] == emulator.data["calls"][-1]["sid"]
    assert batches[0][0]["from"] == "+15005550006"
