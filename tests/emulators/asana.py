"""Asana's API (``/api/1.0``) for the catalog's actions: ``POST /tasks`` (``{"data": {...}}``
in and out, 201; a workspace is required) and ``GET /projects?workspace=`` (``limit``/``offset``
paging), behind an OAuth bearer token, with Asana's ``{"errors": [{"message": ...}]}`` bodies
(https://developers.asana.com/reference/createtask, https://developers.asana.com/reference/getprojects)."""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "2/1200000000000001/1200000000000002:WeirEmulatorAsanaToken"
WORKSPACE = "1200000000000010"
PROJECTS = [
    {"gid": "1200000000000101", "name": "Launch", "resource_type": "project", "archived": False},
    {"gid": "1200000000000102", "name": "Hiring", "resource_type": "project", "archived": False},
    {"gid": "1200000000000103", "name": "Old site", "resource_type": "project", "archived": True},
]


def _errors(message: str) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": message,
                "help": "For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors",
            }
        ]
    }


class AsanaEmulator:
    def __init__(self) -> None:
        self.tasks: list[dict[str, Any]] = []
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/tasks", self._create_task, status=201, required=("data.workspace",)),
                Endpoint("GET", "/projects", self._projects, required_query=("workspace",)),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(401, _errors("Not Authorized")),
            invalid=lambda missing: (
                400,
                _errors(f"{missing[0].removeprefix('data.')}: Missing input"),
            ),
            rate_limited=_errors("You have made too many requests recently. Please, be chill."),
            prefix="/api/1.0",
        )
        self.app = self.api.app

    def _create_task(self, call: Call) -> dict[str, Any] | Reply:
        sent = call.json["data"]
        if sent["workspace"] != WORKSPACE:
            return Reply(404, _errors("workspace: Unknown object: " + sent["workspace"]))
        unknown = [p for p in sent.get("projects", []) if p not in {q["gid"] for q in PROJECTS}]
        if unknown:
            return Reply(400, _errors(f"projects: [0]: Not a recognized ID: {unknown[0]}"))
        gid = str(1300000000000000 + len(self.tasks) + 1)
        task = {
            "gid": gid,
            "resource_type": "task",
            "name": sent.get("name", ""),
            "notes": sent.get("notes", ""),
            "completed": False,
            "due_on": sent.get("due_on"),
            "assignee": {"gid": "1200000000000002", "resource_type": "user"} if "assignee" in sent else None,
            "projects": [{"gid": p, "resource_type": "project"} for p in sent.get("projects", [])],
            "workspace": {"gid": WORKSPACE, "resource_type": "workspace"},
            "permalink_url": f"https://app.asana.com/0/0/{gid}",
        }
        self.tasks.append(task)
        return {"data": task}

    def _projects(self, call: Call) -> dict[str, Any]:
        rows = PROJECTS if call.query["workspace"] == WORKSPACE else []
        if "archived" in call.query:
            rows = [p for p in rows if str(p["archived"]).lower() == call.query["archived"]]
        return {
            "data": [{k: p[k] for k in ("gid", "name", "resource_type")} for p in rows],
            "next_page": None,
        }
