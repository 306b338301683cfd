"""What a caller hands the call log about one call (``server.calls.service.record``)."""

from __future__ import annotations

from dataclasses import dataclass

ACTION = "ACTION"
PROXY = "PROXY"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
# Every value of ``Call.kind`` and ``Call.status``, in the order the API lists them.
KINDS = (ACTION, PROXY)
STATUSES = (SUCCEEDED, FAILED)


@dataclass(frozen=True)
class Call:
    organization_id: str
    workspace_id: str | None
    kind: str  # ACTION | PROXY
    integration_name: str
    status: str  # SUCCEEDED | FAILED
    duration_ms: int
    connection_id: str | None = None
    api_key_id: str | None = None
    end_user_id: str | None = None
    action: str | None = None
    method: str | None = None
    path: str | None = None  # without the query string: it may hold secrets
    http_status: int | None = None
    error_code: str | None = None
