"""Zendesk Support's API as the catalog entry uses it: ``GET /api/v2/users/me.json`` and the
ticket, user and organization lists with cursor pagination (``page[size]`` up to 100,
``page[after]``, ``meta.has_more``/``after_cursor`` and ``links.next``), behind an OAuth bearer
token, with Zendesk's error bodies and rate-limit headers.

The ticket actions' endpoints are documented ones (``tests/emulators/documented.py``): ``POST
/api/v2/tickets.json`` opens a ticket (a requester given by email is found or created; a ticket
without ``comment`` is Zendesk's 422 ``RecordInvalid``), ``GET``/``PUT
/api/v2/tickets/{id}.json`` read it or add a comment and change its status; each answers
``{"ticket": {...}}``, and the tickets list shows the new one."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "zd-emulator-oauth-access-token-0000000000000001"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
LISTS = {"tickets": "tickets", "users": "users", "organizations": "organizations"}
MAX_SIZE = 100


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode()


def _position(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        return int(text.removeprefix("pos:")) if text.startswith("pos:") else None
    except ValueError:
        return None


class ZendeskEmulator:
    def __init__(self, tickets: int = 0, users: int = 0, organizations: int = 0) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.data: dict[str, list[dict[str, Any]]] = {name: [] for name in LISTS}
        self.clock = EPOCH
        for name, count in (("tickets", tickets), ("users", users), ("organizations", organizations)):
            for _ in range(count):
                self.add(name)
        self.comments: dict[int, list[dict[str, Any]]] = {}
        unauthorized = {
            "error": "invalid_token",
            "error_description": "The access token provided is invalid.",
        }
        self.api = DocumentedAPI(
            [
                Endpoint(
                    "POST", "/tickets.json", self.create_ticket, status=201, required=("ticket.comment",)
                ),
                Endpoint("GET", "/tickets/{id:int}.json", self.get_ticket),
                Endpoint("PUT", "/tickets/{id:int}.json", self.update_ticket, required=("ticket",)),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(401, unauthorized),
            invalid=lambda missing: (
                422,
                {
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": {"base": [{"description": f"{missing[0]}: cannot be blank"}]},
                },
            ),
            prefix="/api/v2",
        )
        self.api.controls = self.controls
        self.app = Starlette(
            routes=[
                *self.api.routes(),
                Route("/api/v2/users/me.json", self.me),
                Route("/api/v2/{kind}.json", self.list_kind),
            ]
        )

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.clock += timedelta(seconds=1)
        n = len(self.data[kind]) + 1
        record: dict[str, Any] = {
            "id": 1000 + n,
            "url": f"https://acme.zendesk.com/api/v2/{kind}/{1000 + n}.json",
            "created_at": _iso(self.clock),
            "updated_at": _iso(self.clock),
        }
        if kind == "tickets":
            record.update(
                subject=f"Ticket {n}",
                description="It does not work.",
                status="open",
                priority="normal",
                type="question",
                via={"channel": "email"},
                channel=None,
                requester_id=2000 + n,
                submitter_id=2000 + n,
                assignee_id=None,
                organization_id=None,
                group_id=None,
                tags=["emulated"],
            )
        elif kind == "users":
            record.update(
                name=f"User {n}",
                email=f"user{n}@example.com",
                role="end-user",
                organization_id=None,
                active=True,
                suspended=False,
                time_zone="Europe/Copenhagen",
                locale="en-US",
            )
        else:
            record.update(
                name=f"Organization {n}", domain_names=[f"org{n}.example.com"], group_id=None, tags=[]
            )
        record.update(fields)
        self.data[kind].append(record)
        return record

    def _requester(self, requester: dict[str, Any] | None) -> int:
        if not requester:
            return 1  # the signed-in agent (users/me)
        found = next((u for u in self.data["users"] if u["email"] == requester["email"]), None)
        if found is None:
            found = self.add(
                "users", email=requester["email"], name=requester.get("name") or requester["email"]
            )
        return int(found["id"])

    def create_ticket(self, call: Call) -> Any:
        wanted = call.json["ticket"]
        comment = wanted["comment"]
        if not isinstance(comment, dict) or not (comment.get("body") or comment.get("html_body")):
            return Reply(
                422,
                {
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": {"description": [{"description": "Description: cannot be blank"}]},
                },
            )
        requester_id = self._requester(wanted.get("requester"))
        fields = {k: wanted[k] for k in ("subject", "priority", "type", "status", "tags") if k in wanted}
        ticket = self.add(
            "tickets",
            **{"status": "new", "priority": None, "type": None, "tags": [], **fields},
            description=comment.get("body") or comment.get("html_body"),
            requester_id=requester_id,
            submitter_id=1,
        )
        self.comments[ticket["id"]] = [{"body": ticket["description"], "public": True}]
        return {"ticket": ticket}

    def _ticket(self, call: Call) -> dict[str, Any] | None:
        return next((t for t in self.data["tickets"] if t["id"] == call.path_params["id"]), None)

    def get_ticket(self, call: Call) -> Any:
        ticket = self._ticket(call)
        if ticket is None:
            return Reply(404, {"error": "RecordNotFound", "description": "Not found"})
        return {"ticket": ticket}

    def update_ticket(self, call: Call) -> Any:
        ticket = self._ticket(call)
        if ticket is None:
            return Reply(404, {"error": "RecordNotFound", "description": "Not found"})
        change = call.json["ticket"]
        comment = change.get("comment")
        if comment:
            self.comments.setdefault(ticket["id"], []).append(
                {"body": comment.get("body"), "public": comment.get("public", True)}
            )
        if "status" in change:
            ticket["status"] = change["status"]
        self.clock += timedelta(seconds=1)
        ticket["updated_at"] = _iso(self.clock)
        return {"ticket": ticket}

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        token = bearer_token(request)
        if token is None or token not in self.controls.tokens:
            return JSONResponse(
                {
                    "error": "invalid_token",
                    "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons.",
                },
                status_code=401,
            )
        return self.controls.chaos(  # type: ignore[return-value]
            {
                "error": "APIRateLimitExceeded",
                "description": "Number of allowed API requests per minute exceeded",
            },
            headers={"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "0"},
        )

    async def me(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {"user": {"id": 1, "name": "Olga Owner", "email": "owner@example.com", "role": "admin"}}
        )

    async def list_kind(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        kind = request.path_params["kind"]
        if kind not in LISTS:
            return JSONResponse({"error": "InvalidEndpoint", "description": "Not found"}, status_code=404)
        query = request.query_params
        rows = self.data[kind]
        headers = {"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "699"}
        if "page[size]" not in query:
            # Offset pagination, Zendesk's default without page[size]: the catalog never asks for it.
            return JSONResponse({kind: rows[:100], "next_page": None, "count": len(rows)}, headers=headers)
        try:
            size = int(query["page[size]"])
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_SIZE:
            return JSONResponse(
                {
                    "error": "InvalidPaginationParameter",
                    "description": f"page[size] must be between 1 and {MAX_SIZE}",
                },
                status_code=400,
            )
        start = 0
        if "page[after]" in query:
            position = _position(query["page[after]"])
            if position is None:
                return JSONResponse(
                    {
                        "error": "InvalidPaginationParameter",
                        "description": "page[after] is not a valid cursor",
                    },
                    status_code=400,
                )
            start = position
        page = rows[start : start + size]
        has_more = start + size < len(rows)
        after = _cursor(start + len(page)) if page else None
        before = _cursor(start) if page else None
        base = f"{request.base_url}api/v2/{kind}.json?page[size]={size}"
        return JSONResponse(
            {
                kind: page,
                "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": before},
                "links": {
                    "next": f"{base}&page[after]={after}" if after else None,
                    "prev": f"{base}&page[before]={before}" if before else None,
                },
            },
            headers=headers,
        )
