"""The Stripe connector against the Stripe emulator."""

from __future__ import annotations

import time

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.http import ProviderAuthError
from server.connectors.registry import get_connector
from tests.connectors.conftest import collect
from tests.emulators.stripe import KEY, StripeEmulator

stripe = get_connector("stripe")


@pytest.fixture
async def emulator(serve_emulator) -> StripeEmulator:
    emulator = StripeEmulator(customers=250, charges=30, invoices=5)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(
    http: httpx.AsyncClient, emulator: StripeEmulator, key: str = KEY, refresh=None
) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=emulator.url,  # type: ignore[attr-defined]
        credentials={"secret_text": key},
        refresh_credentials=refresh,
    )


async def test_check_accepts_a_valid_key(http, emulator):
    result = await stripe.check(context(http, emulator), {"secret_text": KEY})
    assert result.ok
    assert result.account_label == "Weir Emulated Shop"


async def test_check_refuses_a_bad_key_without_echoing_it(http, emulator):
    bad = "sk_test_thisisnotakey0000wxyz"
    result = await stripe.check(context(http, emulator, bad), {"secret_text": bad})
    assert not result.ok
    assert "Invalid API Key provided" in result.message
    assert "wxyz" not in result.message and "sk_test_t" not in result.message


async def test_read_pages_through_every_customer(http, emulator):
    batches, states = await collect(stripe, context(http, emulator), "customers")
    assert [len(b) for b in batches] == [100, 100, 50]
    ids = [r["id"] for b in batches for r in b]
    assert len(set(ids)) == 250
    assert states == [{"cursor": max(r["created"] for r in emulator.data["customers"])}]
    assert set(stripe.SPEC.stream("customers").record_schema["properties"]) <= set(batches[0][0])
    listed = [c for c in emulator.controls.calls if c.startswith("GET /v1/customers")]
    assert "starting_after=" in listed[1] and len(listed) == 3


async def test_incremental_read_returns_only_newer_objects(http, emulator):
    _, states = await collect(stripe, context(http, emulator), "charges")
    new = [emulator.add("charges"), emulator.add("charges")]
    batches, later = await collect(stripe, context(http, emulator), "charges", state=states[-1])
    assert sorted(r["id"] for b in batches for r in b) == sorted(r["id"] for r in new)
    assert later == [{"cursor": new[-1]["created"]}]
    assert f"created%5Bgt%5D={states[-1]['cursor']}" in emulator.controls.calls[-1]


async def test_incremental_read_with_nothing_new_keeps_the_cursor(http, emulator):
    _, states = await collect(stripe, context(http, emulator), "invoices")
    batches, later = await collect(stripe, context(http, emulator), "invoices", state=states[-1])
    assert batches == [] and later == states


async def test_read_waits_out_a_rate_limit(http, emulator):
    emulator.controls.rate_limit_once(retry_after=1)
    started = time.monotonic()
    batches, _ = await collect(stripe, context(http, emulator), "invoices")
    assert time.monotonic() - started >= 1
    assert sum(len(b) for b in batches) == 5


async def test_read_retries_a_server_error(http, emulator):
    emulator.controls.server_errors = 1
    batches, _ = await collect(stripe, context(http, emulator), "invoices")
    assert sum(len(b) for b in batches) == 5


async def test_expired_key_is_refreshed_once(http, emulator, refresher):
    emulator.controls.expire(KEY)
    fresh = "sk_test_51Weir0emulator0key0000000002"
    emulator.controls.tokens.add(fresh)
    refresh = refresher({"secret_text": fresh})
    ctx = context(http, emulator, refresh=refresh)
    batches, _ = await collect(stripe, ctx, "invoices")
    assert refresh.calls == 1
    assert sum(len(b) for b in batches) == 5
    assert ctx.credentials == {"secret_text": fresh}


async def test_expired_key_without_a_refresher_fails_the_read(http, emulator):
    emulator.controls.expire(KEY)
    with pytest.raises(ProviderAuthError) as raised:
        await collect(stripe, context(http, emulator), "invoices")
    assert raised.value.status == 401 and KEY not in str(raised.value)
