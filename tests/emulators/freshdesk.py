"""Freshdesk's API v2 as the catalog entry uses it: ``GET /api/v2/agents/me`` and the ticket,
contact and company lists (``page``/``per_page`` up to 100 and a ``Link: <…>; rel="next"`` header
while there are more), behind HTTP Basic with the API key as the user name. Tickets behave as
Freshdesk documents: without ``updated_since`` only those created in the last 30 days, ordered by
``order_by``/``order_type``."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls

KEY = "WeirEmulatorFreshdeskKey01"
NOW = datetime(2024, 6, 1, tzinfo=UTC)
LISTS = ("tickets", "contacts", "companies")
MAX_PER_PAGE = 100


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class FreshdeskEmulator:
    def __init__(self, tickets: int = 0, contacts: int = 0, companies: int = 0) -> None:
        self.controls = Controls(tokens={KEY})
        self.data: dict[str, list[dict[str, Any]]] = {name: [] for name in LISTS}
        for name, count in (("tickets", tickets), ("contacts", contacts), ("companies", companies)):
            for _ in range(count):
                # One record a day, the newest today: most are older than Freshdesk's 30 days.
                self.add(name, age=timedelta(days=count - len(self.data[name])))
        self.app = Starlette(
            routes=[
                Route("/api/v2/agents/me", self.me),
                Route("/api/v2/{kind}", self.list_kind),
            ]
        )

    def add(self, kind: str, age: timedelta = timedelta(0), **fields: Any) -> dict[str, Any]:
        n = len(self.data[kind]) + 1
        stamp = _iso(NOW - age)
        record: dict[str, Any] = {"id": n, "created_at": stamp, "updated_at": stamp}
        if kind == "tickets":
            record.update(
                subject=f"Ticket {n}",
                status=2,
                priority=1,
                source=1,
                type="Question",
                requester_id=500 + n,
                responder_id=None,
                company_id=None,
                group_id=None,
                tags=[],
                due_by=_iso(NOW + timedelta(days=3)),
            )
        elif kind == "contacts":
            record.update(
                name=f"Contact {n}",
                email=f"contact{n}@example.com",
                phone=None,
                mobile=None,
                company_id=None,
                active=True,
                job_title=None,
                language="en",
            )
        else:
            record.update(
                name=f"Company {n}", description=None, domains=[f"company{n}.example.com"], industry=None
            )
        record.update(fields)
        self.data[kind].append(record)
        return record

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        header = request.headers.get("authorization", "")
        user = ""
        if header.lower().startswith("basic "):
            user = base64.b64decode(header[6:]).decode().partition(":")[0]
        if user not in self.controls.tokens:
            return JSONResponse(
                {
                    "code": "invalid_credentials",
                    "message": "You have to be logged in to perform this action.",
                },
                status_code=401,
            )
        return self.controls.chaos(  # type: ignore[return-value]
            {"message": "You have exceeded the limit of requests per minute"},
            headers={"X-Ratelimit-Total": "200", "X-Ratelimit-Remaining": "0"},
        )

    async def me(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse({"id": 1, "contact": {"name": "Olga Owner", "email": "owner@example.com"}})

    def _invalid(self, field: str, message: str) -> JSONResponse:
        return JSONResponse(
            {
                "description": "Validation failed",
                "errors": [{"field": field, "message": message, "code": "invalid_value"}],
            },
            status_code=400,
        )

    async def list_kind(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        kind = request.path_params["kind"]
        if kind not in LISTS:
            return JSONResponse({"code": "not_found", "message": "Not found"}, status_code=404)
        query = request.query_params
        try:
            page = int(query.get("page", 1))
            per_page = int(query.get("per_page", 30))
        except ValueError:
            return self._invalid("page", "It should be a Positive Integer")
        if not 1 <= per_page <= MAX_PER_PAGE:
            return self._invalid(
                "per_page", f"It should be a Positive Integer less than or equal to {MAX_PER_PAGE}"
            )
        rows = list(self.data[kind])
        since_name = "updated_since" if kind == "tickets" else "_updated_since"
        if since_name in query:
            since = _parse(query[since_name])
            if since is None:
                return self._invalid(since_name, "It should be in the 'YYYY-MM-DDTHH:MM:SSZ' format")
            rows = [r for r in rows if _parse(r["updated_at"]) >= since]  # type: ignore[operator]
        elif kind == "tickets":
            rows = [r for r in rows if _parse(r["created_at"]) >= NOW - timedelta(days=30)]  # type: ignore[operator]
        if kind == "tickets":
            order_by = query.get("order_by", "created_at")
            rows.sort(key=lambda r: (r[order_by], r["id"]), reverse=query.get("order_type", "desc") == "desc")
        chunk = rows[(page - 1) * per_page : page * per_page]
        headers = {"X-Ratelimit-Total": "200", "X-Ratelimit-Remaining": "199"}
        if page * per_page < len(rows):
            following = request.url.include_query_params(page=page + 1, per_page=per_page)
            headers["Link"] = f'<{following}>; rel="next"'
        return JSONResponse(chunk, headers=headers)
