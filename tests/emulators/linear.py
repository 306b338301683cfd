"""Linear's GraphQL API as a catalog definition uses it: ``POST /graphql``.

A real GraphQL executor (graphql-core) over the part of Linear's schema the definition asks for:
``viewer``, and the ``issues``, ``projects`` and ``teams`` connections with ``first``/``after``
and ``pageInfo { hasNextPage endCursor }`` (https://linear.app/developers/pagination). So a query
in the catalog that names a field Linear does not have fails here as it would there. Requests
carry ``Authorization: Bearer <OAuth token>``; a rate limit is a 429 with Linear's
``X-RateLimit-Requests-*`` headers.

The ``issueCreate`` mutation (the create_issue action) adds an issue to a known team (an unknown
``teamId`` is Linear's "Entity not found" error), which the ``issues`` list then shows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import build_schema, graphql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token

TOKEN = "lin_oauth_WeirEmulatorToken0000001"
EPOCH = datetime(2025, 2, 1, tzinfo=UTC)
MAX_FIRST = 250  # Linear caps first/last at 250

SCHEMA = build_schema(
    """
    scalar DateTime
    scalar TimelessDate
    enum PaginationOrderBy { createdAt updatedAt }

    type PageInfo {
      hasNextPage: Boolean!
      hasPreviousPage: Boolean!
      startCursor: String
      endCursor: String
    }
    type User { id: ID! name: String! email: String! }
    type WorkflowState { id: ID! name: String! type: String! }
    type Team {
      id: ID! key: String! name: String! description: String private: Boolean!
      createdAt: DateTime! updatedAt: DateTime!
    }
    type Project {
      id: ID! name: String! description: String! state: String! progress: Float! url: String!
      startDate: TimelessDate targetDate: TimelessDate createdAt: DateTime! updatedAt: DateTime!
      completedAt: DateTime canceledAt: DateTime lead: User
    }
    type Issue {
      id: ID! identifier: String! number: Float! title: String! description: String
      priority: Float! estimate: Float url: String! createdAt: DateTime! updatedAt: DateTime!
      completedAt: DateTime canceledAt: DateTime archivedAt: DateTime dueDate: TimelessDate
      state: WorkflowState! team: Team! assignee: User creator: User project: Project
    }
    type IssueConnection { nodes: [Issue!]! pageInfo: PageInfo! }
    type ProjectConnection { nodes: [Project!]! pageInfo: PageInfo! }
    type TeamConnection { nodes: [Team!]! pageInfo: PageInfo! }

    input IssueCreateInput {
      teamId: String! title: String description: String priority: Int assigneeId: String
      labelIds: [String!] dueDate: TimelessDate
    }
    type IssuePayload { success: Boolean! issue: Issue }
    type Mutation { issueCreate(input: IssueCreateInput!): IssuePayload! }

    type Query {
      viewer: User!
      issues(first: Int, after: String, orderBy: PaginationOrderBy, includeArchived: Boolean): IssueConnection!
      projects(first: Int, after: String, orderBy: PaginationOrderBy, includeArchived: Boolean): ProjectConnection!
      teams(first: Int, after: String, orderBy: PaginationOrderBy, includeArchived: Boolean): TeamConnection!
    }
    """
)

VIEWER = {"id": "user-ada", "name": "Ada Lovelace", "email": "ada@example.com"}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class LinearEmulator:
    def __init__(self, issues: int = 0, projects: int = 0) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.clock = EPOCH
        self.teams = [self._team("ENG", "Engineering")]
        self.data: dict[str, list[dict[str, Any]]] = {"issues": [], "projects": [], "teams": self.teams}
        for _ in range(projects):
            self.add_project()
        for _ in range(issues):
            self.add_issue()
        self.queries: list[dict[str, Any]] = []  # the variables of every list query, in order
        self.app = Starlette(routes=[Route("/graphql", self.graphql, methods=["POST"])])

    def _tick(self) -> str:
        self.clock += timedelta(seconds=1)
        return _iso(self.clock)

    def _team(self, key: str, name: str) -> dict[str, Any]:
        moment = self._tick()
        return {
            "id": f"team-{key.lower()}",
            "key": key,
            "name": name,
            "description": None,
            "private": False,
            "createdAt": moment,
            "updatedAt": moment,
        }

    def add_project(self, **fields: Any) -> dict[str, Any]:
        n = len(self.data["projects"]) + 1
        moment = self._tick()
        project = {
            "id": f"project-{n:04d}",
            "name": f"Project {n}",
            "description": "",
            "state": "started",
            "progress": 0.25,
            "url": f"https://linear.app/acme/project/project-{n}",
            "startDate": "2025-02-01",
            "targetDate": None,
            "createdAt": moment,
            "updatedAt": moment,
            "completedAt": None,
            "canceledAt": None,
            "lead": VIEWER,
        }
        project.update(fields)
        self.data["projects"].append(project)
        return project

    def add_issue(self, **fields: Any) -> dict[str, Any]:
        n = len(self.data["issues"]) + 1
        moment = self._tick()
        issue = {
            "id": f"issue-{n:05d}",
            "identifier": f"ENG-{n}",
            "number": float(n),
            "title": f"Issue {n}",
            "description": "Steps to reproduce...",
            "priority": 2.0,
            "estimate": None,
            "url": f"https://linear.app/acme/issue/ENG-{n}",
            "createdAt": moment,
            "updatedAt": moment,
            "completedAt": None,
            "canceledAt": None,
            "archivedAt": None,
            "dueDate": None,
            "state": {"id": "state-todo", "name": "Todo", "type": "unstarted"},
            "team": self.teams[0],
            "assignee": VIEWER if n % 2 else None,
            "creator": VIEWER,
            "project": self.data["projects"][0] if self.data["projects"] else None,
        }
        issue.update(fields)
        self.data["issues"].append(issue)
        return issue

    def _issue_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        team = next((t for t in self.teams if t["id"] == input["teamId"]), None)
        if team is None:
            raise ValueError("Entity not found: Team - Could not find referenced Team.")
        if not input.get("title"):
            raise ValueError("Argument Validation Error: title should not be empty")
        fields: dict[str, Any] = {"team": team, "title": input["title"], "creator": VIEWER, "assignee": None}
        if "description" in input:
            fields["description"] = input["description"]
        if "priority" in input:
            fields["priority"] = float(input["priority"])
        if "dueDate" in input:
            fields["dueDate"] = input["dueDate"]
        if input.get("assigneeId") == VIEWER["id"]:
            fields["assignee"] = VIEWER
        issue = self.add_issue(**fields)
        return {"success": True, "issue": issue}

    def _connection(self, name: str) -> Any:
        def resolve(
            info: Any, first: int | None = None, after: str | None = None, **_: Any
        ) -> dict[str, Any]:
            self.queries.append({"list": name, "first": first, "after": after})
            size = 50 if first is None else first
            if not 1 <= size <= MAX_FIRST:
                raise ValueError(f"first must be between 1 and {MAX_FIRST}")
            rows = self.data[name]
            start = 0
            if after is not None:
                ids = [row["id"] for row in rows]
                if after not in ids:
                    raise ValueError("Invalid cursor")
                start = ids.index(after) + 1
            nodes = rows[start : start + size]
            return {
                "nodes": nodes,
                "pageInfo": {
                    "hasNextPage": start + size < len(rows),
                    "hasPreviousPage": start > 0,
                    "startCursor": nodes[0]["id"] if nodes else None,
                    "endCursor": nodes[-1]["id"] if nodes else None,
                },
            }

        return resolve

    async def graphql(self, request: Request) -> JSONResponse:
        self.controls.record(request)
        if bearer_token(request) not in self.controls.tokens:
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Authentication required, not authenticated",
                            "extensions": {"code": "AUTHENTICATION_ERROR", "type": "authentication error"},
                        }
                    ]
                },
                status_code=401,
            )
        if self.controls.rate_limited:
            self.controls.rate_limited -= 1
            reset = str(int(time.time() * 1000) + self.controls.retry_after * 1000)
            return JSONResponse(
                {"errors": [{"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}]},
                status_code=429,
                headers={
                    "X-RateLimit-Requests-Limit": "1500",
                    "X-RateLimit-Requests-Remaining": "0",
                    "X-RateLimit-Requests-Reset": reset,
                    "Retry-After": str(self.controls.retry_after),
                },
            )
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"errors": [{"message": "Body is not JSON"}]}, status_code=400)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return JSONResponse({"errors": [{"message": "Must provide query string."}]}, status_code=400)
        root = {
            "viewer": VIEWER,
            "issues": self._connection("issues"),
            "projects": self._connection("projects"),
            "teams": self._connection("teams"),
            "issueCreate": self._issue_create,
        }
        result = await graphql(SCHEMA, body["query"], root_value=root, variable_values=body.get("variables"))
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [{"message": error.message} for error in result.errors]
        # Linear answers a query it cannot run (bad syntax, unknown field) with 400.
        status = 400 if result.errors and result.data is None else 200
        return JSONResponse(answer, status_code=status)
