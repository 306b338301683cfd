"""Pipedrive's API as the catalog entry uses it: ``GET /api/v1/users/me`` and the v2 lists of
deals, persons and organizations (opaque ``cursor`` with ``limit`` up to 500,
``additional_data.next_cursor``, ``updated_since``, ``sort_by``/``sort_direction``), with the
``api_token`` query parameter and Pipedrive's error bodies and rate-limit headers.

The actions' endpoints are documented ones (``tests/emulators/documented.py``): ``POST
/api/v2/deals`` and ``/api/v2/persons`` add a record (``{"success": true, "data": {...}}``; no
title or name is a 400 ``Validation failed``), which the lists then show, and ``GET
/api/v2/persons/search?term=`` finds persons by name or email (``{"data": {"items": [...]}}``).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, query

TOKEN = "0123456789abcdef0123456789abcdef01234567"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
OBJECTS = ("deals", "persons", "organizations")
MAX_LIMIT = 500


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": message, "errorCode": status}, status_code=status)


def _encode(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"position": position}).encode()).decode()


def _decode(cursor: str) -> int | None:
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["position"])
    except (ValueError, KeyError, TypeError):
        return None


class PipedriveEmulator:
    def __init__(self, deals: int = 0, persons: int = 0, organizations: int = 0) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.data: dict[str, list[dict[str, Any]]] = {name: [] for name in OBJECTS}
        self.clock = EPOCH
        for name, count in (("deals", deals), ("persons", persons), ("organizations", organizations)):
            for _ in range(count):
                self.add(name)
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/deals", self.create("deals"), required=("title",)),
                Endpoint("POST", "/persons", self.create("persons"), required=("name",)),
                Endpoint("GET", "/persons/search", self.search_persons, required_query=("term",)),
            ],
            credentials=[query("api_token", TOKEN)],
            unauthorized=(401, {"success": False, "error": "unauthorized access", "errorCode": 401}),
            invalid=lambda missing: (
                400,
                {"success": False, "error": f"Validation failed: {missing[0]}: Required", "errorCode": 400},
            ),
            prefix="/api/v2",
        )
        self.api.controls = self.controls
        self.app = Starlette(
            routes=[
                *self.api.routes(),
                Route("/api/v1/users/me", self.me),
                Route("/api/v2/{object}", self.list_objects),
            ]
        )

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.clock += timedelta(seconds=1)
        n = len(self.data[kind]) + 1
        record: dict[str, Any] = {"id": n, "add_time": _iso(self.clock), "update_time": _iso(self.clock)}
        if kind == "deals":
            record.update(
                title=f"Deal {n}",
                value=100.0 * n,
                currency="EUR",
                status="open",
                stage_id=1,
                pipeline_id=1,
                person_id=n,
                org_id=n,
                owner_id=7,
                probability=None,
                expected_close_date=None,
                won_time=None,
                lost_time=None,
            )
        elif kind == "persons":
            record.update(
                name=f"Person {n}",
                first_name="Person",
                last_name=str(n),
                emails=[{"value": f"person{n}@example.com", "primary": True, "label": "work"}],
                phones=[],
                org_id=n,
                owner_id=7,
            )
        else:
            record.update(name=f"Organization {n}", owner_id=7, address=None)
        record.update(fields)
        self.data[kind].append(record)
        return record

    def create(self, kind: str) -> Any:
        def answer(call: Call) -> dict[str, Any]:
            fields = dict(call.json)
            if kind == "persons":
                fields.setdefault("emails", [])
                fields.setdefault("phones", [])
                fields.setdefault("org_id", None)
            else:
                fields.setdefault("person_id", None)
                fields.setdefault("org_id", None)
            return {"success": True, "data": self.add(kind, **fields)}

        return answer

    def search_persons(self, call: Call) -> dict[str, Any]:
        term = str(call.query["term"]).lower()
        field = call.query.get("fields")
        exact = call.query.get("exact_match") == "true"

        def values(person: dict[str, Any]) -> list[str]:
            names = [person["name"]] if field in (None, "name") else []
            emails = [e["value"] for e in person["emails"]] if field in (None, "email") else []
            return [v.lower() for v in names + emails]

        found = [p for p in self.data["persons"] if any(term == v if exact else term in v for v in values(p))]
        items = [
            {"result_score": 1.0, "item": {"id": p["id"], "type": "person", "name": p["name"]}} for p in found
        ]
        return {"success": True, "data": {"items": items}, "additional_data": {"next_cursor": None}}

    def touch(self, kind: str, record_id: int, **fields: Any) -> None:
        """Change a record: it moves to the newest update_time."""
        self.clock += timedelta(seconds=1)
        record = next(r for r in self.data[kind] if r["id"] == record_id)
        record.update(fields, update_time=_iso(self.clock))

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        if request.query_params.get("api_token") not in self.controls.tokens:
            return _error(401, "unauthorized access")
        return self.controls.chaos(  # type: ignore[return-value]
            {"success": False, "error": "Request over limit", "errorCode": 429},
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(self.controls.retry_after)},
        )

    async def me(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {
                "success": True,
                "data": {
                    "id": 7,
                    "name": "Olga Owner",
                    "email": "owner@example.com",
                    "company_name": "Weir Emulated",
                },
            }
        )

    async def list_objects(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        kind = request.path_params["object"]
        if kind not in OBJECTS:
            return _error(404, "Unknown method .")
        query = request.query_params
        try:
            limit = int(query.get("limit", 100))
        except ValueError:
            return _error(400, "Validation failed: limit: Parameter must be a number")
        if not 1 <= limit <= MAX_LIMIT:
            return _error(400, f"Validation failed: limit: Parameter must be between 1 and {MAX_LIMIT}")
        rows = list(self.data[kind])
        if query.get("sort_by", "id") == "update_time":
            rows.sort(
                key=lambda r: (r["update_time"], r["id"]), reverse=query.get("sort_direction") == "desc"
            )
        if "updated_since" in query:
            try:
                since = datetime.fromisoformat(query["updated_since"].replace("Z", "+00:00"))
            except ValueError:
                return _error(400, "Validation failed: updated_since: Parameter must be an RFC3339 date-time")
            rows = [
                r for r in rows if datetime.fromisoformat(r["update_time"].replace("Z", "+00:00")) >= since
            ]
        start = 0
        if "cursor" in query:
            position = _decode(query["cursor"])
            if position is None:
                return _error(400, "Validation failed: cursor: Invalid cursor")
            start = position
        page = rows[start : start + limit]
        following = _encode(start + limit) if start + limit < len(rows) else None
        return JSONResponse({"success": True, "data": page, "additional_data": {"next_cursor": following}})
