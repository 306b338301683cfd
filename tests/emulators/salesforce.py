"""Salesforce's REST API as the catalog entry uses it: ``GET /services/data/v62.0/limits`` and
SOQL through ``GET …/query?q=SELECT … FROM <object>``, answered in batches of ``batch_size``
records (2,000 by default, as Salesforce does) with ``done`` and a ``nextRecordsUrl`` that is a
path on the instance (``/services/data/v62.0/query/01gWEIR…-2000``), behind an OAuth bearer token,
with Salesforce's error bodies.

The actions' endpoints are documented ones (``tests/emulators/documented.py``): ``POST
…/sobjects/{object}/`` creates a record (201 ``{id, success, errors}``; a Contact or Lead without
``LastName`` is ``REQUIRED_FIELD_MISSING``) that a SOQL query then finds, and ``GET
…/sobjects/{object}/{id}`` answers one record, with only the ``fields`` asked for."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "00DWEIR0000emulator!AQ0AQSalesforceAccessToken0001"
VERSION = "v62.0"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
PREFIX = {"Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006"}
SOQL = re.compile(r"^SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)\s*$", re.IGNORECASE | re.DOTALL)


def _errors(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": code}], status_code=status)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class SalesforceEmulator:
    def __init__(self, accounts: int = 0, batch_size: int = 2000) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.batch_size = batch_size
        self.data: dict[str, list[dict[str, Any]]] = {name: [] for name in PREFIX}
        self.cursors: dict[str, tuple[str, list[str], int]] = {}
        self.clock = EPOCH
        for _ in range(accounts):
            self.add("Account")
        root = f"/services/data/{VERSION}"
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/sobjects/{sobject}/", self.create_record, status=201),
                Endpoint("GET", "/sobjects/{sobject}/{id}", self.get_record),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(
                401,
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
            ),
            prefix=root,
        )
        self.api.controls = self.controls
        self.app = Starlette(
            routes=[
                *self.api.routes(),
                Route(f"{root}/limits", self.limits),
                Route(f"{root}/query", self.query),
                Route(f"{root}/query/{{locator}}", self.more),
            ]
        )

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.clock += timedelta(seconds=1)
        n = len(self.data[kind]) + 1
        record: dict[str, Any] = {
            "Id": f"{PREFIX[kind]}WEIR{n:011d}",
            "CreatedDate": _stamp(self.clock),
            "LastModifiedDate": _stamp(self.clock),
            "SystemModstamp": _stamp(self.clock),
            "OwnerId": "005WEIR00000000001",
        }
        if kind == "Account":
            record.update(
                Name=f"Account {n}",
                Type="Customer - Direct",
                Industry="Technology",
                Website=f"https://account{n}.example.com",
                Phone=None,
                BillingCity="Aarhus",
                BillingCountry="Denmark",
                AnnualRevenue=1000.0 * n,
                NumberOfEmployees=n,
                Description="Only fields the query names are returned.",
            )
        record.update(fields)
        self.data[kind].append(record)
        return record

    def create_record(self, call: Call) -> Any:
        kind = call.path_params["sobject"]
        if kind not in PREFIX:
            return Reply(
                404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
            )
        fields = call.json if isinstance(call.json, dict) else {}
        if kind in ("Contact", "Lead") and not fields.get("LastName"):
            missing = [
                {
                    "message": "Required fields are missing: [LastName]",
                    "errorCode": "REQUIRED_FIELD_MISSING",
                    "fields": ["LastName"],
                }
            ]
            return Reply(400, missing)
        record = self.add(kind, **fields)
        return {"id": record["Id"], "success": True, "errors": []}

    def get_record(self, call: Call) -> Any:
        kind = call.path_params["sobject"]
        found = next((r for r in self.data.get(kind, []) if r["Id"] == call.path_params["id"]), None)
        if found is None:
            return Reply(
                404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
            )
        wanted = str(call.query.get("fields") or "")
        names = [name for name in wanted.split(",") if name] or list(found)
        attributes = {"type": kind, "url": f"/services/data/{VERSION}/sobjects/{kind}/{found['Id']}"}
        return {"attributes": attributes, **{name: found.get(name) for name in names}}

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        if bearer_token(request) not in self.controls.tokens:
            return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return self.controls.chaos(  # type: ignore[return-value]
            [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}], status=403
        )

    async def limits(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse({"DailyApiRequests": {"Max": 15000, "Remaining": 14990}})

    def _batch(self, kind: str, fields: list[str], start: int) -> dict[str, Any]:
        rows = self.data[kind]
        chunk = rows[start : start + self.batch_size]
        records = [
            {
                "attributes": {"type": kind, "url": f"/services/data/{VERSION}/sobjects/{kind}/{row['Id']}"},
                **{field: row.get(field) for field in fields},
            }
            for row in chunk
        ]
        answer: dict[str, Any] = {
            "totalSize": len(rows),
            "done": start + len(chunk) >= len(rows),
            "records": records,
        }
        if not answer["done"]:
            locator = f"01gWEIR{len(self.cursors):08d}-{start + len(chunk)}"
            self.cursors[locator] = (kind, fields, start + len(chunk))
            answer["nextRecordsUrl"] = f"/services/data/{VERSION}/query/{locator}"
        return answer

    async def query(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        match = SOQL.match(request.query_params.get("q", ""))
        if match is None:
            return _errors(
                400, "MALFORMED_QUERY", "unexpected token: the query must be SELECT … FROM <object>"
            )
        kind = match["object"]
        if kind not in PREFIX:
            return _errors(400, "INVALID_TYPE", f"sObject type '{kind}' is not supported.")
        fields = [field.strip() for field in match["fields"].split(",")]
        return JSONResponse(self._batch(kind, fields, 0))

    async def more(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        cursor = self.cursors.get(request.path_params["locator"])
        if cursor is None:
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return JSONResponse(self._batch(*cursor))
