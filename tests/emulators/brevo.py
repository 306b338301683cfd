"""Brevo's API v3 for the catalog's actions: ``POST /smtp/email`` (201 with a ``messageId``),
``POST /contacts`` (201 with the new id; 204 when ``updateEnabled`` updates an existing one; a
duplicate email refused otherwise) and ``GET /contacts/{email or id}``, behind the ``api-key``
header, with Brevo's ``{"code": ..., "message": ...}`` bodies
(https://developers.brevo.com/reference/sendtransacemail, https://developers.brevo.com/reference/createcontact)."""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, header

KEY = "xkeysib-WeirEmulatorBrevoKey0000000000000000000001"


class BrevoEmulator:
    def __init__(self) -> None:
        self.contacts: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.api = DocumentedAPI(
            [
                Endpoint(
                    "POST", "/smtp/email", self._send, status=201, required=("sender.email", "to", "subject")
                ),
                Endpoint("POST", "/contacts", self._create_contact, status=201),
                Endpoint("GET", "/contacts/{identifier}", self._get_contact),
            ],
            credentials=[header("api-key", KEY)],
            unauthorized=(401, {"code": "unauthorized", "message": "Key not found"}),
            invalid=lambda missing: (
                400,
                {"code": "missing_parameter", "message": f"{missing[0]} is missing"},
            ),
            rate_limited={"code": "too_many_requests", "message": "The expected rate limit is exceeded."},
            prefix="/v3",
        )
        self.app = self.api.app

    def _send(self, call: Call) -> dict[str, Any] | Reply:
        if not any(k in call.json for k in ("htmlContent", "textContent", "templateId")):
            return Reply(400, {"code": "missing_parameter", "message": "htmlContent is missing"})
        self.sent.append(call.json)
        return {"messageId": f"<20250101000000.{len(self.sent):08d}@smtp-relay.mailin.fr>"}

    def _create_contact(self, call: Call) -> dict[str, Any] | Reply:
        sent = call.json or {}
        existing = next((c for c in self.contacts if c["email"] == sent.get("email")), None)
        if existing is not None:
            if sent.get("updateEnabled"):
                existing["attributes"].update(sent.get("attributes", {}))
                return Reply(204, None)
            message = "Unable to create contact, email is already associated with another Contact"
            return Reply(400, {"code": "duplicate_parameter", "message": message})
        contact = {
            "id": len(self.contacts) + 21,
            "email": sent.get("email"),
            "attributes": sent.get("attributes", {}),
            "listIds": sent.get("listIds", []),
            "emailBlacklisted": False,
            "smsBlacklisted": False,
            "createdAt": "2025-01-01T10:00:00.000+01:00",
            "modifiedAt": "2025-01-01T10:00:00.000+01:00",
        }
        self.contacts.append(contact)
        return {"id": contact["id"]}

    def _get_contact(self, call: Call) -> dict[str, Any] | Reply:
        wanted = call.path_params["identifier"]
        found = next((c for c in self.contacts if wanted in (c["email"], str(c["id"]))), None)
        if found is None:
            return Reply(404, {"code": "document_not_found", "message": "Contact does not exist"})
        return found
