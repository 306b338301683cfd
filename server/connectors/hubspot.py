"""HubSpot: contacts, companies and deals through the CRM v3 objects API, over OAuth.

Python, not a catalog definition: an incremental read restarts its search past HubSpot's
10,000-result window from the last modification time seen, which the declarative format cannot say.

A first (or full) read lists ``GET /crm/v3/objects/{object}`` with ``after`` paging, in id order,
and moves the cursor once at the end. An incremental read uses the search API, filtered on the
last-modified property ``GT`` the cursor and sorted ascending, so every page can checkpoint. The
search API stops at 10,000 results per query: past that the search restarts from the last
modification time seen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from server.connectors.base import (
    CheckResult,
    ConnectorContext,
    ConnectorSpec,
    OAuthSpec,
    RecordBatch,
    StateCheckpoint,
    StreamSpec,
)
from server.connectors.http import HttpTarget, base_url, bearer, paged, request, run_check
from server.connectors.schemas import BOOLEAN, STRING, TIMESTAMP, nullable, object_of

PAGE_SIZE = 100
SEARCH_WINDOW = 10_000  # HubSpot refuses a search ``after`` at or beyond this
_auth = bearer("access_token")

# The properties copied per object, and the property that holds its last modification time
# (contacts call it ``lastmodifieddate``, the other objects ``hs_lastmodifieddate``).
PROPERTIES: dict[str, tuple[str, ...]] = {
    "contacts": (
        "email",
        "firstname",
        "lastname",
        "phone",
        "company",
        "jobtitle",
        "lifecyclestage",
        "createdate",
        "lastmodifieddate",
    ),
    "companies": (
        "name",
        "domain",
        "industry",
        "city",
        "country",
        "numberofemployees",
        "annualrevenue",
        "createdate",
        "hs_lastmodifieddate",
    ),
    "deals": (
        "dealname",
        "amount",
        "dealstage",
        "pipeline",
        "closedate",
        "createdate",
        "hs_lastmodifieddate",
    ),
}
MODIFIED = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}


def _schema(stream: str) -> dict[str, Any]:
    # HubSpot sends every property value as a string (or null), numbers and dates included.
    properties: dict[str, Any] = {"id": STRING}
    properties.update({name: nullable(STRING) for name in PROPERTIES[stream]})
    properties.update(createdAt=TIMESTAMP, updatedAt=TIMESTAMP, archived=BOOLEAN)
    return object_of(properties, required=["id", "updatedAt"])


SPEC = ConnectorSpec(
    name="hubspot",
    display_name="HubSpot",
    category="CRM",
    auth_types=("OAUTH2", "PLATFORM_OAUTH2"),
    description="Contacts, companies and deals from a HubSpot CRM.",
    base_url="https://api.hubapi.com",
    docs_url="https://developers.hubspot.com/docs/api/crm/understanding-the-crm",
    oauth=OAuthSpec(
        authorize_url="https://app.hubspot.com/oauth/authorize",
        token_url="https://api.hubapi.com/oauth/v1/token",
        default_scopes=(
            "oauth",
            "crm.objects.contacts.read",
            "crm.objects.companies.read",
            "crm.objects.deals.read",
        ),
    ),
    streams=tuple(
        StreamSpec(
            name=name,
            primary_key=("id",),
            cursor_field="updatedAt",
            description=f"CRM {name}, with the properties most reports use.",
            record_schema=_schema(name),
        )
        for name in PROPERTIES
    ),
)


async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    """``GET /oauth/v1/access-tokens/{token}``: HubSpot's token information endpoint."""
    root = base_url(context, SPEC.base_url)

    async def call() -> CheckResult:
        response = await request(
            context,
            "GET",
            lambda c: f"{root}/oauth/v1/access-tokens/{c.get('access_token')}",
            credentials=credentials,
        )
        info = response.json()
        label = info.get("hub_domain") or info.get("user") or str(info.get("hub_id") or "")
        return CheckResult(ok=True, message="the token is valid", account_label=label or None)

    return await run_check(credentials, call)


def _record(raw: Mapping[str, Any], stream: str) -> dict[str, Any]:
    values = raw.get("properties") or {}
    record: dict[str, Any] = {"id": str(raw["id"])}
    record.update({name: values.get(name) for name in PROPERTIES[stream]})
    record.update(
        createdAt=raw.get("createdAt"),
        updatedAt=raw.get("updatedAt"),
        archived=bool(raw.get("archived", False)),
    )
    return record


def _millis(timestamp: str) -> int:
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _next_after(body: Mapping[str, Any]) -> dict[str, Any] | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return {"after": after} if after else None


async def read(
    context: ConnectorContext, stream: str, settings: dict[str, Any], state: dict[str, Any] | None
) -> AsyncIterator[RecordBatch | StateCheckpoint]:
    if stream not in PROPERTIES:
        raise ValueError(f"unknown stream {stream!r}")
    root = f"{base_url(context, SPEC.base_url)}/crm/v3/objects/{stream}"
    cursor = state.get("cursor") if state else None
    if cursor is None:
        newest: str | None = None
        params = {"limit": PAGE_SIZE, "properties": ",".join(PROPERTIES[stream])}
        async for page in paged(context, "GET", root, auth=_auth, params=params, next_page=_next_after):
            records = [_record(raw, stream) for raw in page.get("results") or []]
            if records:
                latest = max(records, key=lambda r: _millis(r["updatedAt"]))["updatedAt"]
                if newest is None or _millis(latest) > _millis(newest):
                    newest = latest
                yield RecordBatch(stream=stream, records=records)
        if newest is not None:
            yield StateCheckpoint(stream=stream, state={"cursor": newest})
        return
    async for item in _search(context, root, stream, cursor):
        yield item


async def _search(
    context: ConnectorContext, root: str, stream: str, cursor: str
) -> AsyncIterator[RecordBatch | StateCheckpoint]:
    """Everything modified after ``cursor``, oldest first, restarting past the search window."""
    while True:
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": MODIFIED[stream], "operator": "GT", "value": str(_millis(cursor))}
                    ]
                }
            ],
            "sorts": [{"propertyName": MODIFIED[stream], "direction": "ASCENDING"}],
            "properties": list(PROPERTIES[stream]),
            "limit": PAGE_SIZE,
        }
        seen = 0
        window_full = False

        def next_page(page: Mapping[str, Any]) -> dict[str, Any] | None:
            nonlocal window_full
            following = _next_after(page)
            if following and int(following["after"]) >= SEARCH_WINDOW:
                window_full = True
                return None
            return following

        async for page in paged(
            context, "POST", f"{root}/search", auth=_auth, json=body, next_page=next_page
        ):
            records = [_record(raw, stream) for raw in page.get("results") or []]
            if not records:
                continue
            seen += len(records)
            cursor = records[-1]["updatedAt"]
            yield RecordBatch(stream=stream, records=records)
            yield StateCheckpoint(stream=stream, state={"cursor": cursor})
        if not window_full or seen == 0:
            return


# -- the proxy (``/proxy/...``) -----------------------------------------------------------


def http_target(context: ConnectorContext) -> HttpTarget:
    """HubSpot's API for the proxy: the configured base URL, the OAuth token as a bearer."""
    return HttpTarget(base_url=base_url(context, SPEC.base_url), auth=_auth)
