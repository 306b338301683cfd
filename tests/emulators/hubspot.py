"""HubSpot's API as Weir uses it: the OAuth token-information endpoint, the CRM v3 objects list
(``limit``, ``after``, ``properties``) and the CRM search API (filters, sorts, ``query``, the
10,000-result window), creating and updating objects (``POST``, ``PATCH`` with ``idProperty``),
with HubSpot's error bodies: 400 ``VALIDATION_ERROR`` listing the invalid properties, 404 for an
unknown object, 409 for a contact whose email exists."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token

TOKEN = "CJT0emulator-hubspot-access-token-0001"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
MODIFIED = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}


# Properties an object may be given (HubSpot refuses others: PROPERTY_DOESNT_EXIST).
KNOWN_PROPERTIES = {
    "contacts": {
        "email",
        "firstname",
        "lastname",
        "phone",
        "company",
        "jobtitle",
        "lifecyclestage",
        "website",
        "city",
        "country",
        "mobilephone",
    },
    "companies": {"name", "domain", "industry", "city", "country", "numberofemployees", "annualrevenue"},
    "deals": {"dealname", "amount", "dealstage", "pipeline", "closedate"},
}
# What ``query`` searches in (HubSpot's default searchable properties of contacts, in part).
SEARCHABLE = ("firstname", "lastname", "email", "phone", "company")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, message: str, category: str, **extra: Any) -> JSONResponse:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return JSONResponse(body, status_code=status)


class HubSpotEmulator:
    def __init__(self, contacts: int = 0, companies: int = 0, deals: int = 0) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.objects: dict[str, list[dict[str, Any]]] = {name: [] for name in MODIFIED}
        self.clock = EPOCH
        self.search_window = 10_000
        for name, count in (("contacts", contacts), ("companies", companies), ("deals", deals)):
            for _ in range(count):
                self.add(name)
        self.app = Starlette(
            routes=[
                Route("/oauth/v1/access-tokens/{token}", self.token_info),
                Route("/crm/v3/objects/{object}", self.list_objects),
                Route("/crm/v3/objects/{object}", self.create_object, methods=["POST"]),
                Route("/crm/v3/objects/{object}/search", self.search, methods=["POST"]),
                Route("/crm/v3/objects/{object}/{object_id}", self.object_by_id, methods=["GET", "PATCH"]),
            ]
        )

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def add(self, kind: str, **properties: str) -> dict[str, Any]:
        moment = self._tick()
        n = len(self.objects[kind]) + 1
        defaults = {
            "contacts": {
                "email": f"person{n}@example.com",
                "firstname": f"First{n}",
                "lastname": f"Last{n}",
                "lifecyclestage": "lead",
            },
            "companies": {
                "name": f"Company {n}",
                "domain": f"company{n}.example.com",
                "industry": "COMPUTER_SOFTWARE",
                "numberofemployees": str(10 * n),
            },
            "deals": {
                "dealname": f"Deal {n}",
                "amount": str(1000 * n),
                "dealstage": "appointmentscheduled",
                "pipeline": "default",
            },
        }[kind]
        record = {
            "id": str(n),
            "created": moment,
            "updated": moment,
            "properties": {**defaults, **properties},
            "archived": False,
        }
        self.objects[kind].append(record)
        return record

    def touch(self, kind: str, object_id: str, **properties: str) -> dict[str, Any]:
        record = next(r for r in self.objects[kind] if r["id"] == object_id)
        record["updated"] = self._tick()
        record["properties"].update(properties)
        return record

    def _render(self, name: str, record: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
        values = {
            "hs_object_id": record["id"],
            "createdate": _iso(record["created"]),
            MODIFIED[name]: _iso(record["updated"]),
            **record["properties"],
        }
        shown = wanted or ["createdate", MODIFIED[name], "hs_object_id"]
        return {
            "id": record["id"],
            "properties": {k: values.get(k) for k in shown},
            "createdAt": _iso(record["created"]),
            "updatedAt": _iso(record["updated"]),
            "archived": record["archived"],
        }

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        token = bearer_token(request)
        if token in self.controls.expired:
            return _error(
                401,
                "The OAuth token used to make this call expired 5 minute(s) ago.",
                "EXPIRED_AUTHENTICATION",
            )
        if token not in self.controls.tokens:
            return _error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
                "INVALID_AUTHENTICATION",
            )
        return self.controls.chaos(
            {
                "status": "error",
                "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": "SECONDLY",
            }
        )  # type: ignore[return-value]

    async def token_info(self, request: Request) -> JSONResponse:
        self.controls.calls.append("GET /oauth/v1/access-tokens/<token>")
        token = request.path_params["token"]
        if token in self.controls.expired:
            return _error(
                401,
                "The OAuth token used to make this call expired 5 minute(s) ago.",
                "EXPIRED_AUTHENTICATION",
            )
        if token not in self.controls.tokens:
            return _error(401, "Token not found", "INVALID_AUTHENTICATION")
        return JSONResponse(
            {
                "token": token,
                "user": "owner@example.com",
                "hub_domain": "weir-emulated.com",
                "scopes": ["oauth", "crm.objects.contacts.read"],
                "hub_id": 62515,
                "app_id": 456789,
                "expires_in": 1800,
                "user_id": 123456,
                "token_type": "access",
            }
        )

    async def list_objects(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        name = request.path_params["object"]
        if name not in self.objects:
            return _error(400, f"Unable to infer object type from: {name}", "VALIDATION_ERROR")
        limit = min(int(request.query_params.get("limit", 10)), 100)
        wanted = [p for v in request.query_params.getlist("properties") for p in v.split(",") if p]
        after = int(request.query_params.get("after") or 0)
        rows = [r for r in self.objects[name] if int(r["id"]) >= after]
        body: dict[str, Any] = {"results": [self._render(name, r, wanted) for r in rows[:limit]]}
        if len(rows) > limit:
            following = rows[limit]["id"]
            body["paging"] = {
                "next": {
                    "after": following,
                    "link": f"{request.base_url}crm/v3/objects/{name}?after={following}",
                }
            }
        return JSONResponse(body)

    async def search(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        name = request.path_params["object"]
        query = await request.json()
        limit = int(query.get("limit", 10))
        if limit > 200:
            return _error(400, "limit must be at most 200", "VALIDATION_ERROR")
        after = int(query.get("after") or 0)
        if after >= self.search_window:
            return _error(400, f"after must be less than {self.search_window}", "VALIDATION_ERROR")
        rows = list(self.objects[name])
        text = str(query.get("query") or "").strip().lower()
        if text:
            rows = [
                r for r in rows if any(text in str(r["properties"].get(p) or "").lower() for p in SEARCHABLE)
            ]
        for group in query.get("filterGroups") or []:
            for condition in group.get("filters") or []:
                if condition["propertyName"] != MODIFIED[name]:
                    if condition.get("operator") != "EQ":
                        return _error(
                            400, "this emulator filters other properties with EQ only", "VALIDATION_ERROR"
                        )
                    wanted = str(condition.get("value") or "").lower()  # HubSpot's EQ ignores case
                    key = condition["propertyName"]
                    rows = [r for r in rows if str(r["properties"].get(key) or "").lower() == wanted]
                    continue
                value = EPOCH.fromtimestamp(int(condition["value"]) / 1000, UTC)
                compare = {"GT": lambda a, b: a > b, "GTE": lambda a, b: a >= b, "LT": lambda a, b: a < b}[
                    condition["operator"]
                ]
                rows = [r for r in rows if compare(r["updated"], value)]
        for sort in query.get("sorts") or []:
            rows.sort(key=lambda r: r["updated"], reverse=sort.get("direction") == "DESCENDING")
        page = rows[after : after + limit]
        body: dict[str, Any] = {
            "total": len(rows),
            "results": [self._render(name, r, query.get("properties") or []) for r in page],
        }
        if after + limit < len(rows):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return JSONResponse(body)

    def _invalid_properties(self, name: str, properties: Any) -> JSONResponse | None:
        """HubSpot's 400 for properties that do not exist or whose value is invalid."""
        if not isinstance(properties, dict):
            return _error(
                400,
                "Invalid input JSON on line 1, column 15: properties must be an object",
                "VALIDATION_ERROR",
            )
        problems = []
        for key, value in properties.items():
            if key not in KNOWN_PROPERTIES[name]:
                message = f'Property "{key}" does not exist'
                problems.append(
                    {
                        "isValid": False,
                        "message": message,
                        "error": "PROPERTY_DOESNT_EXIST",
                        "name": key,
                        "localizedErrorMessage": message,
                    }
                )
            elif key == "email" and value and not _EMAIL.match(str(value)):
                message = f"Email address {value} is invalid"
                problems.append({"isValid": False, "message": message, "error": "INVALID_EMAIL", "name": key})
        if not problems:
            return None
        return _error(400, "Property values were not valid: " + json.dumps(problems), "VALIDATION_ERROR")

    def _conflict(
        self, name: str, properties: dict[str, Any], exclude: str | None = None
    ) -> JSONResponse | None:
        email = str(properties.get("email") or "").lower()
        if name != "contacts" or not email:
            return None
        for record in self.objects[name]:
            if record["id"] != exclude and str(record["properties"].get("email") or "").lower() == email:
                return _error(409, f"Contact already exists. Existing ID: {record['id']}", "CONFLICT")
        return None

    async def create_object(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        name = request.path_params["object"]
        if name not in self.objects:
            return _error(400, f"Unable to infer object type from: {name}", "VALIDATION_ERROR")
        body = await request.json()
        properties = body.get("properties") if isinstance(body, dict) else None
        invalid = self._invalid_properties(name, properties) or self._conflict(name, properties)
        if invalid is not None:
            return invalid
        moment = self._tick()
        record = {
            "id": str(len(self.objects[name]) + 1),
            "created": moment,
            "updated": moment,
            "properties": {k: None if v is None else str(v) for k, v in properties.items()},
            "archived": False,
        }
        self.objects[name].append(record)
        shown = [*properties, "createdate", MODIFIED[name], "hs_object_id"]
        return JSONResponse(self._render(name, record, shown), status_code=201)

    def _find(self, name: str, object_id: str, id_property: str | None) -> dict[str, Any] | None:
        for record in self.objects[name]:
            if id_property in (None, "hs_object_id") and record["id"] == object_id:
                return record
            if id_property and str(record["properties"].get(id_property) or "").lower() == object_id.lower():
                return record
        return None

    async def object_by_id(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        name = request.path_params["object"]
        if name not in self.objects:
            return _error(400, f"Unable to infer object type from: {name}", "VALIDATION_ERROR")
        record = self._find(name, request.path_params["object_id"], request.query_params.get("idProperty"))
        if record is None:
            return _error(404, "resource not found", "OBJECT_NOT_FOUND")
        if request.method == "GET":
            wanted = [p for v in request.query_params.getlist("properties") for p in v.split(",") if p]
            return JSONResponse(self._render(name, record, wanted))
        body = await request.json()
        properties = body.get("properties") if isinstance(body, dict) else None
        if isinstance(properties, dict) and not properties:
            return _error(
                400, "No properties found to update, please provide at least one.", "VALIDATION_ERROR"
            )
        invalid = self._invalid_properties(name, properties) or self._conflict(name, properties, record["id"])
        if invalid is not None:
            return invalid
        self.touch(name, record["id"], **{k: None if v is None else str(v) for k, v in properties.items()})
        return JSONResponse(self._render(name, record, [*properties, MODIFIED[name], "hs_object_id"]))
