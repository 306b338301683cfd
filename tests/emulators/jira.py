"""Jira Cloud's REST API v3 through api.atlassian.com (``/ex/jira/{cloudId}/rest/api/3``) for the
catalog's actions: ``POST /issue`` (201 ``{id, key, self}``; the issue is then found by search),
``GET /search/jql`` (``project = KEY`` queries, ``nextPageToken`` paging) and ``POST
/issue/{key}/comment`` (an ADF body), behind an OAuth bearer token, with Jira's
``{"errorMessages": [...], "errors": {field: reason}}`` bodies
(https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/#status-codes)."""

from __future__ import annotations

import re
from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "eyJraWQiOiJXRUlSIn0.jira-emulator-access-token.0001"
CLOUD_ID = "1324a887-45db-1bf4-1e99-ef0ff456d421"
PROJECT = "WEIR"
ISSUE_TYPES = ("Task", "Bug", "Story")


def _errors(messages: list[str], errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"errorMessages": messages, "errors": errors or {}}


class JiraEmulator:
    def __init__(self) -> None:
        self.issues: list[dict[str, Any]] = []
        self.comments: list[dict[str, Any]] = []
        self.prefix = f"/ex/jira/{CLOUD_ID}/rest/api/3"
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/issue", self._create, status=201, required=("fields.summary",)),
                Endpoint("GET", "/search/jql", self._search, required_query=("jql",)),
                Endpoint("POST", "/issue/{key}/comment", self._comment, status=201, required=("body",)),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(401, {"code": 401, "message": "Unauthorized"}),
            invalid=lambda missing: (
                400,
                _errors([], {missing[0].removeprefix("fields."): "You must specify a summary of the issue."}),
            ),
            prefix=self.prefix,
        )
        self.app = self.api.app

    def _create(self, call: Call) -> dict[str, Any] | Reply:
        fields = call.json["fields"]
        problems = {}
        if fields.get("project", {}).get("key") != PROJECT:
            problems["project"] = "Specify a valid project ID or key"
        if fields.get("issuetype", {}).get("name") not in ISSUE_TYPES:
            problems["issuetype"] = "Specify an issue type"
        if problems:
            return Reply(400, _errors([], problems))
        number = len(self.issues) + 1
        issue_id = str(10000 + number)
        url = f"https://api.atlassian.com{self.prefix}/issue/{issue_id}"
        self.issues.append({"id": issue_id, "key": f"{PROJECT}-{number}", "self": url, "fields": fields})
        return {"id": issue_id, "key": f"{PROJECT}-{number}", "self": url}

    def _search(self, call: Call) -> dict[str, Any] | Reply:
        match = re.match(r"\s*project\s*=\s*([A-Z][A-Z0-9_]*)", str(call.query["jql"]))
        if match is None:
            return Reply(
                400,
                _errors(
                    [
                        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
                    ]
                ),
            )
        rows = [i for i in self.issues if i["key"].startswith(match.group(1) + "-")]
        wanted = str(call.query.get("fields", "summary")).split(",")
        size = int(str(call.query.get("maxResults", 50)))
        start = int(str(call.query.get("nextPageToken", "0")))
        page = rows[start : start + size]
        answer: dict[str, Any] = {
            "issues": [
                {
                    "id": i["id"],
                    "key": i["key"],
                    "self": i["self"],
                    "fields": {f: i["fields"].get(f) for f in wanted},
                }
                for i in page
            ],
            "isLast": start + size >= len(rows),
        }
        if not answer["isLast"]:
            answer["nextPageToken"] = str(start + size)
        return answer

    def _comment(self, call: Call) -> dict[str, Any] | Reply:
        key = call.path_params["key"]
        if not any(key in (i["key"], i["id"]) for i in self.issues):
            return Reply(404, _errors(["Issue does not exist or you do not have permission to see it."]))
        comment = {
            "id": str(20000 + len(self.comments) + 1),
            "author": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Ada"},
            "body": call.json["body"],
            "created": "2025-01-01T10:00:00.000+0000",
            "updated": "2025-01-01T10:00:00.000+0000",
        }
        self.comments.append(comment)
        return comment
