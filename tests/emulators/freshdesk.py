"""Freshdesk's API v2 as the catalog entry uses it: ``GET /api/v2/agents/me`` and the ticket,
contact and company lists (``page``/``per_page`` up to 100 and a ``Link: <…>; rel="next"`` header
while there are more), behind HTTP Basic with the API key as the user name. Tickets behave as
Freshdesk documents: without ``updated_since`` only those created in the last 30 days, ordered by
``order_by``/``order_type``. For the catalog's actions also ``POST /api/v2/tickets`` (201, listed
afterwards; a missing subject, description or requester answered with Freshdesk's
``Validation failed`` body), ``GET /api/v2/tickets/{id}`` and ``POST /api/v2/tickets/{id}/reply``."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, basic

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


def _validation_failed(missing: list[str]) -> dict[str, Any]:
    message = "It should not be blank as this is a mandatory field"
    if missing == ["requester_id"]:
        message = "Please fill at least 1 of requester_id, phone, email, twitter_id, facebook_id, unique_external_id fields"
    return {
        "description": "Validation failed",
        "errors": [{"field": name, "message": message, "code": "missing_field"} for name in missing],
    }


class FreshdeskEmulator:
    def __init__(self, tickets: int = 0, contacts: int = 0, companies: int = 0) -> None:
        self.controls = Controls(tokens={KEY})
        self.data: dict[str, list[dict[str, Any]]] = {name: [] for name in LISTS}
        for name, count in (("tickets", tickets), ("contacts", contacts), ("companies", companies)):
            for _ in range(count):
                # One record a day, the newest today: most are older than Freshdesk's 30 days.
                self.add(name, age=timedelta(days=count - len(self.data[name])))
        self.replies: list[dict[str, Any]] = []
        self.actions = DocumentedAPI(
            [
                Endpoint(
                    "POST",
                    "/api/v2/tickets",
                    self._create_ticket,
                    status=201,
                    required=("subject", "description"),
                ),
                Endpoint("GET", "/api/v2/tickets/{id:int}", self._get_ticket),
                Endpoint(
                    "POST", "/api/v2/tickets/{id:int}/reply", self._reply, status=201, required=("body",)
                ),
            ],
            credentials=[basic(KEY, "X")],
            unauthorized=(
                401,
                {
                    "code": "invalid_credentials",
                    "message": "You have to be logged in to perform this action.",
                },
            ),
            invalid=lambda missing: (400, _validation_failed(missing)),
            rate_limited={"message": "You have exceeded the limit of requests per minute"},
            controls=self.controls,
        )
        self.app = Starlette(
            routes=[
                Route("/api/v2/agents/me", self.me),
                Route("/api/v2/{kind}", self.list_kind),
                *self.actions.routes(),
            ]
        )

    def _create_ticket(self, call: Call) -> dict[str, Any] | Reply:
        sent = dict(call.json)
        email = sent.pop("email", None)
        if not email:
            return Reply(400, _validation_failed(["requester_id"]))
        contact = next((c for c in self.data["contacts"] if c["email"] == email), None)
        if contact is None:
            contact = self.add("contacts", email=email, name=email.split("@")[0])
        description = sent.pop("description")
        return self.add(
            "tickets",
            requester_id=contact["id"],
            description=description,
            description_text=description.replace("<p>", "").replace("</p>", ""),
            **{"status": 2, "priority": 1, "tags": [], "cc_emails": [], **sent},
        )

    def _ticket(self, ticket_id: int) -> dict[str, Any] | None:
        return next((t for t in self.data["tickets"] if t["id"] == ticket_id), None)

    def _get_ticket(self, call: Call) -> dict[str, Any] | Reply:
        ticket = self._ticket(int(call.path_params["id"]))
        return (
            ticket if ticket is not None else Reply(404, {"code": "not_found", "message": "Record not found"})
        )

    def _reply(self, call: Call) -> dict[str, Any] | Reply:
        ticket = self._ticket(int(call.path_params["id"]))
        if ticket is None:
            return Reply(404, {"code": "not_found", "message": "Record not found"})
        stamp = _iso(NOW)
        reply = {
            "id": 9000 + len(self.replies) + 1,
            "ticket_id": ticket["id"],
            "user_id": 1,
            "body": call.json["body"],
            "body_text": call.json["body"].replace("<p>", "").replace("</p>", ""),
            "cc_emails": call.json.get("cc_emails", []),
            "created_at": stamp,
            "updated_at": stamp,
        }
        self.replies.append(reply)
        return reply

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
