"""QuickBooks Online's Accounting API as the catalog entry's actions use it, as documented
endpoints (``tests/emulators/documented.py``), under ``/v3/company/{realmId}``: an OAuth bearer
token; ``POST /customer`` (``{"Customer": {...}}``; a ``DisplayName`` already in use is the
``ValidationFault`` 6240 "Duplicate Name Exists Error"), ``GET /invoice/{id}`` and ``GET
/query?query=select * from <Entity> [where <Field> = '<value>']``, answering ``QueryResponse``.
Every call must carry ``minorversion`` (75, the one Intuit serves since 2025).
"""

from __future__ import annotations

import re
from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "eyJ-weir-emulated-intuit-access-token-0001"
REALM_ID = "9130350000000001"
QUERY = re.compile(
    r"^\s*select \* from (?P<entity>\w+)(?: where (?P<field>\w+) = '(?P<value>[^']*)')?\s*$", re.IGNORECASE
)


def _fault(kind: str, code: str, message: str, detail: str) -> dict[str, Any]:
    return {
        "Fault": {"Error": [{"Message": message, "Detail": detail, "code": code}], "type": kind},
        "time": "2025-06-01T10:00:00.000-07:00",
    }


class QuickBooksEmulator:
    def __init__(self) -> None:
        self.entities: dict[str, list[dict[str, Any]]] = {
            "Customer": [],
            "Invoice": [
                {
                    "Id": "130",
                    "DocNumber": "1037",
                    "TotalAmt": 362.07,
                    "Balance": 362.07,
                    "CustomerRef": {"value": "1", "name": "Amy's Bird Sanctuary"},
                    "Line": [{"Id": "1", "Amount": 362.07, "DetailType": "SalesItemLineDetail"}],
                }
            ],
        }
        self.api = DocumentedAPI(
            [
                Endpoint(
                    "POST",
                    "/customer",
                    self.create_customer,
                    required=("DisplayName",),
                    required_query=("minorversion",),
                ),
                Endpoint("GET", "/invoice/{id}", self.get_invoice, required_query=("minorversion",)),
                Endpoint("GET", "/query", self.query, required_query=("query", "minorversion")),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(
                401,
                {
                    "fault": {
                        "error": [
                            {
                                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                                "detail": "Token expired",
                                "code": "3200",
                            }
                        ],
                        "type": "AUTHENTICATION",
                    }
                },
            ),
            invalid=lambda missing: (
                400,
                _fault(
                    "ValidationFault",
                    "2020",
                    "Required param missing, need to supply the required value for the API",
                    f"Required parameter {missing[0]} is missing in the request",
                ),
            ),
            prefix=f"/v3/company/{REALM_ID}",
        )
        self.app = self.api.app

    def create_customer(self, call: Call) -> Any:
        body = call.json
        if any(c["DisplayName"] == body["DisplayName"] for c in self.entities["Customer"]):
            detail = f"The name supplied already exists. : {body['DisplayName']}"
            return Reply(400, _fault("ValidationFault", "6240", "Duplicate Name Exists Error", detail))
        customer = {
            "Id": str(len(self.entities["Customer"]) + 1),
            "SyncToken": "0",
            "Active": True,
            "Balance": 0,
            "MetaData": {"CreateTime": "2025-06-01T10:00:00-07:00"},
            **body,
        }
        self.entities["Customer"].append(customer)
        return {"Customer": customer, "time": "2025-06-01T10:00:00.000-07:00"}

    def get_invoice(self, call: Call) -> Any:
        found = next((i for i in self.entities["Invoice"] if i["Id"] == call.path_params["id"]), None)
        if found is None:
            return Reply(
                400,
                _fault(
                    "ValidationFault",
                    "610",
                    "Object Not Found",
                    "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.",
                ),
            )
        return {"Invoice": found, "time": "2025-06-01T10:00:00.000-07:00"}

    def query(self, call: Call) -> Any:
        match = QUERY.match(str(call.query["query"]))
        if match is None or match["entity"] not in self.entities:
            return Reply(
                400,
                _fault(
                    "ValidationFault",
                    "4000",
                    "Error parsing query",
                    "QueryParserError: Encountered an unexpected token",
                ),
            )
        rows = self.entities[match["entity"]]
        if match["field"]:
            rows = [r for r in rows if str(r.get(match["field"])) == match["value"]]
        answer: dict[str, Any] = {"startPosition": 1, "maxResults": len(rows)}
        if rows:
            answer[match["entity"]] = rows
        return {"QueryResponse": answer, "time": "2025-06-01T10:00:00.000-07:00"}
