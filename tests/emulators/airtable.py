"""Airtable's API as Weir uses it: ``GET /v0/meta/whoami`` and ``GET
/v0/meta/bases/{baseId}/tables``, with Airtable's error bodies; and, for the catalog's actions,
``POST`` and ``GET /v0/{baseId}/{table}`` (create and list records: a created record is listed,
unknown field names are refused with 422 UNKNOWN_FIELD_NAME, lists page with ``pageSize`` and an
``offset`` token), as https://airtable.com/developers/web/api/create-records and
https://airtable.com/developers/web/api/list-records describe."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "patWeirEmulator01.0123456789abcdef0123456789abcdef0123456789abcdef"
BASE = "appWeirEmulator01"
TABLE = "tblWeirEmulator01"
FIELDS = ("Name", "Status", "Notes", "Estimate")
NOT_FOUND = {
    "error": {
        "type": "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
        "message": "Invalid permissions, or the requested model was not found. Check "
        "that both your user and your token have the required permissions, "
        "and that the model names and/or ids are correct.",
    }
}


class AirtableEmulator:
    def __init__(self) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.bases = {BASE}
        self.records: list[dict[str, Any]] = []
        self.actions = DocumentedAPI(
            [
                Endpoint("POST", "/v0/{base}/{table}", self._create_record, required=("fields",)),
                Endpoint("GET", "/v0/{base}/{table}", self._list_records),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(
                401,
                {"error": {"type": "AUTHENTICATION_REQUIRED", "message": "Authentication required"}},
            ),
            invalid=lambda missing: (
                422,
                {
                    "error": {
                        "type": "INVALID_REQUEST_MISSING_FIELDS",
                        "message": f'Could not find field "{missing[0]}" in the request body',
                    }
                },
            ),
            rate_limited={
                "errors": [
                    {"error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"}
                ]
            },
            controls=self.controls,
        )
        self.app = Starlette(
            routes=[
                Route("/v0/meta/whoami", self.whoami),
                Route("/v0/meta/bases/{base}/tables", self.tables),
                *self.actions.routes(),
            ]
        )

    def _known(self, call: Call) -> bool:
        return call.path_params["base"] in self.bases and call.path_params["table"] in ("Projects", TABLE)

    def _create_record(self, call: Call) -> dict[str, Any] | Reply:
        if not self._known(call):
            return Reply(403, NOT_FOUND)
        fields = call.json["fields"]
        unknown = [name for name in fields if name not in FIELDS]
        if unknown:
            message = f'Unknown field name: "{unknown[0]}"'
            return Reply(422, {"error": {"type": "UNKNOWN_FIELD_NAME", "message": message}})
        n = len(self.records) + 1
        record = {
            "id": f"rec{n:014d}",
            "createdTime": f"2025-01-01T00:00:{n % 60:02d}.000Z",
            "fields": fields,
        }
        self.records.append(record)
        return record

    def _list_records(self, call: Call) -> dict[str, Any] | Reply:
        if not self._known(call):
            return Reply(403, NOT_FOUND)
        size = int(str(call.query.get("pageSize", "100")))
        start = int(str(call.query.get("offset", "itr0")).removeprefix("itr"))
        page: dict[str, Any] = {"records": self.records[start : start + size]}
        if start + size < len(self.records):
            page["offset"] = f"itr{start + size}"
        return page

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        if bearer_token(request) not in self.controls.tokens:
            return JSONResponse(
                {"error": {"type": "AUTHENTICATION_REQUIRED", "message": "Authentication required"}},
                status_code=401,
            )
        return self.controls.chaos(
            {
                "errors": [
                    {"error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"}
                ]
            }
        )  # type: ignore[return-value]

    async def whoami(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {
                "id": "usrWeirEmulator01",
                "email": "owner@example.com",
                "scopes": ["schema.bases:read", "data.records:read"],
            }
        )

    async def tables(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        if request.path_params["base"] not in self.bases:
            return JSONResponse(
                {
                    "error": {
                        "type": "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
                        "message": "Invalid permissions, or the requested model was not found. Check "
                        "that both your user and your token have the required permissions, "
                        "and that the model names and/or ids are correct.",
                    }
                },
                status_code=403,
            )
        return JSONResponse(
            {
                "tables": [
                    {
                        "id": "tblWeirEmulator01",
                        "name": "Projects",
                        "primaryFieldId": "fldWeir0001",
                        "fields": [],
                    }
                ]
            }
        )
