"""Recording calls: one ``CallLog`` row per action or proxy call, and ``call.failed`` events."""

from __future__ import annotations

import logging
from typing import Any

from tortoise.transactions import in_transaction

from server import ids
from server.calls.metrics import CallMetrics
from server.calls.models import CallLog
from server.calls.records import FAILED, Call
from server.webhooks.outbox import record_event
from server.webhooks.payloads import call_payload

log = logging.getLogger("weir.calls")

# Free-text columns and their sizes (server.calls.models): a longer value is cut to fit rather
# than lose the row (Postgres refuses an over-long value; SQLite would keep it whole).
_CLIPPED = {"integration_name": 64, "action": 100, "method": 10, "path": 1000, "error_code": 64}


async def record(call: Call, *, metrics: CallMetrics | None = None) -> None:
    """Log one finished call (and, when it failed, its ``call.failed`` event); never raises.

    The call already happened: a failure to record it is logged here, never handed back to
    the caller, whose result must not change because the log could not be written.
    """
    if metrics is not None:
        try:
            metrics.observe(call)
        except Exception:
            log.exception("could not count a %s call of %s", call.kind, call.integration_name)
    try:
        await _write(call)
    except Exception:
        log.exception(
            "could not record a %s call of %s (organization %s)",
            call.kind,
            call.integration_name,
            call.organization_id,
        )


async def _write(call: Call) -> None:
    values: dict[str, Any] = {
        "organization_id": call.organization_id,
        "workspace_id": call.workspace_id,
        "kind": call.kind,
        "integration_name": call.integration_name,
        "connection_id": call.connection_id,
        "api_key_id": call.api_key_id,
        "end_user_id": call.end_user_id,
        "action": call.action,
        "method": call.method,
        "path": call.path,
        "status": call.status,
        "http_status": call.http_status,
        "error_code": call.error_code,
        "duration_ms": call.duration_ms,
    }
    for name, limit in _CLIPPED.items():
        if isinstance(values[name], str):
            values[name] = values[name][:limit]
    # The row and its event commit together: an event never names a call that is not logged.
    async with in_transaction():
        row = await CallLog.create(id=ids.new_id("call"), **values)
        if row.status == FAILED:
            await record_event(
                organization_id=row.organization_id,
                workspace_id=row.workspace_id,
                type="call.failed",
                payload=call_payload(row),
                object_id=row.id,
            )
