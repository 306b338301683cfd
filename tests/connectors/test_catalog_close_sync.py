"""The Close catalog entry (offset paging, HTTP Basic with the key as the user name) against the
Close emulator: its check, its reads, and a whole sync into the warehouse."""

from __future__ import annotations

import httpx
import pytest

from server.connections import service as connections
from server.connectors.base import ConnectorContext
from server.connectors.registry import get_connector
from server.scope import Scope
from server.syncs import service as syncs
from server.syncs.runner import RunEnvironment
from server.syncs.service import StreamChoice, SyncChanges
from tests.connectors.conftest import collect
from tests.emulators.close import KEY, CloseEmulator
from tests.syncs.conftest import env, run_once, scope, table  # noqa: F401 (fixtures)

close = get_connector("close")


@pytest.fixture
async def emulator(serve_emulator) -> CloseEmulator:
    emulator = CloseEmulator(leads=250, contacts=120, opportunities=7)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(http: httpx.AsyncClient, emulator: CloseEmulator, key: str = KEY) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=f"{emulator.url}/api/v1",  # type: ignore[attr-defined]
        credentials={"api_key": key},
    )


def test_the_catalog_entry_is_loaded_with_its_streams():
    assert close is not None
    spec = close.SPEC
    assert spec.display_name == "Close" and spec.category == "CRM"
    assert spec.auth_types == ("CUSTOM_AUTH",)
    assert [s.name for s in spec.streams] == ["leads", "contacts", "opportunities"]
    for stream in spec.streams:
        assert stream.primary_key == ("id",)
        assert set(stream.primary_key) <= set(stream.record_schema["properties"])


async def test_check_names_the_account_and_refuses_a_bad_key(http, emulator):
    good = await close.check(context(http, emulator), {"api_key": KEY})
    assert good.ok and good.account_label == "owner@example.com"

    bad = await close.check(context(http, emulator, "api_wrong"), {"api_key": "api_wrong"})
    assert not bad.ok and bad.reachable


async def test_read_pages_with_skip_and_limit_until_the_last_page(http, emulator):
    batches, _ = await collect(close, context(http, emulator), "leads")

    ids = [r["id"] for batch in batches for r in batch]
    assert ids == [lead["id"] for lead in emulator.data["lead"]]
    assert [len(b) for b in batches if b] == [100, 100, 50]
    listed = [c for c in emulator.controls.calls if c.startswith("GET /api/v1/lead/")]
    assert "_skip=0" in listed[0] and "_limit=100" in listed[0]
    assert "_skip=100" in listed[1] and "_skip=200" in listed[2]
    # The stream asks only for the fields its schema keeps.
    assert "_fields=" in listed[0]
    assert set(batches[0][0]) <= set(close.SPEC.stream("leads").record_schema["properties"])


async def test_a_rate_limited_page_is_retried(http, emulator):
    emulator.controls.rate_limit_once(retry_after=0)

    batches, _ = await collect(close, context(http, emulator), "opportunities")

    assert sum(len(b) for b in batches) == 7
    assert len([c for c in emulator.controls.calls if c.startswith("GET /api/v1/opportunity/")]) >= 2


async def test_a_whole_sync_loads_every_stream_into_the_warehouse(
    env: RunEnvironment,  # noqa: F811
    scope: Scope,  # noqa: F811
    emulator: CloseEmulator,
) -> None:
    env.settings = env.settings.replace(
        connector_base_urls={"close": f"{emulator.url}/api/v1"},  # type: ignore[attr-defined]
        outbound_allow=("127.0.0.0/8",),
    )
    connection = await connections.create_connection(
        scope=scope,
        key_ring=env.key_ring,
        settings=env.settings,
        integration_name="close",
        auth_type="CUSTOM_AUTH",
        credentials={"api_key": KEY},
        connection_scope="WORKSPACE",
        workspace_id=scope.workspace_id,
        check=True,
    )
    assert connection.display_name
    sync = await syncs.create_sync(
        scope=scope,
        settings=env.settings,
        key_ring=env.key_ring,
        bus=None,
        connection_id=connection.id,
        changes=SyncChanges(destination_schema="close", settings={}, sync_interval="0 * * * *"),
        streams=[
            StreamChoice(name=name, sync_mode="FULL_REFRESH")
            for name in ("leads", "contacts", "opportunities")
        ],
    )

    run = await run_once(env, scope, sync)

    assert run.status == "SUCCEEDED", run.error
    assert run.stream_stats["leads"]["rowsLoaded"] == 250
    leads = await table(env, "leads", sync)
    assert sorted(r["id"] for r in leads) == sorted(lead["id"] for lead in emulator.data["lead"])
    first = next(r for r in leads if r["id"] == emulator.data["lead"][0]["id"])
    assert first["display_name"] == "Lead 1" and first["status_label"] == "Potential"
    assert len(await table(env, "contacts", sync)) == 120
    opportunities = await table(env, "opportunities", sync)
    assert sorted(r["value"] for r in opportunities) == [1000 * n for n in range(1, 8)]
