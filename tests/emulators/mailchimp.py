"""Mailchimp's Marketing API (3.0) as the catalog entry's actions use it, as documented endpoints
(``tests/emulators/documented.py``): HTTP Basic with any user name and the API key as password;
``GET /3.0/lists`` (``count``/``offset``) and ``POST /3.0/lists/{list_id}/members``, which adds a
member that the audience's ``stats.member_count`` then counts. Errors are Mailchimp's problem
documents (``type``, ``title``, ``status``, ``detail``): "Resource Not Found" for an unknown
audience, "Member Exists" for an address already on it, "Invalid Resource" for a bad status.
"""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, basic

API_KEY = "0123456789abcdef0123456789abcdef-us6"
STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "weir-emulated",
    }


class MailchimpEmulator:
    def __init__(self) -> None:
        self.lists: list[dict[str, Any]] = [
            {
                "id": f"a1b2c3d4e{n}",
                "web_id": n,
                "name": f"Audience {n}",
                "date_created": f"2025-0{n}-01T10:00:00+00:00",
                "stats": {"member_count": 0, "unsubscribe_count": 0},
            }
            for n in (1, 2, 3)
        ]
        self.members: dict[str, list[dict[str, Any]]] = {a["id"]: [] for a in self.lists}
        self.api = DocumentedAPI(
            [
                Endpoint("GET", "/lists", self.get_lists),
                Endpoint(
                    "POST",
                    "/lists/{list_id}/members",
                    self.add_member,
                    required=("email_address", "status"),
                ),
            ],
            credentials=[basic("weir", API_KEY)],
            unauthorized=(401, _problem(401, "API Key Invalid", "Your API key may be invalid.")),
            invalid=lambda missing: (
                400,
                _problem(
                    400, "Invalid Resource", f"The resource submitted could not be validated: {missing[0]}"
                ),
            ),
            prefix="/3.0",
        )
        self.app = self.api.app

    def get_lists(self, call: Call) -> dict[str, Any]:
        count = int(str(call.query.get("count", "10")))
        offset = int(str(call.query.get("offset", "0")))
        return {"lists": self.lists[offset : offset + count], "total_items": len(self.lists)}

    def add_member(self, call: Call) -> Any:
        audience = next((a for a in self.lists if a["id"] == call.path_params["list_id"]), None)
        if audience is None:
            return Reply(
                404, _problem(404, "Resource Not Found", "The requested resource could not be found.")
            )
        body = call.json
        if body["status"] not in STATUSES:
            return Reply(
                400, _problem(400, "Invalid Resource", "The resource submitted could not be validated.")
            )
        address = str(body["email_address"]).lower()
        if any(m["email_address"] == address for m in self.members[audience["id"]]):
            detail = f"{address} is already a list member. Use PUT to insert or update list members."
            return Reply(400, _problem(400, "Member Exists", detail))
        member = {
            "id": f"{len(self.members[audience['id']]) + 1:032x}",
            "email_address": address,
            "status": body["status"],
            "list_id": audience["id"],
            "merge_fields": body.get("merge_fields", {}),
            "tags": [{"id": i + 1, "name": t} for i, t in enumerate(body.get("tags", []))],
            "vip": body.get("vip", False),
            "language": body.get("language", ""),
            "timestamp_signup": "2025-06-01T10:00:00+00:00",
        }
        self.members[audience["id"]].append(member)
        audience["stats"]["member_count"] += 1
        return member
