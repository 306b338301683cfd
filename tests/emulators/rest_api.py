"""A generic REST API for the declarative engine's tests: one list of items served through every
pagination style, auth placement and rate-limit behaviour the connector format can describe.

Routes are ``/{auth}/{style}``. ``auth`` is how the caller must authenticate:

    bearer   Authorization: Bearer <TOKEN>
    header   X-Api-Key: <KEY>
    query    ?api_key=<KEY>
    basic    HTTP Basic USERNAME:PASSWORD

and ``style`` how the list pages (each takes ``since``: only items with ``updated`` greater):

    cursor        ?limit&after=<opaque token>        {"items", "next_cursor", "has_more"}
    last_record   ?limit&starting_after=<id>         {"data", "has_more"}
    next_link     ?limit&page                        {"results", "next": absolute URL}
    link_header   ?per_page&page                     [items], Link: <...>; rel="next"
    offset        ?offset&limit                      {"records"}
    page_number   ?page&per_page (from 1)            {"records"}
    graphql       POST {"variables": {"first", "after", "since"}}   {"data": {"items": {"nodes", "pageInfo"}}}

``/{auth}/me`` answers the account. Items are in ascending ``updated`` order. ``RestControls``
make the API misbehave the ways the engine must survive: rate limits (429 with Retry-After, or
403 with remaining 0 and a reset header in epoch seconds or in seconds), a page token that
repeats, a next link to another host. ``quota`` makes it a provider with a real window: every
answer carries ``X-Quota-Limit``, ``X-Quota-Remaining`` and ``X-Quota-Reset`` (as ``reset_kind``
says), and a call over the quota answers 429 with ``Retry-After`` until the window resets.
"""

from __future__ import annotations

import base64
import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "rest-emulator-token-0001"
KEY = "rest-emulator-key-0001"
USERNAME, PASSWORD = "rest-user", "rest-password-0001"
STYLES = ("cursor", "last_record", "next_link", "link_header", "offset", "page_number", "graphql")
REMAINING, RESET, LIMIT = "X-Quota-Remaining", "X-Quota-Reset", "X-Quota-Limit"


@dataclass
class RestControls:
    rate_limited: int = 0  # the next N list calls answer 429 Retry-After: 1
    quota_exhausted: int = 0  # the next N list calls answer 403 with remaining 0 and a reset
    reset_kind: str = "epoch_seconds"  # what the reset header holds: epoch_seconds, seconds,
    # iso8601 or http_date
    repeat_token: bool = False  # every page points at the same next page
    foreign_next_link: str | None = None  # next links point at this origin instead
    quota: int = 0  # calls allowed per window (0: no quota, no quota headers)
    quota_window: float = 60.0  # seconds
    quota_used: int = 0
    quota_resets_at: float = 0.0
    over_quota: int = 0  # calls answered 429 because the quota was used up
    calls: list[str] = field(default_factory=list)
    auth_seen: list[str] = field(default_factory=list)


def _item(number: int) -> dict[str, Any]:
    return {
        "id": f"item-{number:03d}",
        "name": f"Item {number}",
        "updated": 1_700_000_000 + number * 10,
        "details": {"rank": number, "tags": ["a", "b"][: number % 3]},
    }


class QuotaGate:
    """The quota's headers on every answer (and its 429s), when ``controls.quota`` is set."""

    def __init__(self, app: Any, controls: RestControls) -> None:
        self.app = app
        self.controls = controls

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        controls = self.controls
        if scope["type"] != "http" or not controls.quota:
            await self.app(scope, receive, send)
            return
        now = time.time()
        if now >= controls.quota_resets_at:
            controls.quota_used, controls.quota_resets_at = 0, now + controls.quota_window
        over = controls.quota_used >= controls.quota
        if not over:
            controls.quota_used += 1
        reset_at = controls.quota_resets_at
        moment = datetime.fromtimestamp(reset_at, UTC)
        reset = {
            "epoch_seconds": str(math.ceil(reset_at)),
            "epoch_millis": str(math.ceil(reset_at * 1000)),
            "seconds": str(math.ceil(reset_at - now)),
            "iso8601": moment.isoformat(),
            "http_date": format_datetime(moment, usegmt=True),
        }[controls.reset_kind]
        quota_headers = {
            LIMIT: str(controls.quota),
            REMAINING: str(controls.quota - controls.quota_used),
            RESET: reset,
        }
        if over:
            controls.over_quota += 1
            retry_after = str(max(1, math.ceil(reset_at - now)))
            answer = JSONResponse(
                {"message": "quota used up"},
                status_code=429,
                headers={**quota_headers, "Retry-After": retry_after},
            )
            await answer(scope, receive, send)
            return

        async def send_with_quota(message: Any) -> None:
            if message["type"] == "http.response.start":
                extra = [(k.lower().encode(), v.encode()) for k, v in quota_headers.items()]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_quota)


class RestApiEmulator:
    def __init__(self, items: int = 23) -> None:
        self.items = [_item(n) for n in range(1, items + 1)]
        self.controls = RestControls()
        routes = [Route("/{auth}/me", self.me)]
        for style in STYLES:
            method = "POST" if style == "graphql" else "GET"
            routes.append(Route(f"/{{auth}}/{style}", getattr(self, style), methods=[method]))
        self.app = Starlette(routes=routes, middleware=[Middleware(QuotaGate, controls=self.controls)])

    def add(self) -> dict[str, Any]:
        item = _item(len(self.items) + 1)
        self.items.append(item)
        return item

    # -- auth and misbehaviour ---------------------------------------------------------------

    def _refused(self, request: Request) -> Response | None:
        query = f"?{request.url.query}" if request.url.query else ""
        self.controls.calls.append(f"{request.method} {request.url.path}{query}")
        auth = request.path_params["auth"]
        self.controls.auth_seen.append(auth)
        headers = request.headers
        if auth == "bearer":
            ok = headers.get("authorization") == f"Bearer {TOKEN}"
        elif auth == "header":
            ok = headers.get("x-api-key") == KEY
        elif auth == "query":
            ok = request.query_params.get("api_key") == KEY
        elif auth == "basic":
            expected = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
            ok = headers.get("authorization") == f"Basic {expected}"
        else:
            ok = False
        if not ok:
            return JSONResponse({"message": "unauthorized"}, status_code=401)
        return None

    def _limited(self) -> Response | None:
        controls = self.controls
        if controls.rate_limited:
            controls.rate_limited -= 1
            return JSONResponse({"message": "slow down"}, status_code=429, headers={"Retry-After": "1"})
        if controls.quota_exhausted:
            controls.quota_exhausted -= 1
            moment = datetime.fromtimestamp(int(time.time()) + 2, UTC)
            reset = {
                "epoch_seconds": str(int(moment.timestamp())),
                "seconds": "1",
                "iso8601": moment.isoformat(),
                "http_date": format_datetime(moment, usegmt=True),
            }[controls.reset_kind]
            return JSONResponse(
                {"message": "quota exhausted"}, status_code=403, headers={REMAINING: "0", RESET: reset}
            )
        return None

    def _gate(self, request: Request) -> Response | None:
        return self._refused(request) or self._limited()

    def _since(self, value: Any) -> list[dict[str, Any]]:
        if value in (None, ""):
            return list(self.items)
        # A filter language, as Klaviyo's: since=greater-than(updated,<value>).
        expression = re.fullmatch(r"greater-than\(updated,(\d+)\)", str(value))
        if expression:
            value = expression.group(1)
        return [item for item in self.items if item["updated"] > int(value)]

    @staticmethod
    def _int(request: Request, name: str, default: int) -> int:
        return int(request.query_params.get(name) or default)

    # -- routes --------------------------------------------------------------------------------

    async def me(self, request: Request) -> Response:
        return self._refused(request) or JSONResponse({"account": {"name": "Emulated Co", "id": 7}})

    async def cursor(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        items = self._since(request.query_params.get("since"))
        after = request.query_params.get("after")
        start = 0 if not after else int(base64.urlsafe_b64decode(after).decode())
        limit = self._int(request, "limit", 10)
        page = items[start : start + limit]
        more = start + limit < len(items)
        following = 0 if self.controls.repeat_token else start + limit
        token = base64.urlsafe_b64encode(str(following).encode()).decode()
        return JSONResponse({"items": page, "next_cursor": token if more else None, "has_more": more})

    async def last_record(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        items = self._since(request.query_params.get("since"))
        after = request.query_params.get("starting_after")
        start = 0
        if after and not self.controls.repeat_token:
            start = next(i for i, item in enumerate(items) if item["id"] == after) + 1
        limit = self._int(request, "limit", 10)
        page = items[start : start + limit]
        return JSONResponse({"data": page, "has_more": start + limit < len(items)})

    async def next_link(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        items = self._since(request.query_params.get("since"))
        page_number = self._int(request, "page", 1)
        limit = self._int(request, "limit", 10)
        page = items[(page_number - 1) * limit : page_number * limit]
        following = None
        if page_number * limit < len(items):
            origin = self.controls.foreign_next_link or f"{request.url.scheme}://{request.url.netloc}"
            number = page_number if self.controls.repeat_token else page_number + 1
            since = request.query_params.get("since")
            extra = f"&since={since}" if since else ""
            following = f"{origin}{request.url.path}?page={number}&limit={limit}{extra}"
        return JSONResponse({"results": page, "next": following})

    async def link_header(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        items = self._since(request.query_params.get("since"))
        page_number = self._int(request, "page", 1)
        size = self._int(request, "per_page", 10)
        page = items[(page_number - 1) * size : page_number * size]
        headers = {}
        if page_number * size < len(items):
            origin = self.controls.foreign_next_link or ""  # relative unless sent elsewhere
            number = page_number if self.controls.repeat_token else page_number + 1
            since = request.query_params.get("since")
            extra = f"&since={since}" if since else ""
            headers["Link"] = f'<{origin}{request.url.path}?page={number}&per_page={size}{extra}>; rel="next"'
        return JSONResponse(page, headers=headers)

    async def offset(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        items = self._since(request.query_params.get("since"))
        start = 0 if self.controls.repeat_token else self._int(request, "offset", 0)
        limit = self._int(request, "limit", 10)
        return JSONResponse({"records": items[start : start + limit]})

    async def page_number(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        items = self._since(request.query_params.get("since"))
        number = 1 if self.controls.repeat_token else self._int(request, "page", 1)
        size = self._int(request, "per_page", 10)
        return JSONResponse({"records": items[(number - 1) * size : number * size]})

    async def graphql(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        body = await request.json()
        variables = body.get("variables") or {}
        items = self._since(variables.get("since"))
        after = variables.get("after")
        start = 0 if not after or self.controls.repeat_token else int(after.removeprefix("c"))
        first = int(variables.get("first") or 10)
        page = items[start : start + first]
        more = start + first < len(items)
        info = {"endCursor": f"c{start + first}" if more else None, "hasNextPage": more}
        return JSONResponse({"data": {"items": {"nodes": page, "pageInfo": info}}})
