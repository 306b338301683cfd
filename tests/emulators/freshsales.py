"""Freshsales' API as Weir uses it: ``GET /crm/sales/api/selector/owners`` with
``Authorization: Token token=...``, and its answer to a wrong key. For the catalog's actions also
``POST /crm/sales/api/contacts`` (``{"contact": {...}}`` in and out; an email already used is
refused) and ``GET /crm/sales/api/search?q=&include=`` (a list of matches, created ones included),
as https://developers.freshworks.com/crm/api/ describes."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, header

KEY = "WeirEmulatorFreshsalesKey0001"


class FreshsalesEmulator:
    def __init__(self) -> None:
        self.controls = Controls(tokens={KEY})
        self.contacts: list[dict[str, Any]] = []
        self.actions = DocumentedAPI(
            [
                Endpoint("POST", "/api/contacts", self._create_contact, required=("contact.email",)),
                Endpoint("GET", "/api/search", self._search, required_query=("q",)),
            ],
            credentials=[header("authorization", f"Token token={KEY}")],
            unauthorized=(401, {"login": "failed", "message": "Incorrect or expired API key"}),
            invalid=lambda missing: (
                400,
                {"errors": {"code": 400, "message": [f"{m} can't be blank" for m in missing]}},
            ),
            rate_limited={"message": "You have exceeded the limit of requests per hour"},
            prefix="/crm/sales",
            controls=self.controls,
        )
        self.app = Starlette(
            routes=[Route("/crm/sales/api/selector/owners", self.owners), *self.actions.routes()]
        )

    def _create_contact(self, call: Call) -> dict[str, Any] | Reply:
        sent = call.json["contact"]
        if any(c["email"] == sent["email"] for c in self.contacts):
            return Reply(400, {"errors": {"code": 400, "message": ["Email already exists"]}})
        names = [sent.get("first_name"), sent.get("last_name")]
        contact = {
            "id": 7000 + len(self.contacts) + 1,
            "first_name": None,
            "last_name": None,
            "mobile_number": None,
            "job_title": None,
            **sent,
            "display_name": " ".join(n for n in names if n) or sent["email"],
            "created_at": "2025-01-01T10:00:00+05:30",
            "updated_at": "2025-01-01T10:00:00+05:30",
        }
        self.contacts.append(contact)
        return {"contact": contact}

    def _search(self, call: Call) -> list[dict[str, Any]]:
        text = str(call.query["q"]).lower()
        if call.query.get("include", "contact") != "contact":
            return []
        return [
            {"id": str(c["id"]), "name": c["display_name"], "email": c["email"], "type": "contact"}
            for c in self.contacts
            if text in c["display_name"].lower() or text in c["email"].lower()
        ]

    async def owners(self, request: Request) -> JSONResponse:
        self.controls.record(request)
        header = request.headers.get("authorization", "")
        key = header.removeprefix("Token token=") if header.startswith("Token token=") else None
        if key not in self.controls.tokens:
            return JSONResponse(
                {"login": "failed", "message": "Incorrect or expired API key"}, status_code=401
            )
        limited = self.controls.chaos({"message": "You have exceeded the limit of requests per hour"})
        if limited is not None:
            return limited  # type: ignore[return-value]
        return JSONResponse(
            {
                "users": [
                    {
                        "id": 1,
                        "display_name": "Ada Owner",
                        "email": "ada@example.com",
                        "is_active": True,
                        "work_number": None,
                        "mobile_number": None,
                    },
                ]
            }
        )
