"""HubSpot: contacts, companies and deals through the CRM v3 objects API, over OAuth.

Python, not a catalog definition: an incremental read restarts its search past HubSpot's
10,000-result window from the last modification time seen, which the declarative format cannot say.

A first (or full) read lists ``GET /crm/v3/objects/{object}`` with ``after`` paging, in id order,
and moves the cursor once at the end. An incremental read uses the search API, filtered on the
last-modified property ``GT`` the cursor and sorted ascending, so every page can checkpoint. The
search API stops at 10,000 results per query: past that the search restarts from the last
modification time seen.

Actions (``executeAction``): ``create_contact``, ``search_contacts`` and ``update_contact``, the
CRM v3 contacts endpoints. HubSpot's 400 naming an invalid property becomes an input error on
``properties.<name>``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from server.connectors import http as provider_http
from server.connectors.base import (
    ActionInputError,
    ActionSpec,
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


# -- actions (``executeAction``): what each takes and returns; they run below ``check`` ----------

MAX_SEARCH_LIMIT = 200  # HubSpot's own cap for one search page
_PROPERTY_NAME = {"type": "string", "pattern": "^[A-Za-z0-9_]{1,100}$"}
_PROPERTY_VALUES = {
    "type": "object",
    "description": "Property internal names (email, firstname, ...) and their values.",
    "propertyNames": _PROPERTY_NAME,
    "additionalProperties": {"type": ["string", "number", "boolean", "null"], "maxLength": 65_536},
    "minProperties": 1,
    "maxProperties": 250,
}
_CONTACT = {
    "type": "object",
    "properties": {
        "id": STRING,
        "properties": {"type": "object", "additionalProperties": nullable(STRING)},
        "createdAt": TIMESTAMP,
        "updatedAt": TIMESTAMP,
        "archived": BOOLEAN,
    },
    "required": ["id", "properties"],
}

ACTIONS = (
    ActionSpec(
        name="create_contact",
        display_name="Create a contact",
        description="Create a CRM contact with the given properties (HubSpot refuses an email "
        "that another contact already has).",
        input_schema={
            "type": "object",
            "properties": {"properties": _PROPERTY_VALUES},
            "required": ["properties"],
            "additionalProperties": False,
        },
        output_schema=_CONTACT,
    ),
    ActionSpec(
        name="search_contacts",
        display_name="Search contacts",
        description="Contacts with exactly this email, or matching a text query (names, email, "
        "phone, company), a page at a time.",
        input_schema={
            "type": "object",
            "properties": {
                "email": {"type": "string", "minLength": 3, "maxLength": 320},
                "query": {"type": "string", "minLength": 1, "maxLength": 3000},
                "properties": {
                    "type": "array",
                    "items": _PROPERTY_NAME,
                    "maxItems": 100,
                    "description": "Properties to return. Default: the common ones.",
                },
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_LIMIT, "default": 10},
                "after": {
                    "type": "string",
                    "pattern": "^[0-9]{1,9}$",
                    "description": "next_after of the last page.",
                },
            },
            "additionalProperties": False,
        },
        output_schema={
            "type": "object",
            "properties": {
                "total": {"type": "integer"},
                "results": {"type": "array", "items": _CONTACT},
                "next_after": nullable(STRING),
            },
            "required": ["total", "results", "next_after"],
        },
        read_only=True,
    ),
    ActionSpec(
        name="update_contact",
        display_name="Update a contact",
        description="Change properties of a contact, found by its id or by a unique property "
        "(id_property: email).",
        input_schema={
            "type": "object",
            "properties": {
                "contact_id": {"type": "string", "minLength": 1, "maxLength": 320},
                "id_property": {
                    **_PROPERTY_NAME,
                    "description": "What contact_id is (default: the record id).",
                },
                "properties": _PROPERTY_VALUES,
            },
            "required": ["contact_id", "properties"],
            "additionalProperties": False,
        },
        output_schema=_CONTACT,
    ),
)

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
            "crm.objects.contacts.write",  # create_contact and update_contact
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
    actions=ACTIONS,
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


# -- actions: running them -------------------------------------------------------------------


def _values(properties: Mapping[str, Any]) -> dict[str, str | None]:
    """Property values as HubSpot stores them: strings (booleans as true/false)."""
    return {
        name: None if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
        for name, value in properties.items()
    }


def _contact(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(raw.get("id")),
        "properties": dict(raw.get("properties") or {}),
        "createdAt": raw.get("createdAt"),
        "updatedAt": raw.get("updatedAt"),
        "archived": bool(raw.get("archived", False)),
    }


def _refusal(response: Any) -> Exception:
    """HubSpot's 400 as an input error on the property it names, else a provider error."""
    message = provider_http.provider_message(response)
    prefix = "Property values were not valid: "
    if message.startswith(prefix):
        try:
            problems = json.loads(message[len(prefix) :])
        except ValueError:
            problems = None
        if (
            isinstance(problems, list)
            and problems
            and isinstance(problems[0], dict)
            and problems[0].get("name")
        ):
            first = problems[0]
            return ActionInputError(
                f"properties.{first['name']}", str(first.get("message") or first.get("error"))
            )
    return provider_http.ProviderError(response.status_code, message)


async def _write(
    context: ConnectorContext,
    method: str,
    url: str,
    properties: Mapping[str, Any],
    params: Mapping[str, str] | None = None,
) -> Any:
    response = await request(
        context,
        method,
        url,
        auth=_auth,
        json={"properties": _values(properties)},
        params=params,
        ok_statuses=(400,),
        replay_safe=method != "POST",  # a second create after a lost answer would duplicate it
    )
    if response.status_code == 400:
        raise _refusal(response)
    return _contact(response.json())


async def run_action(context: ConnectorContext, action: str, input: dict[str, Any]) -> Any:
    """``create_contact``, ``search_contacts`` or ``update_contact``."""
    contacts = f"{base_url(context, SPEC.base_url)}/crm/v3/objects/contacts"
    if action == "create_contact":
        return await _write(context, "POST", contacts, input["properties"])
    if action == "update_contact":
        contact_id = str(input["contact_id"])
        id_property = input.get("id_property")
        if contact_id.strip() in (".", "..") or any(ord(c) < 32 for c in contact_id):
            raise ActionInputError("contact_id", "is not a contact id")
        if not id_property and not contact_id.isdigit():
            raise ActionInputError(
                "contact_id", "a record id is a number; for an email set id_property to email"
            )
        params = {"idProperty": id_property} if id_property else None
        return await _write(
            context, "PATCH", f"{contacts}/{quote(contact_id, safe='')}", input["properties"], params
        )
    if action == "search_contacts":
        return await _search_contacts(context, contacts, input)
    raise ActionInputError("action", f"HubSpot has no action {action!r}")


async def _search_contacts(
    context: ConnectorContext, contacts: str, input: Mapping[str, Any]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "properties": list(input.get("properties") or PROPERTIES["contacts"]),
        "limit": int(input.get("limit") or 10),
    }
    if input.get("email"):
        body["filterGroups"] = [
            {"filters": [{"propertyName": "email", "operator": "EQ", "value": input["email"]}]}
        ]
    if input.get("query"):
        body["query"] = input["query"]
    if input.get("after"):
        if int(input["after"]) >= SEARCH_WINDOW:
            raise ActionInputError(
                "after", f"HubSpot's search stops at {SEARCH_WINDOW} results; narrow the search"
            )
        body["after"] = input["after"]
    response = await request(context, "POST", f"{contacts}/search", auth=_auth, json=body, ok_statuses=(400,))
    if response.status_code == 400:
        raise _refusal(response)
    page = response.json()
    following = _next_after(page)
    return {
        "total": int(page.get("total") or 0),
        "results": [_contact(raw) for raw in page.get("results") or []],
        "next_after": str(following["after"]) if following else None,
    }


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
