"""GitLab's REST API v4 as a catalog definition uses it, served under ``/api/v4``.

``GET /user``; ``GET /projects`` with keyset pagination (``pagination=keyset``, ``order_by=id``,
``id_after`` in the next link); ``GET /issues`` and ``GET /merge_requests`` with offset pagination
(``page``/``per_page``), ``order_by=updated_at``, ``sort`` and the inclusive ``updated_after``.
Every list sends the next page as an RFC 8288 ``Link`` header (and the ``x-next-page`` family for
offset pages), as https://docs.gitlab.com/api/rest/#pagination describes. Errors are GitLab's
``{"message": ...}`` bodies; a rate limit is a 429 with ``RateLimit-*`` and ``Retry-After``.

For the catalog's actions also, under ``/projects/{id}`` (a numeric id or the URL-encoded full
path): ``POST .../issues`` (201; the issue is listed afterwards; no title is GitLab's
``{"error": "title is missing"}``), ``GET .../issues`` (newest first, ``state``/``search``
filters) and ``POST .../issues/{iid}/notes``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from tests.emulators.common import Controls, bearer_token
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer, header

TOKEN = "glpat-WeirEmulatorToken0000001"
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
MAX_PER_PAGE = 100


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class GitLabEmulator:
    def __init__(self, projects: int = 1, issues: int = 0, merge_requests: int = 0) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.clock = EPOCH
        self.next_id = 500
        self.projects: list[dict[str, Any]] = []
        self.issues: list[dict[str, Any]] = []
        self.merge_requests: list[dict[str, Any]] = []
        for n in range(1, projects + 1):
            self.add_project(f"group/project-{n:03d}")
        for _ in range(issues):
            self.add_issue()
        for _ in range(merge_requests):
            self.add_merge_request()
        self.notes: list[dict[str, Any]] = []
        # {id:path}: the engine sends group%2Fproject, which arrives decoded as group/project.
        self.actions = DocumentedAPI(
            [
                Endpoint(
                    "POST", "/projects/{id:path}/issues", self._create_issue, status=201, required=("title",)
                ),
                Endpoint("GET", "/projects/{id:path}/issues", self._project_issues),
                Endpoint(
                    "POST",
                    "/projects/{id:path}/issues/{iid:int}/notes",
                    self._create_note,
                    status=201,
                    required=("body",),
                ),
            ],
            credentials=[bearer(TOKEN), header("private-token", TOKEN)],
            unauthorized=(401, {"message": "401 Unauthorized"}),
            invalid=lambda missing: (400, {"error": f"{missing[0]} is missing"}),
            rate_limited={"message": "Retry later"},
            controls=self.controls,
        )
        api = [
            Route("/user", self.user),
            Route("/projects", self.list_projects),
            Route("/issues", self.list_issues),
            Route("/merge_requests", self.list_merge_requests),
            *self.actions.routes(),
        ]
        self.app = Starlette(routes=[Mount("/api/v4", routes=api)])

    def _tick(self) -> str:
        self.clock += timedelta(seconds=1)
        return _iso(self.clock)

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_project(self, path: str) -> dict[str, Any]:
        moment = self._tick()
        project = {
            "id": self._id(),
            "name": path.rsplit("/", 1)[-1],
            "path_with_namespace": path,
            "description": None,
            "visibility": "private",
            "default_branch": "main",
            "web_url": f"https://gitlab.com/{path}",
            "archived": False,
            "star_count": 0,
            "forks_count": 0,
            "open_issues_count": 0,
            "namespace": {"id": 1, "name": "group", "path": "group", "kind": "group"},
            "created_at": moment,
            "last_activity_at": moment,
        }
        self.projects.append(project)
        return project

    def _item(self, kind: str, number: int, **fields: Any) -> dict[str, Any]:
        moment = self._tick()
        project = self.projects[(number - 1) % len(self.projects)]
        item: dict[str, Any] = {
            "id": self._id(),
            "iid": number,
            "project_id": project["id"],
            "title": f"{kind} {number}",
            "description": "Steps to reproduce...",
            "state": "opened",
            "labels": ["bug"],
            "author": {"id": 7, "username": "ada", "name": "Ada"},
            "web_url": f"{project['web_url']}/-/{kind}/{number}",
            "created_at": moment,
            "updated_at": moment,
            "closed_at": None,
            # Fields the catalog's schema does not list, as GitLab sends many more than reports use.
            "user_notes_count": 0,
            "references": {"short": f"#{number}", "full": f"{project['path_with_namespace']}#{number}"},
        }
        item.update(fields)
        return item

    def add_issue(self, **fields: Any) -> dict[str, Any]:
        issue = self._item("issues", len(self.issues) + 1, assignees=[], confidential=False, due_date=None)
        issue.update(fields)
        self.issues.append(issue)
        return issue

    def add_merge_request(self, **fields: Any) -> dict[str, Any]:
        number = len(self.merge_requests) + 1
        request = self._item(
            "merge_requests",
            number,
            draft=False,
            source_branch=f"topic-{number}",
            target_branch="main",
            merged_at=None,
        )
        request.update(fields)
        self.merge_requests.append(request)
        return request

    def touch_issue(self, iid: int, **fields: Any) -> dict[str, Any]:
        issue = self.issues[iid - 1]
        issue.update(updated_at=self._tick(), **fields)
        return issue

    def _project(self, call: Call) -> dict[str, Any] | None:
        wanted = call.path_params["id"]
        return next((p for p in self.projects if wanted in (str(p["id"]), p["path_with_namespace"])), None)

    def _create_issue(self, call: Call) -> dict[str, Any] | Reply:
        project = self._project(call)
        if project is None:
            return Reply(404, {"message": "404 Project Not Found"})
        sent = dict(call.json)
        labels = [label for label in sent.pop("labels", "").split(",") if label]
        assignees = [{"id": n, "username": f"user{n}"} for n in sent.pop("assignee_ids", [])]
        iid = 1 + max((i["iid"] for i in self.issues if i["project_id"] == project["id"]), default=0)
        issue = self._item(
            "issues", iid, labels=labels, assignees=assignees, confidential=False, due_date=None
        )
        issue.update(project_id=project["id"], web_url=f"{project['web_url']}/-/issues/{iid}", **sent)
        self.issues.append(issue)
        return issue

    def _project_issues(self, call: Call) -> list[dict[str, Any]] | Reply:
        project = self._project(call)
        if project is None:
            return Reply(404, {"message": "404 Project Not Found"})
        rows = [i for i in self.issues if i["project_id"] == project["id"]]
        state = call.query.get("state", "all")
        if state != "all":
            rows = [i for i in rows if i["state"] == state]
        if "search" in call.query:
            rows = [i for i in rows if str(call.query["search"]).lower() in i["title"].lower()]
        per_page = int(str(call.query.get("per_page", "20")))
        return sorted(rows, key=lambda i: i["created_at"], reverse=True)[:per_page]

    def _create_note(self, call: Call) -> dict[str, Any] | Reply:
        project = self._project(call)
        iid = call.path_params["iid"]
        issue = next(
            (i for i in self.issues if project and i["project_id"] == project["id"] and i["iid"] == iid), None
        )
        if issue is None:
            return Reply(404, {"message": "404 Not found"})
        note = {
            "id": self._id(),
            "body": call.json["body"],
            "author": {"id": 7, "username": "ada", "name": "Ada"},
            "created_at": self._tick(),
            "noteable_type": "Issue",
            "noteable_id": issue["id"],
            "noteable_iid": iid,
            "system": False,
        }
        issue["user_notes_count"] += 1
        self.notes.append(note)
        return note

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        token = bearer_token(request) or request.headers.get("private-token")
        if token not in self.controls.tokens:
            return JSONResponse({"message": "401 Unauthorized"}, status_code=401)
        reset = str(int(time.time()) + self.controls.retry_after)
        return self.controls.chaos(  # type: ignore[return-value]
            {"message": "Retry later"},
            headers={"RateLimit-Limit": "2000", "RateLimit-Remaining": "0", "RateLimit-Reset": reset},
        )

    def _per_page(self, request: Request) -> int | JSONResponse:
        raw = request.query_params.get("per_page", "20")
        if not raw.isdigit() or int(raw) < 1:
            return JSONResponse({"error": "per_page is invalid"}, status_code=400)
        return min(int(raw), MAX_PER_PAGE)

    async def user(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse({"id": 7, "username": "ada", "name": "Ada", "state": "active"})

    async def list_projects(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        per_page = self._per_page(request)
        if isinstance(per_page, JSONResponse):
            return per_page
        query = request.query_params
        if query.get("pagination") != "keyset":
            return self._offset_page(request, self.projects, per_page)
        if query.get("order_by") != "id":
            return JSONResponse(
                {"error": "Keyset pagination is not yet available for this type of request"}, status_code=405
            )
        rows = sorted(self.projects, key=lambda p: p["id"])
        if "id_after" in query:
            rows = [p for p in rows if p["id"] > int(query["id_after"])]
        page = rows[:per_page]
        headers = {}
        if len(rows) > per_page:
            following = request.url.include_query_params(id_after=page[-1]["id"])
            headers["Link"] = f'<{following}>; rel="next"'
        return JSONResponse(page, headers=headers)

    def _changes(self, request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]] | JSONResponse:
        query = request.query_params
        rows = list(items)
        if "updated_after" in query:
            try:
                after = _parse(query["updated_after"])
            except ValueError:
                return JSONResponse({"error": "updated_after is invalid"}, status_code=400)
            rows = [r for r in rows if _parse(r["updated_at"]) >= after]  # "on or after"
        key = query.get("order_by", "created_at")
        if key not in ("created_at", "updated_at"):
            return JSONResponse({"error": "order_by does not have a valid value"}, status_code=400)
        return sorted(rows, key=lambda r: (r[key], r["id"]), reverse=query.get("sort", "desc") == "desc")

    async def list_issues(self, request: Request) -> JSONResponse:
        return await self._list_changes(request, self.issues)

    async def list_merge_requests(self, request: Request) -> JSONResponse:
        return await self._list_changes(request, self.merge_requests)

    async def _list_changes(self, request: Request, items: list[dict[str, Any]]) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        per_page = self._per_page(request)
        if isinstance(per_page, JSONResponse):
            return per_page
        rows = self._changes(request, items)
        if isinstance(rows, JSONResponse):
            return rows
        return self._offset_page(request, rows, per_page)

    def _offset_page(self, request: Request, rows: list[dict[str, Any]], per_page: int) -> JSONResponse:
        raw = request.query_params.get("page", "1")
        page = int(raw) if raw.isdigit() and int(raw) > 0 else 1
        last = max((len(rows) + per_page - 1) // per_page, 1)
        links = [f'<{request.url.include_query_params(page=1, per_page=per_page)}>; rel="first"']
        links.append(f'<{request.url.include_query_params(page=last, per_page=per_page)}>; rel="last"')
        headers = {"x-page": str(page), "x-per-page": str(per_page), "x-total": str(len(rows))}
        headers["x-next-page"] = str(page + 1) if page < last else ""
        if page < last:
            links.insert(
                0, f'<{request.url.include_query_params(page=page + 1, per_page=per_page)}>; rel="next"'
            )
        headers["Link"] = ", ".join(links)
        return JSONResponse(rows[(page - 1) * per_page : page * per_page], headers=headers)
