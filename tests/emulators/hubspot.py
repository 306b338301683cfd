"""HubSpot's API as Weir uses it: the OAuth token-information endpoint, the CRM v3 objects list
(``limit``, ``after``, ``properties``) and the CRM search API (filters, sorts, the 10,000-result
window), with HubSpot's error bodies."""

from __future__ import annotations

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
                Route("/crm/v3/objects/{object}/search", self.search, methods=["POST"]),
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
        for group in query.get("filterGroups") or []:
            for condition in group.get("filters") or []:
                if condition["propertyName"] != MODIFIED[name]:
                    return _error(
                        400, "this emulator filters on the modification date only", "VALIDATION_ERROR"
                    )
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
