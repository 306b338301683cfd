"""ClickUp's API v2 for the catalog's actions: ``POST /list/{list_id}/task`` (the created task,
listed afterwards) and ``GET /list/{list_id}/task`` (100 a page, ``page`` from 0, closed tasks
only with ``include_closed``), behind the token in ``Authorization`` without a prefix, with
ClickUp's ``{"err": ..., "ECODE": ...}`` bodies (https://developer.clickup.com/reference/createtask)."""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, header

TOKEN = "pk_12345678_WEIREMULATORCLICKUPTOKEN0001"
LIST_ID = "900100200300"
PRIORITIES = {1: "urgent", 2: "high", 3: "normal", 4: "low"}


class ClickUpEmulator:
    def __init__(self) -> None:
        self.tasks: list[dict[str, Any]] = []
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/list/{list_id}/task", self._create, required=("name",)),
                Endpoint("GET", "/list/{list_id}/task", self._list),
            ],
            credentials=[header("authorization", TOKEN)],
            unauthorized=(401, {"err": "Token invalid", "ECODE": "OAUTH_025"}),
            invalid=lambda missing: (400, {"err": "Task name invalid", "ECODE": "INPUT_005"}),
            rate_limited={"err": "Rate limit reached", "ECODE": "APP_002"},
            prefix="/api/v2",
        )
        self.app = self.api.app

    def _create(self, call: Call) -> dict[str, Any] | Reply:
        if call.path_params["list_id"] != LIST_ID:
            return Reply(401, {"err": "Team not authorized", "ECODE": "OAUTH_027"})
        sent = call.json
        task_id = f"86a{len(self.tasks) + 1:05d}"
        status = sent.get("status", "to do")
        priority = sent.get("priority")
        task = {
            "id": task_id,
            "name": sent["name"],
            "description": sent.get("description", ""),
            "status": {
                "status": status,
                "type": "closed" if status == "complete" else "open",
                "orderindex": 0,
            },
            "priority": {"id": str(priority), "priority": PRIORITIES[priority]} if priority else None,
            "assignees": [{"id": a} for a in sent.get("assignees", [])],
            "tags": [{"name": t} for t in sent.get("tags", [])],
            "due_date": str(sent["due_date"]) if "due_date" in sent else None,
            "date_created": "1735725600000",
            "url": f"https://app.clickup.com/t/{task_id}",
            "list": {"id": LIST_ID},
        }
        self.tasks.append(task)
        return task

    def _list(self, call: Call) -> dict[str, Any] | Reply:
        if call.path_params["list_id"] != LIST_ID:
            return Reply(401, {"err": "Team not authorized", "ECODE": "OAUTH_027"})
        rows = self.tasks
        if call.query.get("include_closed") != "true":
            rows = [t for t in rows if t["status"]["type"] != "closed"]
        page = int(str(call.query.get("page", 0)))
        return {"tasks": rows[page * 100 : (page + 1) * 100], "last_page": (page + 1) * 100 >= len(rows)}
