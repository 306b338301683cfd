"""Mixpanel's Query API as the catalog entry's actions use it, as documented endpoints
(``tests/emulators/documented.py``), under ``/api/query``: HTTP Basic with a service account, and
``project_id`` on every call (one the account may read). ``GET /insights`` answers a saved
report, ``POST /cohorts/list`` the cohorts (a JSON list), ``POST /engage`` the profiles matching a
form-encoded ``where`` (``properties["$email"] == "..."`` only) or ``distinct_id``. Errors are
Mixpanel's ``{"error": "...", "status": "error"}``.
"""

from __future__ import annotations

import re
from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, basic

USERNAME = "weir-sa.0a1b2c.mp-service-account"
SECRET = "WeirEmulatedServiceAccountSecret01"
PROJECT_ID = 3141592
WHERE = re.compile(r'^properties\["(?P<name>[$\w]+)"\]\s*==\s*"(?P<value>[^"]*)"$')


def _error(status: int, message: str) -> Reply:
    return Reply(status, {"error": message, "status": "error"})


class MixpanelEmulator:
    def __init__(self) -> None:
        self.profiles = [
            {
                "$distinct_id": f"user-{n}",
                "$properties": {
                    "$email": f"user{n}@example.com",
                    "$name": f"User {n}",
                    "plan": "pro" if n % 2 else "free",
                },
            }
            for n in range(1, 4)
        ]
        self.cohorts = [
            {
                "id": 1001,
                "name": "Power users",
                "count": 42,
                "description": "Active 5 of 7 days",
                "created": "2025-04-01 10:00:00",
                "project_id": PROJECT_ID,
                "is_visible": 1,
            },
        ]
        self.api = DocumentedAPI(
            [
                Endpoint("GET", "/insights", self.insights, required_query=("project_id", "bookmark_id")),
                Endpoint("POST", "/cohorts/list", self.list_cohorts, required_query=("project_id",)),
                Endpoint("POST", "/engage", self.engage, required_query=("project_id",)),
            ],
            credentials=[basic(USERNAME, SECRET)],
            unauthorized=(401, {"error": "Invalid service account credentials", "status": "error"}),
            invalid=lambda missing: (400, {"error": f"{missing[0]} is required", "status": "error"}),
            prefix="/api/query",
        )
        self.app = self.api.app

    def _project(self, call: Call) -> Reply | None:
        if call.query.get("project_id") == str(PROJECT_ID):
            return None
        return _error(403, "You do not have permission to view this project")

    def insights(self, call: Call) -> Any:
        refused = self._project(call)
        if refused is not None:
            return refused
        if call.query["bookmark_id"] != "777":
            return _error(400, "bookmark not found")
        return {
            "computed_at": "2025-06-01T10:00:00.000000+00:00",
            "date_range": {"from_date": "2025-05-01T00:00:00+00:00", "to_date": "2025-05-31T00:00:00+00:00"},
            "headers": ["$event"],
            "series": {"Sign up": {"2025-05-01T00:00:00+00:00": 12, "2025-05-02T00:00:00+00:00": 7}},
        }

    def list_cohorts(self, call: Call) -> Any:
        return self._project(call) or self.cohorts

    def engage(self, call: Call) -> Any:
        refused = self._project(call)
        if refused is not None:
            return refused
        form = call.form or {}
        rows = self.profiles
        if form.get("distinct_id"):
            rows = [p for p in rows if p["$distinct_id"] == form["distinct_id"]]
        if form.get("where"):
            match = WHERE.match(form["where"])
            if match is None:
                return _error(400, "Unable to parse where expression")
            rows = [p for p in rows if str(p["$properties"].get(match["name"])) == match["value"]]
        return {
            "page": int(form.get("page", 0)),
            "page_size": 1000,
            "session_id": "1234567890-EXAMPL",
            "status": "ok",
            "total": len(rows),
            "results": rows,
        }
