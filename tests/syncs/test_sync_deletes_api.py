"""Delete detection through GraphQL: set on create and update, scheduled on enable, refused by
field when hostile; ``rowsDeleted`` per stream and per run."""

from __future__ import annotations

from typing import Any

from tests.syncs.conftest import wait_for_run
from tests.syncs.test_sync_api import ENABLE, TRIGGER, demo_input, error_of, fields_of

CREATE = """
mutation Create($input: CreateEltSyncInput!) {
  createEltSync(input: $input) { id deleteDetection reconcileInterval nextReconcileAt }
}
"""
UPDATE = """
mutation Update($input: UpdateEltSyncInput!) {
  updateEltSync(input: $input) { id deleteDetection reconcileInterval nextReconcileAt }
}
"""
RUN = """
query Run($id: ID!) { syncRun(id: $id) { status rowsDeleted streams { name rowsDeleted } } }
"""
STREAMS = [{"name": "contacts", "syncMode": "INCREMENTAL"}]


async def test_delete_detection_is_set_scheduled_and_reported(
    tenant: Any, demo_connection: str, worker: Any
) -> None:
    created = (
        await tenant.data(
            CREATE,
            {"input": demo_input(demo_connection, deleteDetection="RECONCILE", sourceStreams=STREAMS)},
        )
    )["createEltSync"]
    assert created["deleteDetection"] == "RECONCILE"
    assert created["reconcileInterval"] is None and created["nextReconcileAt"] is None

    await tenant.data(ENABLE, {"id": created["id"]})
    changed = (
        await tenant.data(UPDATE, {"input": {"id": created["id"], "reconcileInterval": "15 4 * * *"}})
    )["updateEltSync"]
    assert changed["reconcileInterval"] == "15 4 * * *"
    assert changed["nextReconcileAt"] is not None  # enabled and reconciling: scheduled

    off = (await tenant.data(UPDATE, {"input": {"id": created["id"], "deleteDetection": "OFF"}}))[
        "updateEltSync"
    ]
    assert off["deleteDetection"] == "OFF" and off["nextReconcileAt"] is None

    run = (await tenant.data(TRIGGER, {"id": created["id"]}))["triggerSyncRun"]
    await wait_for_run(tenant, run["id"])
    finished = (await tenant.data(RUN, {"id": run["id"]}))["syncRun"]
    assert finished["status"] == "SUCCEEDED"
    assert finished["rowsDeleted"] == 0
    assert finished["streams"] == [{"name": "contacts", "rowsDeleted": 0}]


async def test_hostile_delete_detection_inputs_are_refused_by_field(
    tenant: Any, demo_connection: str
) -> None:
    for extra, field in (
        ({"reconcileInterval": "* * * * *"}, "input.reconcileInterval"),
        ({"reconcileInterval": "'; DROP TABLE elt_syncs; --"}, "input.reconcileInterval"),
        ({"reconcileInterval": "0 " * 200}, "input.reconcileInterval"),
    ):
        body = await tenant.graphql(CREATE, {"input": demo_input(demo_connection, **extra)})
        assert error_of(body)["extensions"]["code"] == "VALIDATION_FAILED", body
        assert field in fields_of(body), body

    created = (await tenant.data(CREATE, {"input": demo_input(demo_connection, schema="crm2")}))[
        "createEltSync"
    ]
    body = await tenant.graphql(UPDATE, {"input": {"id": created["id"], "deleteDetection": None}})
    assert error_of(body)["extensions"]["code"] == "VALIDATION_FAILED"
    assert "input.deleteDetection" in fields_of(body)

    body = await tenant.graphql(UPDATE, {"input": {"id": created["id"], "deleteDetection": "SOMETIMES"}})
    assert error_of(body)["extensions"]["code"] == "BAD_REQUEST"  # the enum, by GraphQL itself
    assert "deleteDetection" in error_of(body)["message"]
