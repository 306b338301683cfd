"""Intercom's API (version 2.11) for the catalog's actions: ``POST /contacts`` (a duplicate
identifier is 409), ``POST /contacts/search`` (an ``email =`` query finds created contacts) and
``POST /conversations/{id}/reply``, behind an OAuth bearer token, with Intercom's
``{"type": "error.list", "errors": [{"code", "message"}]}`` bodies
(https://developers.intercom.com/docs/references/2.11/rest-api/errors/http-responses)."""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "dG9rOldlaXJFbXVsYXRvckludGVyY29tVG9rZW4wMQ=="
CONVERSATION = "1295"
ADMIN = "991267"


def _errors(code: str, message: str) -> dict[str, Any]:
    return {
        "type": "error.list",
        "request_id": "weir-emulator-0001",
        "errors": [{"code": code, "message": message}],
    }


class IntercomEmulator:
    def __init__(self) -> None:
        self.contacts: list[dict[str, Any]] = []
        self.parts: list[dict[str, Any]] = []
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/contacts", self._create),
                Endpoint("POST", "/contacts/search", self._search, required=("query",)),
                Endpoint(
                    "POST",
                    "/conversations/{id}/reply",
                    self._reply,
                    required=("type", "admin_id", "message_type", "body"),
                ),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(401, _errors("unauthorized", "Access Token Invalid")),
            invalid=lambda missing: (400, _errors("parameter_not_found", f"{missing[0]} is required")),
            rate_limited=_errors("rate_limit_exceeded", "Exceeded rate limit"),
        )
        self.app = self.api.app

    def _create(self, call: Call) -> dict[str, Any] | Reply:
        sent = call.json or {}
        if not any(sent.get(k) for k in ("email", "external_id", "role")):
            return Reply(400, _errors("parameter_invalid", "role or email or external_id must be set"))
        for contact in self.contacts:
            if any(sent.get(k) and contact.get(k) == sent[k] for k in ("email", "external_id")):
                message = f"A contact matching those details already exists with id={contact['id']}"
                return Reply(409, _errors("conflict", message))
        contact = {
            "type": "contact",
            "id": f"6762f0{len(self.contacts) + 1:018x}",
            "workspace_id": "weiremul",
            "role": sent.get("role", "user"),
            "email": sent.get("email"),
            "external_id": sent.get("external_id"),
            "phone": sent.get("phone"),
            "name": sent.get("name"),
            "custom_attributes": sent.get("custom_attributes", {}),
            "created_at": 1735725600,
            "updated_at": 1735725600,
        }
        self.contacts.append(contact)
        return contact

    def _search(self, call: Call) -> dict[str, Any] | Reply:
        query = call.json["query"]
        if query.get("field") != "email" or query.get("operator") != "=":
            return Reply(400, _errors("invalid_field", f"{query.get('field')} is not a searchable field"))
        found = [c for c in self.contacts if c["email"] == query.get("value")]
        return {
            "type": "list",
            "data": found,
            "total_count": len(found),
            "pages": {"type": "pages", "page": 1, "per_page": 50, "total_pages": 1},
        }

    def _reply(self, call: Call) -> dict[str, Any] | Reply:
        if call.path_params["id"] != CONVERSATION:
            return Reply(404, _errors("not_found", "Resource Not Found"))
        if call.json["admin_id"] != ADMIN:
            return Reply(400, _errors("parameter_invalid", "Admin not found"))
        part = {
            "type": "conversation_part",
            "id": str(100 + len(self.parts)),
            "part_type": call.json["message_type"],
            "body": call.json["body"],
            "author": {"type": "admin", "id": ADMIN},
            "created_at": 1735725600,
        }
        self.parts.append(part)
        return {
            "type": "conversation",
            "id": CONVERSATION,
            "state": "open",
            "conversation_parts": {
                "type": "conversation_part.list",
                "conversation_parts": self.parts,
                "total_count": len(self.parts),
            },
        }
