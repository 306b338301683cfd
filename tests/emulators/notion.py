"""Notion's API as a catalog definition uses it, under ``/v1``.

Bearer tokens and a required ``Notion-Version`` header; ``GET /users/me``, ``POST /search`` with a
``filter`` on ``object`` and ``GET /users``. Lists follow https://developers.notion.com/reference/intro#pagination:
``page_size`` (at most 100) and ``start_cursor`` (in the JSON body of a POST, the query of a GET),
answered with ``results``, ``has_more`` and ``next_cursor``. Errors are Notion's
``{object: "error", status, code, message}``; a rate limit is a 429 ``rate_limited`` with
``Retry-After``.

The actions' endpoints are documented ones (``tests/emulators/documented.py``): ``POST /pages``
adds a page to a database the emulator has (404 ``object_not_found`` otherwise) and ``POST
/databases/{id}/query`` lists that database's pages, filtered on a title property with
``equals``/``contains`` when asked, paged like every Notion list.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from tests.emulators.common import Controls, bearer_token
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "ntn_WeirEmulatorSecret000000000001"
EPOCH = datetime(2025, 4, 1, tzinfo=UTC)
MAX_PAGE_SIZE = 100


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"object": "error", "status": status, "code": code, "message": message}, status_code=status
    )


class NotionEmulator:
    def __init__(self, databases: int = 0, pages: int = 0, users: int = 1) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.clock = EPOCH
        self.objects: list[dict[str, Any]] = []  # databases and pages, as search sees them
        self.users = [self._user(n) for n in range(1, users + 1)]
        for _ in range(databases):
            self.add("database")
        for _ in range(pages):
            self.add("page")
        self.bodies: list[dict[str, Any]] = []  # every search body, in order
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/pages", self.create_page, required=("parent.database_id", "properties")),
                Endpoint("POST", "/databases/{database_id}/query", self.query_database),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(
                401,
                {
                    "object": "error",
                    "status": 401,
                    "code": "unauthorized",
                    "message": "API token is invalid.",
                },
            ),
            invalid=lambda missing: (
                400,
                {
                    "object": "error",
                    "status": 400,
                    "code": "validation_error",
                    "message": f"body failed validation: body.{missing[0]} should be defined.",
                },
            ),
        )
        self.api.controls = self.controls
        routes = [
            *self.api.routes(),
            Route("/users/me", self.me),
            Route("/users", self.list_users),
            Route("/search", self.search, methods=["POST"]),
        ]
        self.app = Starlette(routes=[Mount("/v1", routes=routes)])

    def _tick(self) -> str:
        self.clock += timedelta(minutes=1)
        return self.clock.strftime("%Y-%m-%dT%H:%M:00.000Z")

    def _user(self, n: int) -> dict[str, Any]:
        return {
            "object": "user",
            "id": str(uuid.UUID(int=n)),
            "type": "person",
            "name": f"Person {n}",
            "avatar_url": None,
            "person": {"email": f"person{n}@example.com"},
        }

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        moment = self._tick()
        n = len(self.objects) + 1
        record: dict[str, Any] = {
            "object": kind,
            "id": str(uuid.UUID(int=10**9 + n)),
            "created_time": moment,
            "last_edited_time": moment,
            "created_by": {"object": "user", "id": self.users[0]["id"]},
            "last_edited_by": {"object": "user", "id": self.users[0]["id"]},
            "parent": {"type": "workspace", "workspace": True},
            "archived": False,
            "in_trash": False,
            "url": f"https://www.notion.so/{n:032x}",
            "properties": {},
        }
        if kind == "database":
            title = [{"type": "text", "plain_text": f"Database {n}", "text": {"content": f"Database {n}"}}]
            record.update(title=title, description=[], is_inline=False)
        record.update(fields)
        self.objects.append(record)
        return record

    def _database(self, database_id: str) -> dict[str, Any] | None:
        wanted = database_id.replace("-", "").lower()
        return next(
            (o for o in self.objects if o["object"] == "database" and o["id"].replace("-", "") == wanted),
            None,
        )

    def create_page(self, call: Call) -> Any:
        body = call.json
        if call.headers.get("notion-version") is None:
            return Reply(
                400,
                {
                    "object": "error",
                    "status": 400,
                    "code": "missing_version",
                    "message": "Notion-Version header failed validation: should be defined.",
                },
            )
        database = self._database(str(body["parent"]["database_id"]))
        if database is None:
            message = f"Could not find database with ID: {body['parent']['database_id']}."
            return Reply(
                404, {"object": "error", "status": 404, "code": "object_not_found", "message": message}
            )
        return self.add(
            "page",
            parent={"type": "database_id", "database_id": database["id"]},
            properties=body["properties"],
            children=body.get("children", []),
        )

    def query_database(self, call: Call) -> Any:
        database = self._database(call.path_params["database_id"])
        if database is None:
            message = f"Could not find database with ID: {call.path_params['database_id']}."
            return Reply(
                404, {"object": "error", "status": 404, "code": "object_not_found", "message": message}
            )
        body = call.json or {}
        rows = [o for o in self.objects if o["parent"].get("database_id") == database["id"]]
        wanted = body.get("filter")
        if wanted:
            rows = [row for row in rows if _matches(row, wanted)]
        return self._page(rows, body.get("start_cursor"), body.get("page_size"))

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        if bearer_token(request) not in self.controls.tokens:
            return _error(401, "unauthorized", "API token is invalid.")
        if not request.headers.get("notion-version"):
            return _error(
                400, "missing_version", "Notion-Version header failed validation: should be defined."
            )
        if self.controls.rate_limited:
            self.controls.rate_limited -= 1
            return JSONResponse(
                {"object": "error", "status": 429, "code": "rate_limited", "message": "Rate limited."},
                status_code=429,
                headers={"Retry-After": str(self.controls.retry_after)},
            )
        return None

    def _page(self, rows: list[dict[str, Any]], cursor: Any, size: Any) -> JSONResponse:
        if size is None:
            size = MAX_PAGE_SIZE
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PAGE_SIZE:
            return _error(400, "validation_error", "body failed validation: page_size should be ≤ 100.")
        start = 0
        if cursor is not None:
            ids = [row["id"] for row in rows]
            if cursor not in ids:
                return _error(400, "validation_error", "The start_cursor provided is invalid.")
            start = ids.index(cursor)
        page = rows[start : start + size]
        more = start + size < len(rows)
        return JSONResponse(
            {
                "object": "list",
                "results": page,
                "next_cursor": rows[start + size]["id"] if more else None,
                "has_more": more,
                "type": "page_or_database",
            }
        )

    async def me(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {
                "object": "user",
                "id": str(uuid.UUID(int=999)),
                "type": "bot",
                "name": "Weir Sync",
                "bot": {"owner": {"type": "workspace", "workspace": True}, "workspace_name": "Acme"},
            }
        )

    async def list_users(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        raw = request.query_params.get("page_size")
        size: Any = int(raw) if raw is not None and raw.isdigit() else raw
        return self._page(self.users, request.query_params.get("start_cursor"), size)

    async def search(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid_json", "Error parsing JSON body.")
        if not isinstance(body, dict):
            return _error(400, "validation_error", "body failed validation: body should be an object.")
        self.bodies.append(body)
        rows = self.objects
        wanted = body.get("filter")
        if wanted is not None:
            if wanted.get("property") != "object" or wanted.get("value") not in ("page", "database"):
                return _error(400, "validation_error", "body failed validation: body.filter is invalid.")
            rows = [row for row in rows if row["object"] == wanted["value"]]
        return self._page(rows, body.get("start_cursor"), body.get("page_size"))


def _title_text(value: Any) -> str:
    parts = value.get("title") or value.get("rich_text") or [] if isinstance(value, dict) else []
    return "".join(str((p.get("text") or {}).get("content", "")) for p in parts if isinstance(p, dict))


def _matches(row: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """A title or rich_text filter (``equals`` or ``contains``), the part of Notion's filter
    language the tests use."""
    condition = wanted.get("title") or wanted.get("rich_text") or {}
    text = _title_text(row["properties"].get(wanted.get("property"), {}))
    if "equals" in condition:
        return text == condition["equals"]
    if "contains" in condition:
        return condition["contains"] in text
    return True
