"""Zoom's API (v2) as the catalog entry's actions use it, as documented endpoints
(``tests/emulators/documented.py``): an OAuth bearer token; ``POST /v2/users/me/meetings``
schedules a meeting (201, with ``join_url`` and ``start_url``) that ``GET /v2/users/me/meetings``
then lists (``type``, ``page_size`` up to 300, ``next_page_token``). Errors are Zoom's
``{"code", "message"}``: 124 for an invalid token, 300 for a bad field.
"""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "zoom-emulated-access-token-0000000001"
KINDS = ("scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings")


class ZoomEmulator:
    def __init__(self) -> None:
        self.meetings: list[dict[str, Any]] = []
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/users/me/meetings", self.create, status=201, required=("topic",)),
                Endpoint("GET", "/users/me/meetings", self.list_meetings),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(401, {"code": 124, "message": "Invalid access token."}),
            invalid=lambda missing: (
                400,
                {"code": 300, "message": f"Validation Failed. {missing[0]} is required."},
            ),
            prefix="/v2",
        )
        self.app = self.api.app

    def create(self, call: Call) -> Any:
        body = call.json
        if body.get("type", 2) == 2 and not body.get("start_time"):
            return Reply(400, {"code": 300, "message": "start_time is required for a scheduled meeting."})
        number = 85746065000 + len(self.meetings) + 1
        meeting = {
            "id": number,
            "uuid": f"weir{number}==",
            "host_id": "weir-host",
            "topic": body["topic"],
            "type": body.get("type", 2),
            "start_time": body.get("start_time"),
            "duration": body.get("duration", 60),
            "timezone": body.get("timezone", "UTC"),
            "agenda": body.get("agenda", ""),
            "created_at": "2025-06-01T10:00:00Z",
            "join_url": f"https://us05web.zoom.us/j/{number}",
            "start_url": f"https://us05web.zoom.us/s/{number}?zak=emulated",
            "password": body.get("password", ""),
            "settings": body.get("settings", {}),
        }
        self.meetings.append(meeting)
        return meeting

    def list_meetings(self, call: Call) -> Any:
        kind = call.query.get("type", "scheduled")
        if kind not in KINDS:
            return Reply(400, {"code": 300, "message": "Invalid field: type."})
        size = int(str(call.query.get("page_size", "30")))
        start = int(str(call.query.get("next_page_token") or "0"))
        page = self.meetings[start : start + size]
        following = str(start + size) if start + size < len(self.meetings) else ""
        listed = [
            {
                k: m[k]
                for k in ("uuid", "id", "topic", "type", "start_time", "duration", "timezone", "join_url")
            }
            for m in page
        ]
        return {
            "page_size": size,
            "total_records": len(self.meetings),
            "next_page_token": following,
            "meetings": listed,
        }
