"""Calendly's API v2 as the catalog entry uses it: ``GET /users/me`` and the scheduled-event and
event-type lists, which require an ``organization`` (or ``user``) URI filter and page with
``count`` (at most 100) and ``page_token``, the next page's full URL in
``pagination.next_page``, behind an OAuth bearer token, with Calendly's error bodies. For the
catalog's actions also ``POST /scheduling_links`` (a single-use link for a known event type) and
``POST /scheduled_events/{uuid}/cancellation`` (cancels an active event, once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "eyJraWQiOiJXRUlSIn0.calendly-emulator-access-token.0001"
ORGANIZATION = "https://api.calendly.com/organizations/WEIREMULATORORG1"
USER = "https://api.calendly.com/users/WEIREMULATORUSER"
EPOCH = datetime(2024, 1, 1, 9, tzinfo=UTC)
MAX_COUNT = 100
NOT_FOUND = {"title": "Resource Not Found", "message": "The server could not find the requested resource."}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def _invalid(message: str, parameter: str) -> JSONResponse:
    return JSONResponse(
        {
            "title": "Invalid Argument",
            "message": message,
            "details": [{"parameter": parameter, "message": message}],
        },
        status_code=400,
    )


class CalendlyEmulator:
    def __init__(self, scheduled_events: int = 0, event_types: int = 0) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.data: dict[str, list[dict[str, Any]]] = {"scheduled_events": [], "event_types": []}
        for _ in range(event_types):
            self.add("event_types")
        for _ in range(scheduled_events):
            self.add("scheduled_events")
        self.actions = DocumentedAPI(
            [
                Endpoint(
                    "POST",
                    "/scheduling_links",
                    self._scheduling_link,
                    status=201,
                    required=("max_event_count", "owner", "owner_type"),
                ),
                Endpoint("POST", "/scheduled_events/{uuid}/cancellation", self._cancel, status=201),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(401, {"title": "Unauthenticated", "message": "The access token is invalid"}),
            invalid=lambda missing: (
                400,
                {
                    "title": "Invalid Argument",
                    "message": "The supplied parameters are invalid.",
                    "details": [{"parameter": name, "message": "is required"} for name in missing],
                },
            ),
            rate_limited={"title": "Too Many Requests", "message": "You have exceeded the rate limit"},
            controls=self.controls,
        )
        self.app = Starlette(
            routes=[
                Route("/users/me", self.me),
                Route("/scheduled_events", self.listing("scheduled_events")),
                Route("/event_types", self.listing("event_types")),
                *self.actions.routes(),
            ]
        )

    def _scheduling_link(self, call: Call) -> dict[str, Any] | Reply:
        owner = call.json["owner"]
        if owner not in {t["uri"] for t in self.data["event_types"]}:
            return Reply(404, NOT_FOUND)
        slug = owner.rsplit("/", 1)[-1][-8:].lower()
        link = {
            "booking_url": f"https://calendly.com/d/{slug}/meeting",
            "owner": owner,
            "owner_type": "EventType",
        }
        return {"resource": link}

    def _cancel(self, call: Call) -> dict[str, Any] | Reply:
        uri = f"https://api.calendly.com/scheduled_events/{call.path_params['uuid']}"
        event = next((e for e in self.data["scheduled_events"] if e["uri"] == uri), None)
        if event is None:
            return Reply(404, NOT_FOUND)
        if event["status"] == "canceled":
            return Reply(403, {"title": "Permission Denied", "message": "Event is already canceled"})
        event["status"] = "canceled"
        reason = (call.json or {}).get("reason")
        cancellation = {
            "canceled_by": "Olga Owner",
            "reason": reason,
            "canceler_type": "host",
            "created_at": _iso(EPOCH),
        }
        event["cancellation"] = cancellation
        return {"resource": cancellation}

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        n = len(self.data[kind]) + 1
        created = _iso(EPOCH + timedelta(minutes=n))
        if kind == "scheduled_events":
            start = EPOCH + timedelta(days=n)
            record: dict[str, Any] = {
                "uri": f"https://api.calendly.com/scheduled_events/EVENT{n:012d}",
                "name": "30 Minute Meeting",
                "status": "active",
                "start_time": _iso(start),
                "end_time": _iso(start + timedelta(minutes=30)),
                "event_type": "https://api.calendly.com/event_types/TYPE000000000001",
                "location": {"type": "zoom"},
                "invitees_counter": {"total": 1, "active": 1, "limit": 1},
                "event_memberships": [{"user": USER}],
                "created_at": created,
                "updated_at": created,
            }
        else:
            record = {
                "uri": f"https://api.calendly.com/event_types/TYPE{n:012d}",
                "name": f"{15 * n} Minute Meeting",
                "slug": f"{15 * n}min",
                "active": True,
                "kind": "solo",
                "duration": 15 * n,
                "scheduling_url": f"https://calendly.com/olga/{15 * n}min",
                "profile": {"type": "User", "name": "Olga Owner", "owner": USER},
                "created_at": created,
                "updated_at": created,
            }
        record.update(fields)
        self.data[kind].append(record)
        return record

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        if bearer_token(request) not in self.controls.tokens:
            return JSONResponse(
                {"title": "Unauthenticated", "message": "The access token is invalid"}, status_code=401
            )
        return self.controls.chaos(  # type: ignore[return-value]
            {"title": "Too Many Requests", "message": "You have exceeded the rate limit"},
            headers={"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"},
        )

    async def me(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {
                "resource": {
                    "uri": USER,
                    "name": "Olga Owner",
                    "email": "owner@example.com",
                    "current_organization": ORGANIZATION,
                }
            }
        )

    def listing(self, kind: str) -> Any:
        async def handler(request: Request) -> JSONResponse:
            await self.actions.record(request)
            refused = self._gate(request)
            if refused is not None:
                return refused
            query = request.query_params
            if "organization" not in query and "user" not in query:
                return _invalid("One of organization or user must be provided", "organization")
            if query.get("organization", ORGANIZATION) != ORGANIZATION:
                return JSONResponse(
                    {"title": "Permission Denied", "message": "You do not have permission"}, status_code=403
                )
            try:
                count = int(query.get("count", 20))
            except ValueError:
                return _invalid("count must be an integer", "count")
            if not 1 <= count <= MAX_COUNT:
                return _invalid(f"count must be between 1 and {MAX_COUNT}", "count")
            start = 0
            if "page_token" in query:
                token = query["page_token"]
                if not token.startswith("PT") or not token[2:].isdigit():
                    return _invalid("page_token is invalid", "page_token")
                start = int(token[2:])
            rows = self.data[kind]
            chunk = rows[start : start + count]
            following = f"PT{start + count}" if start + count < len(rows) else None
            next_page = (
                str(request.url.include_query_params(page_token=following)) if following is not None else None
            )
            return JSONResponse(
                {
                    "collection": chunk,
                    "pagination": {
                        "count": len(chunk),
                        "next_page": next_page,
                        "previous_page": None,
                        "next_page_token": following,
                        "previous_page_token": None,
                    },
                },
                headers={
                    "X-RateLimit-Limit": "500",
                    "X-RateLimit-Remaining": "499",
                    "X-RateLimit-Reset": "60",
                },
            )

        return handler
