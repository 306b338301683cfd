"""The Xero catalog entry (server/connectors/catalog/xero.yaml), run by the declarative engine
against the Xero emulator: the organisation chosen by the tenant_id parameter and sent as the
xero-tenant-id header, and page-number pages that end on a short (or empty) page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.http import ProviderError
from server.connectors.registry import CONNECTORS
from tests.connectors.conftest import collect
from tests.emulators.xero import PREFIX, TENANT_ID, TOKEN, XeroEmulator

XERO = CONNECTORS["xero"]


@pytest.fixture
async def emulator(serve_emulator: Any) -> XeroEmulator:
    emulator = XeroEmulator(invoices=2500, contacts=2000)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(http: httpx.AsyncClient, emulator: XeroEmulator, tenant: str = TENANT_ID) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=f"{emulator.url}{PREFIX}",  # type: ignore[attr-defined]
        credentials={"access_token": TOKEN},
        parameters={"tenant_id": tenant},
    )


def listed(emulator: XeroEmulator, name: str) -> list[str]:
    return [call for call in emulator.controls.calls if call.startswith(f"GET {PREFIX}/{name}?")]


async def test_the_tenant_is_a_required_parameter():
    schema = XERO.SPEC.parameters_schema
    assert schema["required"] == ["tenant_id"]
    assert XERO.SPEC.oauth.client_authentication == "client_secret_basic"


async def test_check_sends_the_tenant_header(http, emulator):
    result = await XERO.check(context(http, emulator), {"access_token": TOKEN})
    assert result.ok and result.account_label == "Demo Company (US)"
    assert emulator.tenants == [TENANT_ID]


async def test_another_organisation_is_refused(http, emulator):
    other = "b1a2c3d4-0000-4000-8000-00000000e002"
    result = await XERO.check(context(http, emulator, other), {"access_token": TOKEN})
    assert not result.ok


async def test_a_tenant_id_that_is_not_a_uuid_never_reaches_the_provider(http, emulator):
    with pytest.raises(ProviderError, match="tenant_id"):
        await collect(XERO, context(http, emulator, "acme\r\nX-Injected: 1"), "invoices")
    assert emulator.controls.calls == []


async def test_invoices_page_by_number_until_a_short_page(http, emulator):
    batches, _ = await collect(XERO, context(http, emulator), "invoices")

    assert [len(batch) for batch in batches] == [1000, 1000, 500]
    assert [r["InvoiceNumber"] for b in batches for r in b] == [f"INV-{n:04d}" for n in range(1, 2501)]
    calls = listed(emulator, "Invoices")
    assert len(calls) == 3
    assert ["page=1" in calls[0], "page=2" in calls[1], "page=3" in calls[2]] == [True, True, True]
    assert all("pageSize=1000" in call for call in calls)
    assert set(emulator.tenants) == {TENANT_ID}


async def test_a_list_that_fills_its_last_page_ends_on_the_empty_page_after_it(http, emulator):
    batches, _ = await collect(XERO, context(http, emulator), "contacts")
    assert [len(batch) for batch in batches] == [1000, 1000]
    assert len(listed(emulator, "Contacts")) == 3
