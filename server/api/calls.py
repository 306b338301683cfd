"""GraphQL for the call log: every action and proxy call, filtered and paged.

No field carries a body, a query string, a header or a credential: the log never keeps them.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from server.api.context import Context
from server.api.domain import domain_enum, from_row
from server.api.pagination import Connection as Page
from server.api.pagination import to_connection
from server.calls import models, records, service

CallKind = domain_enum(
    "CallKind",
    records.KINDS,
    description="How a connection was used.",
    described={
        "ACTION": "An action of the integration (`executeAction`).",
        "PROXY": "A request through the authenticated proxy (`/proxy/...`).",
    },
)
CallStatus = domain_enum(
    "CallStatus",
    records.STATUSES,
    description="How a call ended.",
    described={
        "SUCCEEDED": "The call completed and the provider accepted it.",
        "FAILED": "The call failed: refused by Weir or the provider, or nothing answered.",
    },
)


@strawberry.type(description="One action or proxy call made with a connection. Never a body or a secret.")
class CallLogEntry:
    id: strawberry.ID = strawberry.field(description="Opaque id, prefixed `call_`; time-ordered.")
    kind: CallKind = strawberry.field(description="Action or proxy call.")  # type: ignore[valid-type]
    integration_name: str = strawberry.field(description="The integration called, e.g. `slack`.")
    connection_id: strawberry.ID | None = strawberry.field(
        description="The connection used; null when none was resolved (or it needs none)."
    )
    workspace_id: strawberry.ID | None = strawberry.field(description="The workspace it was made in.")
    api_key_id: strawberry.ID | None = strawberry.field(description="The API key that made it.")
    end_user_id: strawberry.ID | None = strawberry.field(description="The end user it was made for.")
    action: str | None = strawberry.field(description="The action's name (ACTION calls).")
    method: str | None = strawberry.field(description="The HTTP method (PROXY calls).")
    path: str | None = strawberry.field(
        description="The path under the integration's base URL, without the query string (PROXY calls)."
    )
    status: CallStatus = strawberry.field(description="How it ended.")  # type: ignore[valid-type]
    http_status: int | None = strawberry.field(
        description="The provider's HTTP status; null when the provider was not reached."
    )
    error_code: str | None = strawberry.field(description="The error code of a failed call.")
    duration_ms: int = strawberry.field(description="How long it took, in milliseconds.")
    created_at: datetime = strawberry.field(description="When it was recorded (as it ended).")

    @classmethod
    def from_model(cls, row: models.CallLog) -> CallLogEntry:
        return from_row(cls, row, kind=CallKind(row.kind), status=CallStatus(row.status))


@strawberry.input(description="Narrows `calls`; every given field must match.")
class CallLogFilter:
    workspace_id: strawberry.ID | None = strawberry.field(default=None, description="Workspace.")
    connection_id: strawberry.ID | None = strawberry.field(default=None, description="Connection.")
    integration_name: str | None = strawberry.field(default=None, description="Integration name.")
    kind: CallKind | None = strawberry.field(default=None, description="Action or proxy.")  # type: ignore[valid-type]
    status: CallStatus | None = strawberry.field(default=None, description="How it ended.")  # type: ignore[valid-type]
    action: str | None = strawberry.field(default=None, description="Action name.")
    end_user_id: strawberry.ID | None = strawberry.field(default=None, description="End user.")
    api_key_id: strawberry.ID | None = strawberry.field(default=None, description="API key.")
    since: datetime | None = strawberry.field(
        default=None, description="Recorded at or after this time (UTC when no offset is given)."
    )
    until: datetime | None = strawberry.field(
        default=None, description="Recorded before this time (UTC when no offset is given)."
    )


def _id(value: strawberry.ID | None) -> str | None:
    return None if value is None else str(value)


@strawberry.type
class CallsQuery:
    @strawberry.field(
        description="The call log, oldest first, narrowed by `filter` (use `since` for recent "
        "calls). Kept for WEIR_CALL_LOG_RETENTION_DAYS."
    )
    async def calls(
        self,
        info: Info[Context, None],
        filter: CallLogFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Page[CallLogEntry]:
        given = filter or CallLogFilter()
        # The calls of this process that wait for their batch first: a caller reads its own.
        await info.context.services.calls.flush()
        page = await service.list_calls(
            scope=info.context.scope,
            workspace_id=_id(given.workspace_id),
            connection_id=_id(given.connection_id),
            integration_name=given.integration_name,
            kind=given.kind.value if given.kind else None,
            status=given.status.value if given.status else None,
            action=given.action,
            end_user_id=_id(given.end_user_id),
            api_key_id=_id(given.api_key_id),
            since=given.since,
            until=given.until,
            first=first,
            after=after,
            max_page_size=info.context.max_page_size,
        )
        return to_connection(page, CallLogEntry.from_model)
