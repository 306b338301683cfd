"""ActiveCampaign's API v3 (``/api/3``) for the catalog's actions: ``POST /contacts``
(``{"contact": {...}}`` in and out; an email already used is refused with 422 ``duplicate``)
and ``GET /contacts`` (``email``/``search`` filters, ``limit``/``offset``), behind the
``Api-Token`` header, with ActiveCampaign's JSON:API-style error bodies
(https://developers.activecampaign.com/reference/create-a-new-contact)."""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, header

KEY = "WeirEmulatorActiveCampaignKey0000000000001"


def _error(title: str, code: str) -> dict[str, Any]:
    return {
        "errors": [
            {"title": title, "detail": "", "code": code, "source": {"pointer": "/data/attributes/email"}}
        ]
    }


class ActiveCampaignEmulator:
    def __init__(self) -> None:
        self.contacts: list[dict[str, Any]] = []
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/contacts", self._create, status=201, required=("contact.email",)),
                Endpoint("GET", "/contacts", self._list),
            ],
            credentials=[header("api-token", KEY)],
            unauthorized=(403, {"message": "You do not have permission to access this data."}),
            invalid=lambda missing: (422, _error("Contact Email Address is not valid.", "email_invalid")),
            prefix="/api/3",
        )
        self.app = self.api.app

    def _create(self, call: Call) -> dict[str, Any] | Reply:
        sent = call.json["contact"]
        if any(c["email"] == sent["email"] for c in self.contacts):
            return Reply(422, _error("Email address already exists in the system.", "duplicate"))
        contact = {
            "id": str(len(self.contacts) + 1),
            "firstName": "",
            "lastName": "",
            "phone": "",
            **sent,
            "cdate": "2025-01-01T10:00:00-06:00",
            "udate": "2025-01-01T10:00:00-06:00",
            "links": {},
        }
        self.contacts.append(contact)
        return {"contact": contact, "fieldValues": []}

    def _list(self, call: Call) -> dict[str, Any]:
        rows = self.contacts
        if "email" in call.query:
            rows = [c for c in rows if c["email"] == call.query["email"]]
        if "search" in call.query:
            text = str(call.query["search"]).lower()
            rows = [c for c in rows if text in f"{c['firstName']} {c['lastName']} {c['email']}".lower()]
        offset, limit = int(str(call.query.get("offset", 0))), int(str(call.query.get("limit", 20)))
        return {"contacts": rows[offset : offset + limit], "meta": {"total": str(len(rows))}}
