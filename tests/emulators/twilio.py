"""Twilio's 2010-04-01 REST API as a catalog definition uses it, served under ``/2010-04-01``.

HTTP Basic with the Account SID and Auth Token; ``GET /Accounts/{sid}.json`` and the Messages and
Calls lists, newest first, paged with ``PageSize`` (at most 1000), ``Page`` and ``PageToken``. A
page names the next one as ``next_page_uri``: a path on the API's host, as
https://www.twilio.com/docs/usage/twilios-response#paging-information shows. Errors are
Twilio's ``{code, message, more_info, status}``; a rate limit is a 429 with code 20429.

Sending a message (the send_sms action) is a documented endpoint (``tests/emulators/documented.py``):
``POST /Accounts/{sid}/Messages.json`` with a form body (``To``, ``From`` or
``MessagingServiceSid``, ``Body``) answers 201 with the queued Message, which the Messages list
(filtered by ``To``/``From`` when asked) then shows first.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from tests.emulators.common import Controls
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, basic

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
VERSION = "/2010-04-01"
EPOCH = datetime(2025, 3, 1, tzinfo=UTC)
LISTS = {"Messages": "messages", "Calls": "calls"}


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


class TwilioEmulator:
    def __init__(self, messages: int = 0, calls: int = 0) -> None:
        self.controls = Controls(tokens={f"{ACCOUNT_SID}:{AUTH_TOKEN}"})
        self.clock = EPOCH
        self.data: dict[str, list[dict[str, Any]]] = {"messages": [], "calls": []}
        for _ in range(messages):
            self.add_message()
        for _ in range(calls):
            self.add_call()
        self.api = DocumentedAPI(
            [Endpoint("POST", "/Accounts/{sid}/Messages.json", self.send_message, status=201)],
            credentials=[basic(ACCOUNT_SID, AUTH_TOKEN)],
            unauthorized=(401, {"code": 20003, "message": "Authenticate", "status": 401}),
        )
        self.api.controls = self.controls
        routes = [
            *self.api.routes(),
            Route("/Accounts/{sid}.json", self.account),
            Route("/Accounts/{sid}/{kind}.json", self.list_resources),
        ]
        self.app = Starlette(routes=[Mount(VERSION, routes=routes)])

    def _stamp(self) -> str:
        self.clock += timedelta(seconds=1)
        return format_datetime(self.clock)  # RFC 2822, as Twilio writes dates

    def add_message(self, **fields: Any) -> dict[str, Any]:
        n = len(self.data["messages"]) + 1
        moment = self._stamp()
        message = {
            "sid": f"SM{n:032x}",
            "account_sid": ACCOUNT_SID,
            "messaging_service_sid": None,
            "from": "+15005550006",
            "to": f"+1415555{n:04d}",
            "body": f"Your code is {n:06d}",
            "status": "delivered",
            "direction": "outbound-api",
            "num_segments": "1",
            "num_media": "0",
            "price": "-0.00790",
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "date_created": moment,
            "date_updated": moment,
            "date_sent": moment,
            "uri": f"{VERSION}/Accounts/{ACCOUNT_SID}/Messages/SM{n:032x}.json",
        }
        message.update(fields)
        self.data["messages"].append(message)
        return message

    def add_call(self, **fields: Any) -> dict[str, Any]:
        n = len(self.data["calls"]) + 1
        moment = self._stamp()
        call = {
            "sid": f"CA{n:032x}",
            "account_sid": ACCOUNT_SID,
            "parent_call_sid": None,
            "from": "+15005550006",
            "to": f"+1415555{n:04d}",
            "status": "completed",
            "direction": "outbound-api",
            "duration": str(30 + n),
            "price": "-0.01300",
            "price_unit": "USD",
            "answered_by": None,
            "start_time": moment,
            "end_time": moment,
            "date_created": moment,
            "date_updated": moment,
        }
        call.update(fields)
        self.data["calls"].append(call)
        return call

    def send_message(self, call: Call) -> Any:
        form = call.form or {}
        if call.path_params["sid"] != ACCOUNT_SID:
            return Reply(403, {"code": 20004, "message": "Method not allowed", "status": 403})
        for name, code in (("To", 21604), ("Body", 21602)):
            if not form.get(name):
                return Reply(400, {"code": code, "message": f"A '{name}' is required.", "status": 400})
        if not form.get("From") and not form.get("MessagingServiceSid"):
            message = "A 'From' phone number or a 'MessagingServiceSid' is required."
            return Reply(400, {"code": 21603, "message": message, "status": 400})
        return self.add_message(
            to=form["To"],
            body=form["Body"],
            status="queued",
            date_sent=None,
            price=None,
            **{"from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid")},
        )

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        header = request.headers.get("authorization", "")
        pair = ""
        if header.lower().startswith("basic "):
            try:
                pair = base64.b64decode(header[6:]).decode()
            except ValueError:
                pair = ""
        if pair not in self.controls.tokens:
            return _error(401, 20003, "Authenticate")
        if pair.partition(":")[0] != request.path_params["sid"]:
            return _error(403, 20004, "Method not allowed")
        if self.controls.rate_limited:
            self.controls.rate_limited -= 1
            return _error(429, 20429, "Too Many Requests")
        return None

    async def account(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {
                "sid": ACCOUNT_SID,
                "friendly_name": "Weir Emulated Account",
                "status": "active",
                "type": "Full",
                "date_created": format_datetime(EPOCH),
            }
        )

    async def list_resources(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        kind = request.path_params["kind"]
        if kind not in LISTS:
            return _error(404, 20404, f"The requested resource {request.url.path} was not found")
        query = request.query_params
        size_raw, page_raw = query.get("PageSize", "50"), query.get("Page", "0")
        if not size_raw.isdigit() or not 1 <= int(size_raw) <= 1000 or not page_raw.isdigit():
            return _error(400, 20001, "Invalid PageSize or Page")
        size, page = int(size_raw), int(page_raw)
        rows = list(reversed(self.data[LISTS[kind]]))  # newest first
        for name in ("To", "From"):
            if query.get(name):
                rows = [r for r in rows if r.get(name.lower()) == query[name]]
        token = query.get("PageToken")
        if page and token != f"PA{page * size}":
            # Twilio refuses a Page without the PageToken of the page before it.
            return _error(400, 20001, "Invalid PageToken")
        start = page * size
        items = rows[start : start + size]
        base = f"{VERSION}/Accounts/{request.path_params['sid']}/{kind}.json"
        following = None
        if start + size < len(rows):
            following = (
                f"{base}?{urlencode({'PageSize': size, 'Page': page + 1, 'PageToken': f'PA{start + size}'})}"
            )
        return JSONResponse(
            {
                LISTS[kind]: items,
                "first_page_uri": f"{base}?{urlencode({'PageSize': size, 'Page': 0})}",
                "next_page_uri": following,
                "previous_page_uri": None,
                "page": page,
                "page_size": size,
                "start": start,
                "end": start + len(items) - 1 if items else start,
                "uri": f"{base}?{request.url.query}",
            }
        )
