"""The Salesforce catalog entry (a SOQL query per stream, pages through nextRecordsUrl, a path on
the org's My Domain host) against the Salesforce emulator."""

from __future__ import annotations

from urllib.parse import unquote_plus

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.registry import get_connector
from tests.connectors.conftest import collect
from tests.emulators.salesforce import TOKEN, VERSION, SalesforceEmulator

salesforce = get_connector("salesforce")


@pytest.fixture
async def emulator(serve_emulator) -> SalesforceEmulator:
    emulator = SalesforceEmulator(accounts=4500)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(http: httpx.AsyncClient, emulator: SalesforceEmulator, token: str = TOKEN) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=f"{emulator.url}/services/data/{VERSION}",  # type: ignore[attr-defined]
        credentials={"access_token": token},
        parameters={"my_domain": "acme"},
    )


def test_the_org_s_my_domain_is_a_parameter_of_every_url():
    assert salesforce is not None
    spec = salesforce.SPEC
    assert spec.oauth is not None
    assert spec.oauth.authorize_url == "https://{my_domain}.my.salesforce.com/services/oauth2/authorize"
    assert spec.base_url == f"https://{{my_domain}}.my.salesforce.com/services/data/{VERSION}"
    assert spec.parameters_schema is not None
    assert spec.parameters_schema["required"] == ["my_domain"]


async def test_check_calls_limits_with_the_bearer_token(http, emulator):
    assert (await salesforce.check(context(http, emulator), {"access_token": TOKEN})).ok
    assert emulator.controls.calls[-1] == f"GET /services/data/{VERSION}/limits"

    refused = await salesforce.check(context(http, emulator, "expired"), {"access_token": "expired"})
    assert not refused.ok


async def test_read_runs_the_soql_query_and_follows_next_records_url(http, emulator):
    batches, states = await collect(salesforce, context(http, emulator), "accounts")

    assert [len(b) for b in batches] == [2000, 2000, 500]
    assert [r["Id"] for b in batches for r in b] == [a["Id"] for a in emulator.data["Account"]]
    calls = [unquote_plus(c) for c in emulator.controls.calls]
    assert calls[0].startswith(f"GET /services/data/{VERSION}/query?q=SELECT Id, Name")
    assert calls[0].endswith("FROM Account")
    # The next pages are the paths Salesforce gave, on the same host.
    assert calls[1].startswith(f"GET /services/data/{VERSION}/query/01gWEIR") and "?" not in calls[1]
    assert len(calls) == 3
    assert states == []  # no cursor: SOQL cannot take one as a separate parameter
    assert batches[0][0]["BillingCountry"] == "Denmark"
