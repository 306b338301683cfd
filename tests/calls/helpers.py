"""Call-log rows for tests, written the way actions and the proxy write them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.calls import service
from server.calls.models import CallLog
from server.calls.records import PROXY, SUCCEEDED, Call


async def log_call(
    organization_id: str, workspace_id: str | None, *, at: datetime | None = None, **given: object
) -> CallLog:
    """Record one call through ``server.calls.service.record``; ``at`` back-dates it."""
    fields: dict[str, object] = {
        "kind": PROXY,
        "integration_name": "github",
        "status": SUCCEEDED,
        "duration_ms": 12,
        "method": "GET",
        "path": "/user",
        "http_status": 200,
    }
    fields.update(given)
    await service.record(Call(organization_id=organization_id, workspace_id=workspace_id, **fields))  # type: ignore[arg-type]
    row = await CallLog.filter(organization_id=organization_id).order_by("-id").first()
    assert row is not None, "the call was not recorded"
    if at is not None:
        await CallLog.filter(id=row.id).update(created_at=at)
        row.created_at = at
    return row


async def flush_calls(app: Any) -> None:
    """Write the calls the app's recorder holds back (succeeded calls wait for a batch)."""
    await app.state.runtime.services.calls.flush()
