"""Typeform's Create and Responses APIs as the catalog entry's actions use them, as documented
endpoints (``tests/emulators/documented.py``): an OAuth bearer token; ``GET /forms`` (``search``,
``page``, ``page_size``) and ``GET /forms/{form_id}/responses`` (``page_size`` up to 1000,
``completed``, ``query``, ``before``/``after`` response tokens), both answering ``total_items``,
``page_count`` and ``items``. Errors are Typeform's ``{"code", "description"}``.
"""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "tfp_WeirEmulatedToken0000000000000001"
FORM_ID = "u6nXL7"


class TypeformEmulator:
    def __init__(self, responses: int = 3) -> None:
        self.forms = [
            {
                "id": FORM_ID,
                "title": "Customer survey",
                "last_updated_at": "2025-05-01T10:00:00Z",
                "_links": {"display": f"https://acme.typeform.com/to/{FORM_ID}"},
            },
            {
                "id": "aB3dE9",
                "title": "Job application",
                "last_updated_at": "2025-05-02T10:00:00Z",
                "_links": {"display": "https://acme.typeform.com/to/aB3dE9"},
            },
        ]
        self.responses = [
            {
                "landing_id": f"landing{n}",
                "token": f"token{n:04d}",
                "response_id": f"token{n:04d}",
                "landed_at": f"2025-05-0{n}T09:00:00Z",
                "submitted_at": f"2025-05-0{n}T09:05:00Z",
                "hidden": {},
                "answers": [
                    {"field": {"id": "q1", "type": "short_text"}, "type": "text", "text": f"Answer {n}"}
                ],
            }
            for n in range(1, responses + 1)
        ]
        self.api = DocumentedAPI(
            [
                Endpoint("GET", "/forms", self.list_forms),
                Endpoint("GET", "/forms/{form_id}/responses", self.list_responses),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(
                403,
                {
                    "code": "AUTHENTICATION_FAILED",
                    "description": "Authentication credentials not found on the Request Headers",
                },
            ),
        )
        self.app = self.api.app

    def list_forms(self, call: Call) -> Any:
        search = str(call.query.get("search") or "").lower()
        rows = [f for f in self.forms if search in f["title"].lower()]
        size = int(str(call.query.get("page_size", "10")))
        page = int(str(call.query.get("page", "1")))
        return {
            "total_items": len(rows),
            "page_count": max(1, -(-len(rows) // size)),
            "items": rows[(page - 1) * size : page * size],
        }

    def list_responses(self, call: Call) -> Any:
        if not any(f["id"] == call.path_params["form_id"] for f in self.forms):
            return Reply(
                404,
                {
                    "code": "FORM_NOT_FOUND",
                    "description": "Non existing form with uid " + call.path_params["form_id"],
                },
            )
        size = int(str(call.query.get("page_size", "25")))
        if not 1 <= size <= 1000:
            return Reply(
                400, {"code": "VALIDATION_ERROR", "description": "page_size must be between 1 and 1000"}
            )
        rows = list(reversed(self.responses))  # newest first
        if call.query.get("query"):
            rows = [r for r in rows if any(call.query["query"] in a.get("text", "") for a in r["answers"])]
        before = call.query.get("before")
        if before:
            tokens = [r["token"] for r in rows]
            rows = rows[tokens.index(before) + 1 :] if before in tokens else []
        return {"total_items": len(rows), "page_count": max(1, -(-len(rows) // size)), "items": rows[:size]}
