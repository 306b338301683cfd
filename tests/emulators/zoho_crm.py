"""Zoho CRM's API (v7) as the catalog entry's actions use it, as documented endpoints
(``tests/emulators/documented.py``): ``Authorization: Zoho-oauthtoken <token>``; ``POST
/crm/v7/{module}`` inserts records (``{"data": [...]}`` -> 201 with one ``SUCCESS`` entry per
record, or ``MANDATORY_NOT_FOUND`` for a Lead or Contact without ``Last_Name``) and ``GET
/crm/v7/{module}/search`` finds them by ``email``, ``phone``, ``word`` or ``criteria``
(``(Field:equals:value)`` only), answering 204 with no body when nothing matches.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, header

TOKEN = "1000.weir0emulated0zoho0token.0000000001"
MODULES = ("Leads", "Contacts", "Accounts", "Deals")
CRITERIA = re.compile(r"^\((?P<field>\w+):equals:(?P<value>[^)]*)\)$")


class ZohoCRMEmulator:
    def __init__(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {name: [] for name in MODULES}
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/{module}", self.insert, status=201, required=("data.0",)),
                Endpoint("GET", "/{module}/search", self.search),
            ],
            credentials=[header("Authorization", f"Zoho-oauthtoken {TOKEN}")],
            unauthorized=(
                401,
                {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"},
            ),
            invalid=lambda missing: (
                400,
                {
                    "code": "REQUIRED_PARAM_MISSING",
                    "details": {"param": missing[0]},
                    "message": "One of the expected parameter is missing",
                    "status": "error",
                },
            ),
            prefix="/crm/v7",
        )
        self.app = self.api.app

    def _unknown(self, module: str) -> Reply | None:
        if module in MODULES:
            return None
        return Reply(
            400,
            {
                "code": "INVALID_MODULE",
                "details": {"resource_path_index": 0},
                "message": "the module name given seems to be invalid",
                "status": "error",
            },
        )

    def insert(self, call: Call) -> Any:
        module = call.path_params["module"]
        refused = self._unknown(module)
        if refused is not None:
            return refused
        answers = []
        for record in call.json["data"]:
            if module in ("Leads", "Contacts") and not record.get("Last_Name"):
                answers.append(
                    {
                        "code": "MANDATORY_NOT_FOUND",
                        "details": {"api_name": "Last_Name"},
                        "message": "required field not found",
                        "status": "error",
                    }
                )
                continue
            created = {
                "id": f"{5725767000000000000 + sum(map(len, self.records.values())) + 1}",
                "Created_Time": "2025-06-01T10:00:00+00:00",
                **record,
            }
            self.records[module].append(created)
            details = {
                "id": created["id"],
                "Created_Time": created["Created_Time"],
                "Created_By": {"id": "5725767000000411001", "name": "Weir"},
            }
            answers.append(
                {"code": "SUCCESS", "details": details, "message": "record added", "status": "success"}
            )
        failed = all(a["status"] == "error" for a in answers)
        return Reply(400, {"data": answers}) if failed else {"data": answers}

    def search(self, call: Call) -> Any:
        module = call.path_params["module"]
        refused = self._unknown(module)
        if refused is not None:
            return refused
        rows = self.records[module]
        if call.query.get("email"):
            rows = [r for r in rows if r.get("Email") == call.query["email"]]
        elif call.query.get("phone"):
            rows = [r for r in rows if r.get("Phone") == call.query["phone"]]
        elif call.query.get("word"):
            word = str(call.query["word"]).lower()
            rows = [r for r in rows if any(word in str(v).lower() for v in r.values())]
        elif call.query.get("criteria"):
            match = CRITERIA.match(str(call.query["criteria"]))
            if match is None:
                return Reply(
                    400,
                    {
                        "code": "INVALID_QUERY",
                        "details": {},
                        "message": "invalid query formed",
                        "status": "error",
                    },
                )
            rows = [r for r in rows if str(r.get(match["field"])) == match["value"]]
        else:
            return Reply(
                400,
                {
                    "code": "REQUIRED_PARAM_MISSING",
                    "details": {"param": "criteria"},
                    "message": "One of the expected parameter is missing",
                    "status": "error",
                },
            )
        if not rows:
            return Response(status_code=204)
        size = int(str(call.query.get("per_page", "200")))
        page = int(str(call.query.get("page", "1")))
        chunk = rows[(page - 1) * size : page * size]
        return {
            "data": chunk,
            "info": {
                "per_page": size,
                "count": len(chunk),
                "page": page,
                "more_records": page * size < len(rows),
            },
        }
