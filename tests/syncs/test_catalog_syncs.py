"""Catalog integrations synced end to end: each entry's connection is created (and checked)
against an emulator of the provider's documented API, every stream it declares is synced, and
the warehouse must hold exactly the emulator's records. The cases differ in pagination (cursor,
Link header, next_page_uri, GraphQL) and in where the credential goes (query, bearer, basic)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
    # Changes one record so an incremental second run has exactly that to load.
    change: Callable[[Any], tuple[str, Any]] | None = field(default=None)
    changed_column: str = ""  # the column ``change`` rewrites


def _change_pipedrive(emulator: Any) -> tuple[str, Any]:
    emulator.touch("deals", 3, title="Renamed deal")
    return "deals", 3


def _change_shopify(emulator: Any) -> tuple[str, Any]:
    record = emulator.touch("orders", 5, note="Renamed order")
    return "orders", record["id"]


CASES = [
    Case(
        name="pipedrive",
        emulator=lambda: pipedrive.PipedriveEmulator(deals=260, persons=30, organizations=3),
        url_suffix="/api",
        auth_type="SECRET_TEXT",
        credentials={"secret_text": pipedrive.TOKEN},
        parameters={"company_domain": "acme"},
        typed=(("deals", "title"), ("persons", "name")),
        change=_change_pipedrive,
        changed_column="title",
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
        changed_column="note",
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
        typed=(("issues", "title"), ("teams", "name")),
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
    env: RunEnvironment, sync: EltSync, run: SyncRun, case: Case, emulator: Any
) -> None:  # noqa: F811
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
        assert row[column] == first[column], (stream_name, column)


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

    if case.change is None:
        return
    # An INCREMENTAL second run after the emulator changes one record. The providers filter "at or after" the cursor, so a second run also reads again each
    # stream's newest record of the first run; every other record it loads must be a changed one.
    spec = get_connector(case.name).SPEC  # type: ignore[union-attr]
    cursors = {s.name: str(s.cursor_field) for s in spec.streams}  # ISO stamps: text order is time order
    boundary = {name: max(r[cursor] for r in emulator.data[name]) for name, cursor in cursors.items()}
    stream_name, changed_id = case.change(emulator)
    second = await run_once(env, scope, sync)

    assert second.status == "SUCCEEDED", second.error
    for stream in spec.streams:
        since = [r for r in emulator.data[stream.name] if r[cursors[stream.name]] >= boundary[stream.name]]
        assert second.stream_stats[stream.name]["rowsLoaded"] == len(since), stream.name
        assert len(await table(env, stream.name, sync)) == len(emulator.data[stream.name]), stream.name
    assert second.stream_stats[stream_name]["rowsLoaded"] == 2  # the changed record and the boundary
    rows = await table(env, stream_name, sync)
    changed = next(r for r in rows if str(r["id"]) == str(changed_id))
    record = next(r for r in emulator.data[stream_name] if r["id"] == changed_id)
    assert changed[case.changed_column] == record[case.changed_column]
    assert record[case.changed_column].startswith("Renamed")
