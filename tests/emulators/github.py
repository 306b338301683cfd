"""GitHub's REST API as Weir uses it: ``GET /user``, ``GET /user/repos``, a repository's issues
(``state``, ``labels``, ``sort``, ``direction``, ``since``) and pulls, paged with
``per_page``/``page`` and the ``Link`` header; creating issues (labels made on first use,
assignees checked) and issue comments; GitHub's error bodies (422 "Validation Failed" with its
``errors`` list, 404, 410 for a repository with issues disabled) and its primary rate limit (403
with ``x-ratelimit-remaining: 0``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token

TOKEN = "ghp_WeirEmulatorToken000000000000000001"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
DOCS = "https://docs.github.com/rest"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubEmulator:
    def __init__(self, repositories: int = 1, issues: int = 0, pulls: int = 0) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.clock = EPOCH
        self.repos: list[dict[str, Any]] = []
        self.issues: dict[str, list[dict[str, Any]]] = {}
        self.next_id = 1000
        self.assignable = {"octocat", "hubot"}  # the repositories' collaborators
        self.issues_disabled: set[str] = set()
        self.comments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for n in range(1, repositories + 1):
            self.add_repository(f"octo-org/project-{n:03d}")
        for repo in self.repos:
            for _ in range(issues):
                self.add_issue(repo["full_name"])
            for _ in range(pulls):
                self.add_issue(repo["full_name"], pull=True)
        self.app = Starlette(
            routes=[
                Route("/user", self.user),
                Route("/user/repos", self.user_repos),
                Route("/repos/{owner}/{repo}/issues", self.repo_issues),
                Route("/repos/{owner}/{repo}/issues", self.create_issue, methods=["POST"]),
                Route(
                    "/repos/{owner}/{repo}/issues/{number:int}/comments",
                    self.create_comment,
                    methods=["POST"],
                ),
                Route("/repos/{owner}/{repo}/pulls", self.repo_pulls),
            ]
        )

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def add_repository(self, full_name: str) -> dict[str, Any]:
        owner, name = full_name.split("/")
        moment = _iso(self._tick())
        self.next_id += 1
        repo = {
            "id": self.next_id,
            "node_id": f"R_{self.next_id}",
            "name": name,
            "full_name": full_name,
            "private": False,
            "owner": {"login": owner, "id": 1},
            "html_url": f"https://github.com/{full_name}",
            "description": None,
            "fork": False,
            "archived": False,
            "default_branch": "main",
            "language": "Python",
            "stargazers_count": 3,
            "forks_count": 1,
            "open_issues_count": 0,
            "created_at": moment,
            "updated_at": moment,
            "pushed_at": moment,
        }
        self.repos.append(repo)
        self.issues[full_name] = []
        return repo

    def add_issue(self, full_name: str, pull: bool = False, **fields: Any) -> dict[str, Any]:
        moment = _iso(self._tick())
        self.next_id += 1
        number = len(self.issues[full_name]) + 1
        issue: dict[str, Any] = {
            "id": self.next_id,
            "number": number,
            "title": f"Item {number}",
            "state": "open",
            "user": {"login": "octocat", "id": 1},
            "labels": [{"id": 1, "name": "bug"}],
            "comments": 0,
            "body": "Steps to reproduce...",
            "html_url": f"https://github.com/{full_name}/issues/{number}",
            "created_at": moment,
            "updated_at": moment,
            "closed_at": None,
        }
        if pull:
            issue["pull_request"] = {"url": f"https://api.github.com/repos/{full_name}/pulls/{number}"}
            issue.update(draft=False, base={"ref": "main"}, head={"ref": f"topic-{number}"}, merged_at=None)
        issue.update(fields)
        self.issues[full_name].append(issue)
        return issue

    def touch(self, full_name: str, number: int, **fields: Any) -> dict[str, Any]:
        issue = self.issues[full_name][number - 1]
        issue.update(updated_at=_iso(self._tick()), **fields)
        return issue

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        token = bearer_token(request)
        if token is None and request.headers.get("authorization", "").lower().startswith("token "):
            token = request.headers["authorization"][6:].strip()
        if token not in self.controls.tokens:
            # GitHub answers an expired token exactly like a wrong one.
            return JSONResponse(
                {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, status_code=401
            )
        if self.controls.rate_limited:
            self.controls.rate_limited -= 1
            reset = int(time.time()) + self.controls.retry_after + 1  # whole seconds
            return JSONResponse(
                {
                    "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub "
                    "Support for help, please include the request ID.",
                    "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
                },
                status_code=403,
                headers={
                    "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-used": "5000",
                    "x-ratelimit-reset": str(reset),
                    "x-ratelimit-resource": "core",
                },
            )
        return self.controls.chaos({})  # type: ignore[return-value]

    def _page(self, request: Request, items: list[dict[str, Any]]) -> JSONResponse:
        per_page = min(int(request.query_params.get("per_page", 30)), 100)
        page = int(request.query_params.get("page", 1))
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []
        for rel, number in (("prev", page - 1), ("next", page + 1), ("first", 1), ("last", last)):
            if 1 <= number <= last and (rel in ("first", "last") or number != page):
                url = request.url.include_query_params(page=number)
                links.append(f'<{url}>; rel="{rel}"')
        body = items[(page - 1) * per_page : page * per_page]
        return JSONResponse(body, headers={"Link": ", ".join(links)} if last > 1 else {})

    async def user(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {
                "login": "octocat",
                "id": 1,
                "node_id": "MDQ6VXNlcjE=",
                "type": "User",
                "name": "The Octocat",
                "company": "@github",
            }
        )

    async def user_repos(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return self._page(request, sorted(self.repos, key=lambda r: r["full_name"]))

    def _repo(self, request: Request) -> str | None:
        name = f"{request.path_params['owner']}/{request.path_params['repo']}"
        return name if name in self.issues else None

    async def repo_issues(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        name = self._repo(request)
        if name is None:
            return JSONResponse(
                {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, status_code=404
            )
        query = request.query_params
        items = [
            i
            for i in self.issues[name]
            if query.get("state", "open") == "all" or i["state"] == query.get("state", "open")
        ]
        wanted_labels = {label for label in query.get("labels", "").split(",") if label}
        if wanted_labels:  # issues that have every one of them
            items = [i for i in items if wanted_labels <= {label["name"] for label in i["labels"]}]
        since = query.get("since")
        if since:
            items = [i for i in items if i["updated_at"] >= since]  # GitHub's since is inclusive
        key = "updated_at" if query.get("sort") == "updated" else "created_at"
        items.sort(key=lambda i: (i[key], i["id"]), reverse=query.get("direction", "desc") == "desc")
        return self._page(request, items)

    async def repo_pulls(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        name = self._repo(request)
        if name is None:
            return JSONResponse(
                {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, status_code=404
            )
        query = request.query_params
        pulls = [
            {k: v for k, v in i.items() if k != "pull_request"}
            for i in self.issues[name]
            if "pull_request" in i
        ]
        pulls = [
            p
            for p in pulls
            if query.get("state", "open") == "all" or p["state"] == query.get("state", "open")
        ]
        key = "updated_at" if query.get("sort") == "updated" else "created_at"
        pulls.sort(key=lambda p: (p[key], p["id"]), reverse=query.get("direction", "desc") == "desc")
        return self._page(request, pulls)

    @staticmethod
    def _not_found() -> JSONResponse:
        return JSONResponse(
            {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, status_code=404
        )

    @staticmethod
    def _invalid(errors: list[dict[str, Any]], anchor: str) -> JSONResponse:
        return JSONResponse(
            {
                "message": "Validation Failed",
                "errors": errors,
                "documentation_url": f"{DOCS}/issues/{anchor}",
                "status": "422",
            },
            status_code=422,
        )

    async def create_issue(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        name = self._repo(request)
        if name is None:
            return self._not_found()
        if name in self.issues_disabled:
            return JSONResponse(
                {"message": "Issues are disabled for this repo", "documentation_url": DOCS, "status": "410"},
                status_code=410,
            )
        body = await request.json()
        if not isinstance(body, dict):
            return JSONResponse(
                {"message": "Problems parsing JSON", "documentation_url": DOCS, "status": "400"},
                status_code=400,
            )
        title = body.get("title")
        if title is None or title == "":
            return self._invalid(
                [{"resource": "Issue", "code": "missing_field", "field": "title"}], "issues#create-an-issue"
            )
        for login in body.get("assignees") or []:
            if login not in self.assignable:
                return self._invalid(
                    [{"value": login, "resource": "Issue", "field": "assignees", "code": "invalid"}],
                    "issues#create-an-issue",
                )
        issue = self.add_issue(
            name,
            title=str(title),
            body=body.get("body"),
            labels=[{"id": 100 + n, "name": label} for n, label in enumerate(body.get("labels") or [])],
            assignees=[{"login": login, "id": 2} for login in body.get("assignees") or []],
        )
        url = f"{request.base_url}repos/{name}/issues/{issue['number']}"
        return JSONResponse(issue, status_code=201, headers={"Location": url})

    async def create_comment(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        name = self._repo(request)
        number = request.path_params["number"]
        if name is None or not 1 <= number <= len(self.issues[name]):
            return self._not_found()
        body = await request.json()
        text = body.get("body") if isinstance(body, dict) else None
        if not text:
            return self._invalid(
                [{"resource": "IssueComment", "code": "missing_field", "field": "body"}],
                "comments#create-an-issue-comment",
            )
        moment = _iso(self._tick())
        self.next_id += 1
        comment = {
            "id": self.next_id,
            "node_id": f"IC_{self.next_id}",
            "html_url": f"https://github.com/{name}/issues/{number}#issuecomment-{self.next_id}",
            "issue_url": f"https://api.github.com/repos/{name}/issues/{number}",
            "body": str(text),
            "user": {"login": "octocat", "id": 1},
            "author_association": "OWNER",
            "created_at": moment,
            "updated_at": moment,
        }
        self.comments.setdefault((name, number), []).append(comment)
        self.touch(name, number, comments=self.issues[name][number - 1]["comments"] + 1)
        return JSONResponse(comment, status_code=201)
