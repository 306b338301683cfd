"""Stripe: customers, charges and invoices, with a secret API key.

Stripe lists newest first and pages with ``starting_after=<last id>``; ``created[gt]`` narrows a
list to what was created after the saved cursor. Because pages go back in time, the cursor can
only move once a whole list has been read: the checkpoint comes after the last batch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from server.connectors.base import (
    CheckResult,
    ConnectorContext,
    ConnectorSpec,
    RecordBatch,
    StateCheckpoint,
    StreamSpec,
)
from server.connectors.http import base_url, bearer, paged, request, run_check
from server.connectors.schemas import BOOLEAN, INTEGER, STRING, nullable, object_of

PAGE_SIZE = 100
_auth = bearer("secret_text")

_STRING = nullable(STRING)
_INT = nullable(INTEGER)
_BOOL = nullable(BOOLEAN)
_OBJECT = nullable({"type": "object"})


def _schema(**properties: Any) -> dict[str, Any]:
    return object_of({"id": STRING, "created": INTEGER, **properties}, required=["id", "created"])


SPEC = ConnectorSpec(
    name="stripe",
    display_name="Stripe",
    category="PAYMENTS",
    auth_types=("SECRET_TEXT",),
    description="Customers, charges and invoices from a Stripe account.",
    base_url="https://api.stripe.com",
    docs_url="https://docs.stripe.com/api",
    streams=(
        StreamSpec(
            name="customers",
            primary_key=("id",),
            cursor_field="created",
            description="Customers, by creation time (Unix seconds).",
            record_schema=_schema(
                email=_STRING,
                name=_STRING,
                description=_STRING,
                currency=_STRING,
                balance=_INT,
                delinquent=_BOOL,
                livemode=BOOLEAN,
                metadata=_OBJECT,
            ),
        ),
        StreamSpec(
            name="charges",
            primary_key=("id",),
            cursor_field="created",
            description="Charges, by creation time (Unix seconds).",
            record_schema=_schema(
                amount=INTEGER,
                amount_refunded=_INT,
                currency=STRING,
                customer=_STRING,
                description=_STRING,
                paid=_BOOL,
                refunded=_BOOL,
                status=_STRING,
                livemode=BOOLEAN,
                metadata=_OBJECT,
            ),
        ),
        StreamSpec(
            name="invoices",
            primary_key=("id",),
            cursor_field="created",
            description="Invoices, by creation time (Unix seconds).",
            record_schema=_schema(
                customer=_STRING,
                number=_STRING,
                status=_STRING,
                currency=STRING,
                total=_INT,
                amount_due=_INT,
                amount_paid=_INT,
                due_date=_INT,
                livemode=BOOLEAN,
                metadata=_OBJECT,
            ),
        ),
    ),
)


async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    """``GET /v1/account``: the account the key belongs to."""

    async def call() -> CheckResult:
        response = await request(
            context,
            "GET",
            f"{base_url(context, SPEC.base_url)}/v1/account",
            auth=_auth,
            credentials=credentials,
        )
        account = response.json()
        profile = account.get("business_profile") or {}
        label = profile.get("name") or account.get("email") or account.get("id")
        return CheckResult(ok=True, message="the key is valid", account_label=label)

    return await run_check(credentials, call)


def _project(spec: StreamSpec, record: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the fields the stream's schema names; Stripe objects carry many nested extras."""
    return {name: record.get(name) for name in spec.record_schema["properties"]}


def _next_page(body: Mapping[str, Any]) -> dict[str, Any] | None:
    data = body.get("data") or []
    return {"starting_after": data[-1]["id"]} if body.get("has_more") and data else None


async def read(
    context: ConnectorContext, stream: str, settings: dict[str, Any], state: dict[str, Any] | None
) -> AsyncIterator[RecordBatch | StateCheckpoint]:
    spec = SPEC.stream(stream)
    if spec is None:
        raise ValueError(f"unknown stream {stream!r}")
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    cursor = int(state["cursor"]) if state and state.get("cursor") is not None else None
    if cursor is not None:
        params["created[gt]"] = cursor
    newest = cursor
    url = f"{base_url(context, SPEC.base_url)}/v1/{stream}"
    async for page in paged(context, "GET", url, auth=_auth, params=params, next_page=_next_page):
        records = [_project(spec, r) for r in page.get("data") or []]
        if records:
            newest = max([newest or 0, *(int(r["created"]) for r in records)])
            yield RecordBatch(stream=stream, records=records)
    if newest is not None:
        yield StateCheckpoint(stream=stream, state={"cursor": newest})
