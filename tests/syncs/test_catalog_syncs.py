"""Catalog integrations synced end to end: each entry's connection is created (and checked)
against an emulator of the provider's documented API, every stream it declares is synced, and
the warehouse must hold exactly the emulator's records. The cases differ in pagination (cursor,
Link header, next_page_uri, GraphQL) and in where the credential goes (query, bearer, basic)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from server.connections import service as connections
from server.connectors.registry import get_connector
from server.scope import Scope
from server.syncs import service as syncs
from server.syncs.models import EltSync, SyncRun
from server.syncs.runner import RunEnvironment
from server.syncs.service import StreamChoice, SyncChanges
from tests.emulators import freshdesk, linear, pipedrive, shopify, twilio, zendesk
from tests.emulators.common import serve_emulator  # noqa: F401 (a fixture)
from tests.syncs.conftest import env, run_once, scope, table  # noqa: F401 (fixtures)


@dataclass(frozen=True)
class Case:
    """One catalog integration and how to reach its emulator."""

    name: str
    emulator: Callable[[], Any]
    url_suffix: str  # what the emulator serves under, in place of the provider's base URL
    auth_type: str
    credentials: dict[str, Any]
    parameters: dict[str, Any] | None = None
    # (stream, column): a value copied as-is, compared with the emulator's first record
    typed: tuple[tuple[str, str], ...] = ()
    # Set, the sync is INCREMENTAL and a second run follows this change in the emulator.
    change: Callable[[Any], Change] | None = None


@dataclass(frozen=True)
class Change:
    """One record the emulator rewrote (moving its cursor to the newest): where, and to what."""

    stream: str
    record_id: Any
    column: str
    value: Any


def _change_pipedrive(emulator: pipedrive.PipedriveEmulator) -> Change:
    emulator.touch("deals", 3, title="Renamed deal")
    return Change("deals", 3, "title", "Renamed deal")


def _change_shopify(emulator: shopify.ShopifyEmulator) -> Change:
    record = emulator.touch("orders", 5, note="Renamed order")
    return Change("orders", record["id"], "note", "Renamed order")


CASES = [
    Case(
        name="pipedrive",
        emulator=lambda: pipedrive.PipedriveEmulator(deals=1200, persons=30, organizations=3),
        url_suffix="/api",
        auth_type="SECRET_TEXT",
        credentials={"secret_text": pipedrive.TOKEN},
        parameters={"company_domain": "acme"},
        typed=(("deals", "title"), ("deals", "value"), ("persons", "name")),
        change=_change_pipedrive,
    ),
    Case(
        name="zendesk",
        emulator=lambda: zendesk.ZendeskEmulator(tickets=250, users=100, organizations=2),
        url_suffix="/api/v2",
        auth_type="OAUTH2",
        credentials={"access_token": zendesk.TOKEN},
        parameters={"subdomain": "acme"},
        typed=(("tickets", "subject"), ("users", "name")),
    ),
    Case(
        name="freshdesk",
        emulator=lambda: freshdesk.FreshdeskEmulator(tickets=230, contacts=40, companies=3),
        url_suffix="/api/v2",
        auth_type="CUSTOM_AUTH",
        credentials={"api_key": freshdesk.KEY},
        parameters={"domain": "acme"},
        typed=(("tickets", "subject"), ("companies", "name")),
    ),
    Case(
        name="shopify",
        emulator=lambda: shopify.ShopifyEmulator(orders=600, customers=3, products=2),
        url_suffix=shopify.PREFIX,
        auth_type="OAUTH2",
        credentials={"access_token": shopify.TOKEN},
        parameters={"shop": "acme"},
        typed=(("orders", "name"), ("products", "title")),
        change=_change_shopify,
    ),
    Case(
        name="twilio",
        emulator=lambda: twilio.TwilioEmulator(messages=2500, calls=7),
        url_suffix=twilio.VERSION,
        auth_type="BASIC_AUTH",
        credentials={"username": twilio.ACCOUNT_SID, "password": twilio.AUTH_TOKEN},
        typed=(("messages", "body"), ("calls", "status")),
    ),
    Case(
        name="linear",
        emulator=lambda: linear.LinearEmulator(issues=230, projects=3),
        url_suffix="",
        auth_type="OAUTH2",
        credentials={"access_token": linear.TOKEN},
        typed=(("issues", "title"), ("issues", "number"), ("teams", "name")),
    ),
]


async def sync_everything(
    env: RunEnvironment,  # noqa: F811
    scope: Scope,  # noqa: F811
    case: Case,
    base_url: str,
    mode: str,
) -> EltSync:
    """Point the deployment at the emulator, create a checked connection and a sync of every stream."""
    env.settings = env.settings.replace(
        connector_base_urls={case.name: base_url}, outbound_allow=("127.0.0.0/8",)
    )
    connection = await connections.create_connection(
        scope=scope,
        key_ring=env.key_ring,
        settings=env.settings,
        integration_name=case.name,
        auth_type=case.auth_type,
        credentials=dict(case.credentials),
        connection_scope="WORKSPACE",
        workspace_id=scope.workspace_id,
        check=True,
        parameters=case.parameters,
    )
    spec = get_connector(case.name).SPEC  # type: ignore[union-attr]
    return await syncs.create_sync(
        scope=scope,
        settings=env.settings,
        key_ring=env.key_ring,
        bus=None,
        connection_id=connection.id,
        changes=SyncChanges(destination_schema=case.name, settings={}, sync_interval="0 * * * *"),
        streams=[StreamChoice(name=stream.name, sync_mode=mode) for stream in spec.streams],
    )


async def assert_tables_match(
    env: RunEnvironment,  # noqa: F811
    sync: EltSync,
    run: SyncRun,
    case: Case,
    emulator: Any,
) -> None:
    spec = get_connector(case.name).SPEC  # type: ignore[union-attr]
    for stream in spec.streams:
        (key,) = stream.primary_key
        expected = emulator.data[stream.name]
        rows = await table(env, stream.name, sync)
        assert sorted(str(r[key]) for r in rows) == sorted(str(r[key]) for r in expected), stream.name
        assert run.stream_stats[stream.name]["rowsLoaded"] == len(expected), stream.name
    for stream_name, column in case.typed:
        (key,) = spec.stream(stream_name).primary_key
        first = emulator.data[stream_name][0]
        rows = await table(env, stream_name, sync)
        row = next(r for r in rows if str(r[key]) == str(first[key]))
        assert first[column] is not None and row[column] == first[column], (stream_name, column)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_every_stream_is_synced_from_the_emulator(
    env: RunEnvironment,  # noqa: F811
    scope: Scope,  # noqa: F811
    serve_emulator: Any,  # noqa: F811
    case: Case,
) -> None:
    emulator = case.emulator()
    url = await serve_emulator(emulator.app)
    mode = "INCREMENTAL" if case.change else "FULL_REFRESH"
    sync = await sync_everything(env, scope, case, f"{url}{case.url_suffix}", mode)

    run = await run_once(env, scope, sync)

    assert run.status == "SUCCEEDED", run.error
    await assert_tables_match(env, sync, run, case, emulator)
    # The check plus one request a stream would mean no stream needed a second page.
    streams = get_connector(case.name).SPEC.streams  # type: ignore[union-attr]
    assert len(emulator.controls.calls) > 1 + len(streams)

    if case.change is not None:
        await assert_a_second_run_loads_only_what_changed(env, scope, sync, case, emulator)


async def assert_a_second_run_loads_only_what_changed(
    env: RunEnvironment,  # noqa: F811
    scope: Scope,  # noqa: F811
    sync: EltSync,
    case: Case,
    emulator: Any,
) -> None:
    """The providers filter "at or after" the cursor, so an INCREMENTAL second run also reads
    again each stream's newest record of the first run; nothing else but the changed record."""
    assert case.change is not None
    spec = get_connector(case.name).SPEC  # type: ignore[union-attr]
    cursors = {s.name: str(s.cursor_field) for s in spec.streams}
    # ISO 8601 stamps of one format: text order is time order.
    boundary = {name: max(r[cursor] for r in emulator.data[name]) for name, cursor in cursors.items()}
    change = case.change(emulator)

    second = await run_once(env, scope, sync)

    assert second.status == "SUCCEEDED", second.error
    for name, cursor in cursors.items():
        again = [r for r in emulator.data[name] if r[cursor] >= boundary[name]]
        assert len(again) == (2 if name == change.stream else 1), name  # the change is in the filter
        assert second.stream_stats[name]["rowsLoaded"] == len(again), name
        assert len(await table(env, name, sync)) == len(emulator.data[name]), name  # upserted, not added
    rows = await table(env, change.stream, sync)
    changed = next(r for r in rows if str(r["id"]) == str(change.record_id))
    assert changed[change.column] == change.value
