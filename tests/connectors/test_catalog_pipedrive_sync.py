"""The Pipedrive catalog entry (v2 cursor paging, the api_token query parameter, incremental
reads on update_time) against the Pipedrive emulator."""

from __future__ import annotations

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.registry import get_connector
from tests.connectors.conftest import collect
from tests.emulators.pipedrive import TOKEN, PipedriveEmulator

pipedrive = get_connector("pipedrive")


@pytest.fixture
async def emulator(serve_emulator) -> PipedriveEmulator:
    emulator = PipedriveEmulator(deals=1200, persons=30, organizations=3)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(http: httpx.AsyncClient, emulator: PipedriveEmulator, token: str = TOKEN) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=f"{emulator.url}/api",  # type: ignore[attr-defined]
        credentials={"secret_text": token},
        parameters={"company_domain": "acme"},
    )


def test_the_catalog_entry_asks_for_the_company_domain():
    assert pipedrive is not None
    spec = pipedrive.SPEC
    assert spec.auth_types == ("SECRET_TEXT",)
    assert spec.parameters_schema is not None
    assert "company_domain" in spec.parameters_schema["properties"]
    assert {s.name for s in spec.streams} == {"deals", "persons", "organizations"}
    assert all(s.cursor_field == "update_time" for s in spec.streams)


async def test_check_sends_the_token_as_a_query_parameter(http, emulator):
    result = await pipedrive.check(context(http, emulator), {"secret_text": TOKEN})
    assert result.ok and result.account_label == "Weir Emulated"
    assert f"api_token={TOKEN}" in emulator.controls.calls[-1]

    refused = await pipedrive.check(context(http, emulator, "0" * 40), {"secret_text": "0" * 40})
    assert not refused.ok


async def test_read_follows_next_cursor_and_checkpoints_every_page(http, emulator):
    batches, states = await collect(pipedrive, context(http, emulator), "deals")

    assert [len(b) for b in batches if b] == [500, 500, 200]
    assert [r["id"] for b in batches for r in b] == list(range(1, 1201))
    listed = [c for c in emulator.controls.calls if c.startswith("GET /api/v2/deals")]
    assert len(listed) == 3
    assert "limit=500" in listed[0] and "cursor=" not in listed[0] and "cursor=" in listed[1]
    assert "sort_by=update_time" in listed[0] and "sort_direction=asc" in listed[0]
    # Sorted by the cursor field: the last checkpoint is the newest update_time.
    assert states and states[-1] == {"cursor": emulator.data["deals"][-1]["update_time"]}


async def test_an_incremental_read_asks_for_what_changed_since_the_cursor(http, emulator):
    _, states = await collect(pipedrive, context(http, emulator), "persons")
    emulator.touch("persons", 5, name="Renamed")
    emulator.add("persons")

    batches, later = await collect(pipedrive, context(http, emulator), "persons", state=states[-1])

    changed = [r["id"] for b in batches for r in b]
    # updated_since is inclusive, so the record at the cursor itself may come again.
    assert {5, 31} <= set(changed) and len(changed) <= 3
    assert "updated_since=" in [c for c in emulator.controls.calls if c.startswith("GET /api/v2/persons")][-1]
    assert later[-1]["cursor"] == emulator.data["persons"][-1]["update_time"]
