"""The ELT sync API through GraphQL: settings schema -> create -> streams -> enable -> runs."""

from __future__ import annotations

import uuid
from typing import Any

from server.destinations.base import build_destination
from server.syncs.namespaces import qualified_schema
from tests.conftest import POSTGRES_URL, make_tenant, require_service
from tests.syncs.conftest import create_demo_connection, wait_for_run

SETTINGS_SCHEMA = """
query Schema($id: ID!) { connectionSettingsSchema(connectionId: $id) }
"""

CREATE = """
mutation Create($input: CreateEltSyncInput!) {
  createEltSync(input: $input) {
    id enabled nextRunAt destinationSchemaName syncInterval timezone settings schemaChangePolicy
    sourceStreams { name syncMode }
  }
}
"""

ADD_STREAMS = """
mutation Add($input: AddSourceStreamsInput!) {
  addSourceStreams(input: $input) { id sourceStreams { name syncMode hashedColumns } }
}
"""

REMOVE_STREAMS = """
mutation Remove($input: RemoveSourceStreamsInput!) {
  removeSourceStreams(input: $input) { id sourceStreams { name } }
}
"""

ENABLE = "mutation Enable($id: ID!) { enableEltSync(id: $id) { id enabled nextRunAt } }"
DISABLE = "mutation Disable($id: ID!) { disableEltSync(id: $id) { id enabled nextRunAt } }"

UPDATE = """
mutation Update($input: UpdateEltSyncInput!) {
  updateEltSync(input: $input) { id settings syncInterval timezone }
}
"""

TRIGGER = """
mutation Trigger($id: ID!, $full: Boolean) {
  triggerSyncRun(syncId: $id, fullRefresh: $full) { id status trigger attempt }
}
"""

CANCEL = "mutation Cancel($id: ID!) { cancelSyncRun(runId: $id) { id status } }"
DELETE = "mutation Delete($id: ID!) { deleteEltSync(id: $id) { deletedId } }"

SYNC = """
query Sync($id: ID!) {
  eltSync(id: $id) { id enabled sourceStreams { name syncMode state } }
}
"""

SYNCS = """
query Syncs($filter: EltSyncFilter) {
  eltSyncs(filter: $filter, first: 10) { edges { node { id enabled } } pageInfo { hasNextPage } }
}
"""

RUNS = """
query Runs($id: ID!) { syncRuns(syncId: $id) { edges { node { id status trigger } } } }
"""


def demo_input(connection_id: str, schema: str = "crm", **extra: Any) -> dict[str, Any]:
    return {
        "connectionId": connection_id,
        "destinationSchemaName": schema,
        "settings": {"contacts": 120, "companies": 12, "deals": 30, "batch_size": 50},
        "syncInterval": "0 * * * *",
        "timezone": "Europe/Paris",
        **extra,
    }


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    return body["errors"][0]


def fields_of(body: dict[str, Any]) -> dict[str, str]:
    return {f["field"]: f["message"] for f in error_of(body)["extensions"]["fields"]}


async def run_full_flow(tenant: Any, connection_id: str, schema: str) -> dict[str, Any]:
    """The flow of docs/syncs.md; returns the finished run."""
    schema_json = (await tenant.data(SETTINGS_SCHEMA, {"id": connection_id}))["connectionSettingsSchema"]
    assert "contacts" in schema_json["properties"]

    created = (
        await tenant.data(
            CREATE,
            {
                "input": demo_input(
                    connection_id,
                    schema,
                    sourceStreams=[{"name": "contacts", "syncMode": "INCREMENTAL"}],
                )
            },
        )
    )["createEltSync"]
    assert created["enabled"] is False and created["nextRunAt"] is None
    assert created["settings"] == {"contacts": 120, "companies": 12, "deals": 30, "batch_size": 50}
    sync_id = created["id"]

    added = (
        await tenant.data(
            ADD_STREAMS,
            {
                "input": {
                    "syncId": sync_id,
                    "sourceStreams": [
                        {"name": "companies", "syncMode": "FULL_REFRESH"},
                        {"name": "deals", "syncMode": "INCREMENTAL"},
                    ],
                }
            },
        )
    )["addSourceStreams"]
    assert [s["name"] for s in added["sourceStreams"]] == ["contacts", "companies", "deals"]

    enabled = (await tenant.data(ENABLE, {"id": sync_id}))["enableEltSync"]
    assert enabled["enabled"] is True and enabled["nextRunAt"] is not None

    run = (await tenant.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]
    assert run["status"] == "QUEUED" and run["trigger"] == "MANUAL"
    return await wait_for_run(tenant, run["id"])


async def test_demo_sync_runs_end_to_end_into_the_sqlite_warehouse(
    tenant: Any, demo_connection: str, worker: Any, settings: Any
) -> None:
    finished = await run_full_flow(tenant, demo_connection, "crm")

    assert finished["status"] == "SUCCEEDED", finished
    counts = {s["name"]: s["rowsLoaded"] for s in finished["streams"]}
    assert counts == {"contacts": 120, "companies": 12, "deals": 30}
    assert finished["rowsLoaded"] == 162
    assert (finished["rowsInserted"], finished["rowsUpdated"]) == (162, 0)
    assert {s["name"]: s["rowsInserted"] for s in finished["streams"]} == counts
    # On the shared warehouse the tables are in the workspace's namespace.
    crm = qualified_schema(
        organization_id=tenant.organization_id, workspace_id=tenant.workspace_id, name="crm"
    )
    destination = build_destination(settings.effective_warehouse_url)
    await destination.open()
    try:
        assert await destination.count(crm, "contacts") == 120
        rows = await destination.fetch(crm, "deals")
        assert {row["id"] for row in rows} == set(range(1, 31))
        assert all(row["_weir_synced_at"] for row in rows)
    finally:
        await destination.close()
    sync = (await tenant.data(SYNCS))["eltSyncs"]["edges"][0]["node"]
    states = {
        s["name"]: s["state"]
        for s in (await tenant.data(SYNC, {"id": sync["id"]}))["eltSync"]["sourceStreams"]
    }
    assert states["contacts"] == {"cursor": "2024-01-01T00:02:00+00:00"}

    await tenant.data(DELETE, {"id": sync["id"]})
    await destination.open()
    try:
        assert await destination.count(crm, "contacts") == 120  # tables are kept
    finally:
        await destination.close()


async def test_demo_sync_runs_end_to_end_into_a_postgres_destination(
    tenant: Any, demo_connection: str, settings: Any, app: Any
) -> None:
    require_service("PostgreSQL", POSTGRES_URL, 5432, "WEIR_TEST_DATABASE_URL")
    import asyncio

    from server.syncs.queue import current_broker
    from server.worker.main import EmbeddedWorker

    schema = f"weir_t_{uuid.uuid4().hex[:10]}"
    pg_settings = settings.replace(warehouse_url=POSTGRES_URL)
    embedded = EmbeddedWorker(
        settings=pg_settings, broker=current_broker(), bus=app.state.runtime.services.bus, threads=1
    )
    await asyncio.to_thread(embedded.start)
    destination = build_destination(POSTGRES_URL)
    await destination.open()
    physical = qualified_schema(
        organization_id=tenant.organization_id, workspace_id=tenant.workspace_id, name=schema
    )
    try:
        finished = await run_full_flow(tenant, demo_connection, schema)
        assert finished["status"] == "SUCCEEDED", finished
        assert await destination.count(physical, "contacts") == 120
        assert await destination.count(physical, "companies") == 12
        types = dict(
            await destination.db.fetch(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = $1 AND table_name = 'contacts'",
                physical,
            )
        )
        assert types["id"] == "bigint"
        assert types["updated_at"] == "timestamp with time zone"
        assert types["subscribed"] == "boolean"
        assert types["_weir_synced_at"] == "timestamp with time zone"
    finally:
        await asyncio.to_thread(embedded.stop)
        await destination.db.execute(f'DROP SCHEMA IF EXISTS "{physical}" CASCADE')
        await destination.close()


async def test_a_bad_setting_is_reported_with_its_field(tenant: Any, demo_connection: str) -> None:
    body = await tenant.graphql(
        CREATE, {"input": demo_input(demo_connection, settings={"contacts": "many", "colour": "red"})}
    )

    assert error_of(body)["extensions"]["code"] == "VALIDATION_FAILED"
    fields = fields_of(body)
    assert "input.settings.contacts" in fields
    assert "input.settings.colour" in fields


STREAMS = """
query Streams($id: ID!, $settings: JSON) {
  connectionStreams(connectionId: $id, settings: $settings) { name primaryKey cursorField recordSchema }
}
"""


async def test_the_streams_a_connection_offers_are_listed_with_their_columns(
    tenant: Any, demo_connection: str
) -> None:
    streams = (await tenant.data(STREAMS, {"id": demo_connection}))["connectionStreams"]
    assert [stream["name"] for stream in streams] == ["contacts", "companies", "deals"]
    assert "email" in streams[0]["recordSchema"]["properties"]
    # Settings are checked as createEltSync checks them, each error naming its field.
    body = await tenant.graphql(STREAMS, {"id": demo_connection, "settings": {"contacts": "many"}})
    assert error_of(body)["extensions"]["code"] == "VALIDATION_FAILED"
    assert "settings.contacts" in fields_of(body)
    body = await tenant.graphql(STREAMS, {"id": demo_connection, "settings": ["not", "an", "object"]})
    assert list(fields_of(body)) == ["settings"]


async def test_a_bad_cron_is_reported_on_sync_interval(tenant: Any, demo_connection: str) -> None:
    body = await tenant.graphql(CREATE, {"input": demo_input(demo_connection, syncInterval="every hour")})

    assert error_of(body)["extensions"]["code"] == "VALIDATION_FAILED"
    assert "input.syncInterval" in fields_of(body)


async def test_an_interval_below_the_minimum_is_refused(tenant: Any, demo_connection: str) -> None:
    body = await tenant.graphql(CREATE, {"input": demo_input(demo_connection, syncInterval="* * * * *")})

    assert error_of(body)["extensions"]["code"] == "VALIDATION_FAILED"
    assert "minimum interval" in fields_of(body)["input.syncInterval"]


async def test_an_unknown_stream_is_named_in_the_error(tenant: Any, demo_connection: str) -> None:
    body = await tenant.graphql(
        CREATE,
        {
            "input": demo_input(
                demo_connection, sourceStreams=[{"name": "tickets", "syncMode": "INCREMENTAL"}]
            )
        },
    )

    assert error_of(body)["extensions"]["code"] == "VALIDATION_FAILED"
    assert "tickets" in fields_of(body)["input.sourceStreams.0.name"]


async def test_bad_timezone_schema_name_and_columns_are_all_reported(
    tenant: Any, demo_connection: str
) -> None:
    body = await tenant.graphql(
        CREATE,
        {
            "input": demo_input(
                demo_connection,
                "Drop Table;",
                timezone="Mars/Olympus",
                sourceStreams=[
                    {"name": "contacts", "syncMode": "INCREMENTAL", "excludedColumns": ["id", "shoe_size"]}
                ],
            )
        },
    )

    fields = fields_of(body)
    assert {
        "input.timezone",
        "input.destinationSchemaName",
        "input.sourceStreams.0.excludedColumns.0",
        "input.sourceStreams.0.excludedColumns.1",
    } <= set(fields)


async def test_a_second_trigger_while_one_is_queued_is_a_conflict(tenant: Any, demo_connection: str) -> None:
    sync_id = (
        await tenant.data(
            CREATE,
            {
                "input": demo_input(
                    demo_connection, sourceStreams=[{"name": "contacts", "syncMode": "INCREMENTAL"}]
                )
            },
        )
    )["createEltSync"]["id"]
    first = (await tenant.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]

    again = await tenant.graphql(TRIGGER, {"id": sync_id})

    assert error_of(again)["extensions"]["code"] == "CONFLICT"
    cancelled = (await tenant.data(CANCEL, {"id": first["id"]}))["cancelSyncRun"]
    assert cancelled["status"] == "CANCELLED"
    third = (await tenant.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]
    assert third["status"] == "QUEUED"


async def test_update_disable_remove_and_delete(tenant: Any, demo_connection: str) -> None:
    sync_id = (
        await tenant.data(
            CREATE,
            {
                "input": demo_input(
                    demo_connection,
                    sourceStreams=[
                        {"name": "contacts", "syncMode": "INCREMENTAL"},
                        {"name": "deals", "syncMode": "INCREMENTAL"},
                    ],
                )
            },
        )
    )["createEltSync"]["id"]

    updated = (
        await tenant.data(
            UPDATE, {"input": {"id": sync_id, "settings": {"contacts": 5}, "syncInterval": "30 6 * * 1"}}
        )
    )["updateEltSync"]
    assert updated["settings"] == {"contacts": 5} and updated["syncInterval"] == "30 6 * * 1"
    removed = (await tenant.data(REMOVE_STREAMS, {"input": {"syncId": sync_id, "names": ["deals"]}}))[
        "removeSourceStreams"
    ]
    assert [s["name"] for s in removed["sourceStreams"]] == ["contacts"]
    missing = await tenant.graphql(REMOVE_STREAMS, {"input": {"syncId": sync_id, "names": ["deals"]}})
    assert "input.names.0" in fields_of(missing)
    await tenant.data(ENABLE, {"id": sync_id})
    disabled = (await tenant.data(DISABLE, {"id": sync_id}))["disableEltSync"]
    assert disabled == {"id": sync_id, "enabled": False, "nextRunAt": None}

    assert (await tenant.data(DELETE, {"id": sync_id}))["deleteEltSync"]["deletedId"] == sync_id
    gone = await tenant.graphql(SYNC, {"id": sync_id})
    assert error_of(gone)["extensions"]["code"] == "NOT_FOUND"


async def test_another_organizations_sync_and_connection_are_not_found(
    tenant: Any, demo_connection: str, client: Any
) -> None:
    sync_id = (await tenant.data(CREATE, {"input": demo_input(demo_connection)}))["createEltSync"]["id"]
    other = await make_tenant(client, "Globex")

    assert error_of(await other.graphql(SYNC, {"id": sync_id}))["extensions"]["code"] == "NOT_FOUND"
    body = await other.graphql(CREATE, {"input": demo_input(demo_connection, "other")})
    assert error_of(body)["extensions"]["code"] == "NOT_FOUND"
    assert (await other.data(SYNCS))["eltSyncs"]["edges"] == []


async def test_the_same_destination_schema_twice_is_a_conflict(tenant: Any, demo_connection: str) -> None:
    await tenant.data(CREATE, {"input": demo_input(demo_connection, "shared")})
    second = await create_demo_connection(tenant.organization_id, tenant.workspace_id)

    body = await tenant.graphql(CREATE, {"input": demo_input(second, "shared")})

    assert error_of(body)["extensions"]["code"] == "CONFLICT"


async def test_runs_are_listed_per_sync(tenant: Any, demo_connection: str) -> None:
    sync_id = (
        await tenant.data(
            CREATE,
            {
                "input": demo_input(
                    demo_connection, sourceStreams=[{"name": "contacts", "syncMode": "INCREMENTAL"}]
                )
            },
        )
    )["createEltSync"]["id"]
    run = (await tenant.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]

    edges = (await tenant.data(RUNS, {"id": sync_id}))["syncRuns"]["edges"]

    assert [e["node"]["id"] for e in edges] == [run["id"]]


async def test_settings_omitted_or_null_are_the_empty_settings(tenant: Any, demo_connection: str) -> None:
    # `settings` is `JSON = null` (a `{}` default broke introspection): both mean `{}`.
    omitted = demo_input(demo_connection, "omitted")
    del omitted["settings"]
    created = (await tenant.data(CREATE, {"input": omitted}))["createEltSync"]
    nulled = (await tenant.data(CREATE, {"input": demo_input(demo_connection, "nulled", settings=None)}))[
        "createEltSync"
    ]
    assert created["settings"] == nulled["settings"] == {}
