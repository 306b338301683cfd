"""The Shopify catalog entry (server/connectors/catalog/shopify.yaml), run by the declarative
engine against the Shopify emulator: the token in X-Shopify-Access-Token, Link-header pages
whose page_info URL must be followed as is, and the updated_at_min cursor."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.registry import CONNECTORS
from tests.connectors.conftest import collect
from tests.emulators.shopify import PREFIX, TOKEN, ShopifyEmulator

SHOPIFY = CONNECTORS["shopify"]


@pytest.fixture
async def emulator(serve_emulator: Any) -> ShopifyEmulator:
    emulator = ShopifyEmulator(orders=600, customers=3, products=2)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(http: httpx.AsyncClient, emulator: ShopifyEmulator, token: str = TOKEN) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=f"{emulator.url}{PREFIX}",  # type: ignore[attr-defined]
        credentials={"access_token": token},
        parameters={"shop": "acme"},
    )


def listed(emulator: ShopifyEmulator, name: str) -> list[str]:
    return [call for call in emulator.controls.calls if call.startswith(f"GET {PREFIX}/{name}.json")]


async def test_the_shop_is_a_parameter_of_every_url():
    spec = SHOPIFY.SPEC
    assert spec.base_url == "https://{shop}.myshopify.com/admin/api/2026-04"
    assert spec.oauth.authorize_url == "https://{shop}.myshopify.com/admin/oauth/authorize"
    assert spec.oauth.scope_separator == "," and not spec.oauth.pkce
    assert set(spec.parameters_schema["properties"]) == {"shop"}


async def test_check_sends_the_token_in_shopifys_header(http, emulator):
    result = await SHOPIFY.check(context(http, emulator), {"access_token": TOKEN})
    assert result.ok and result.account_label == "Weir Emulated Store"


async def test_check_refuses_a_wrong_token(http, emulator):
    result = await SHOPIFY.check(context(http, emulator, "shpat_wrong"), {"access_token": "shpat_wrong"})
    assert not result.ok


async def test_orders_follow_page_info_links_without_adding_filters(http, emulator):
    batches, states = await collect(SHOPIFY, context(http, emulator), "orders")

    assert [len(batch) for batch in batches] == [250, 250, 100]
    assert sorted(r["id"] for b in batches for r in b) == sorted(o["id"] for o in emulator.data["orders"])
    calls = listed(emulator, "orders")
    assert "status=any" in calls[0] and "limit=250" in calls[0] and "page_info" not in calls[0]
    # Shopify refuses any filter beside a page_info: the next pages are the Link URLs as sent.
    assert all("page_info=" in call and "status=" not in call for call in calls[1:])
    assert states[-1] == {"cursor": emulator.data["orders"][-1]["updated_at"]}


async def test_an_incremental_read_asks_for_changes_since_the_cursor(http, emulator):
    _, states = await collect(SHOPIFY, context(http, emulator), "orders")
    emulator.touch("orders", 10, financial_status="refunded")
    emulator.controls.calls.clear()

    batches, states = await collect(SHOPIFY, context(http, emulator), "orders", state=states[-1])

    records = [r for b in batches for r in b]
    changed = {r["id"]: r for r in records}
    assert changed[emulator.data["orders"][10]["id"]]["financial_status"] == "refunded"
    assert len(records) <= 2  # the change, and the inclusive edge of updated_at_min
    assert "updated_at_min=" in listed(emulator, "orders")[0]


async def test_a_rate_limit_with_a_decimal_retry_after_is_waited_out(http, emulator):
    emulator.controls.rate_limit_once(retry_after=1)
    batches, _ = await collect(SHOPIFY, context(http, emulator), "products")
    assert [len(batch) for batch in batches] == [2]
    assert len(listed(emulator, "products")) == 2


async def test_a_custom_apps_admin_token_is_sent_like_an_oauth_token(http, emulator):
    assert "SECRET_TEXT" in SHOPIFY.SPEC.auth_types
    credentials = {"secret_text": TOKEN}
    checking = ConnectorContext(
        http=http,
        base_url=f"{emulator.url}{PREFIX}",
        credentials=credentials,
        parameters={"shop": "acme"},
    )
    result = await SHOPIFY.check(checking, credentials)
    assert result.ok and result.account_label == "Weir Emulated Store"
