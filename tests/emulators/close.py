"""Close's API as the catalog entry uses it: ``GET /api/v1/me/`` and the lead, contact and
opportunity lists (``_skip``/``_limit`` offset paging, ``has_more``, a per-resource ``_limit``
maximum answered with 400, ``_fields``), behind HTTP Basic with the API key as the user name.
For the catalog's actions also ``POST /lead/`` (listed afterwards), ``GET /lead/{id}/`` and
``POST /activity/note/`` (refused with Close's field-errors body for an unknown lead)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, basic

KEY = "api_3WeirEmulatorCloseKey0000000001"
ORGANIZATION = "orga_WeirEmulator000000000000000"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
RESOURCES = {"lead": "lead", "contact": "cont", "opportunity": "oppo"}
MAX_LIMIT = 200


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class CloseEmulator:
    def __init__(self, leads: int = 0, contacts: int = 0, opportunities: int = 0) -> None:
        self.controls = Controls(tokens={KEY})
        self.data: dict[str, list[dict[str, Any]]] = {name: [] for name in RESOURCES}
        self.clock = EPOCH
        for resource, count in (("lead", leads), ("contact", contacts), ("opportunity", opportunities)):
            for _ in range(count):
                self.add(resource)
        self.notes: list[dict[str, Any]] = []
        self.actions = DocumentedAPI(
            [
                Endpoint("POST", "/api/v1/lead/", self._create_lead),
                Endpoint("GET", "/api/v1/lead/{id}/", self._get_lead),
                Endpoint("POST", "/api/v1/activity/note/", self._create_note, required=("lead_id",)),
            ],
            credentials=[basic(KEY, "")],
            unauthorized=(401, {"error": "The API key is invalid or has been revoked."}),
            invalid=lambda missing: (
                400,
                {"errors": [], "field-errors": {m: "This field is required." for m in missing}},
            ),
            rate_limited={"error": {"message": "API call count exceeded for this period", "rate_reset": 1.0}},
            controls=self.controls,
        )
        self.app = Starlette(
            routes=[
                Route("/api/v1/me/", self.me),
                Route("/api/v1/{resource}/", self.list_resource),
                *self.actions.routes(),
            ]
        )

    def _lead(self, lead_id: str) -> dict[str, Any] | None:
        return next((lead for lead in self.data["lead"] if lead["id"] == lead_id), None)

    def _create_lead(self, call: Call) -> dict[str, Any]:
        sent = dict(call.json or {})
        contacts = sent.pop("contacts", [])
        lead = self.add("lead", **sent)
        lead["display_name"] = lead["name"]
        for person in contacts:
            contact = self.add("contact", lead_id=lead["id"], **{"emails": [], "phones": [], **person})
            lead["contacts"].append(contact)
        return lead

    def _get_lead(self, call: Call) -> dict[str, Any] | Reply:
        lead = self._lead(call.path_params["id"])
        return lead if lead is not None else Reply(404, {"error": "Not Found"})

    def _create_note(self, call: Call) -> dict[str, Any] | Reply:
        if self._lead(call.json["lead_id"]) is None:
            return Reply(400, {"errors": [], "field-errors": {"lead_id": "Object does not exist."}})
        self.clock += timedelta(seconds=1)
        note = {
            "id": f"acti_{len(self.notes) + 1:020d}",
            "_type": "Note",
            "lead_id": call.json["lead_id"],
            "note": call.json.get("note", ""),
            "date_created": self.clock.isoformat(timespec="microseconds"),
        }
        self.notes.append(note)
        return note

    def add(self, resource: str, **fields: Any) -> dict[str, Any]:
        self.clock += timedelta(seconds=1)
        n = len(self.data[resource]) + 1
        stamp = self.clock.isoformat(timespec="microseconds")
        record: dict[str, Any] = {
            "id": f"{RESOURCES[resource]}_{n:020d}",
            "organization_id": ORGANIZATION,
            "date_created": stamp,
            "date_updated": stamp,
            "created_by": "user_WeirEmulator",
        }
        if resource == "lead":
            record.update(
                name=f"Lead {n}",
                display_name=f"Lead {n}",
                status_id="stat_potential",
                status_label="Potential",
                url=f"https://lead{n}.example.com",
                description=None,
                contacts=[],
                custom={},
            )
        elif resource == "contact":
            record.update(
                lead_id=f"lead_{n:020d}",
                name=f"Person {n}",
                title="Buyer",
                emails=[{"type": "office", "email": f"person{n}@example.com"}],
                phones=[],
            )
        else:
            record.update(
                lead_id=f"lead_{n:020d}",
                status_id="stat_active",
                status_label="Active",
                status_type="active",
                value=1000 * n,
                value_currency="USD",
                value_period="one_time",
                confidence=50,
                user_id="user_WeirEmulator",
                date_won=None,
            )
        record.update(fields)
        self.data[resource].append(record)
        return record

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return _error(401, "Unauthorized: provide your API key as the user name (HTTP Basic).")
        user, _, _password = base64.b64decode(header[6:]).decode().partition(":")
        if user not in self.controls.tokens:
            return _error(401, "The API key is invalid or has been revoked.")
        return self.controls.chaos(  # type: ignore[return-value]
            {"error": {"message": "API call count exceeded for this period", "rate_reset": 1.0}},
            headers={"RateLimit": f"limit=160, remaining=0, reset={self.controls.retry_after}"},
        )

    async def me(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {
                "id": "user_WeirEmulator",
                "email": "owner@example.com",
                "first_name": "Olga",
                "last_name": "Owner",
                "organizations": [{"id": ORGANIZATION, "name": "Weir Emulated Sales"}],
            }
        )

    async def list_resource(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        resource = request.path_params["resource"]
        if resource not in RESOURCES:
            return _error(404, "Not found")
        query = request.query_params
        try:
            skip = int(query.get("_skip", 0))
            limit = int(query.get("_limit", 100))
        except ValueError:
            return _error(400, "_skip and _limit must be integers")
        if limit > MAX_LIMIT or limit < 1 or skip < 0:
            return _error(400, f"_limit must be between 1 and {MAX_LIMIT}")
        rows = self.data[resource][skip : skip + limit]
        if "_fields" in query:
            wanted = set(query["_fields"].split(","))
            rows = [{k: v for k, v in row.items() if k in wanted} for row in rows]
        has_more = skip + limit < len(self.data[resource])
        return JSONResponse({"data": rows, "has_more": has_more, "total_results": len(self.data[resource])})
