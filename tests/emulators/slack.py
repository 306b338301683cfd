"""Slack's Web API as Weir uses it: ``POST /api/auth.test``, answering errors with HTTP 200 and
``{"ok": false, "error": ...}`` as Slack does, and 429 with ``Retry-After`` when rate limited.

The actions' methods (``chat.postMessage``, ``conversations.list``) are documented endpoints
(``tests/emulators/documented.py``) over the emulator's channels: a posted message is kept in its
channel's history, an unknown channel answers ``channel_not_found``."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, bearer

TOKEN = "xoxb-0000000001-0000000002-WeirEmulatorToken"


class SlackEmulator:
    def __init__(self) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.channels: list[dict[str, Any]] = [
            {
                "id": "C0WEIR0001",
                "name": "general",
                "is_private": False,
                "is_archived": False,
                "num_members": 3,
            },
            {
                "id": "C0WEIR0002",
                "name": "old-news",
                "is_private": False,
                "is_archived": True,
                "num_members": 1,
            },
        ]
        self.messages: dict[str, list[dict[str, Any]]] = {c["id"]: [] for c in self.channels}
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/api/chat.postMessage", self.post_message, required=("channel",)),
                Endpoint("GET", "/api/conversations.list", self.list_channels),
            ],
            credentials=[bearer(TOKEN)],
            unauthorized=(200, {"ok": False, "error": "invalid_auth"}),
            invalid=lambda missing: (200, {"ok": False, "error": "channel_not_found"}),
            rate_limited={"ok": False, "error": "ratelimited"},
        )
        self.api.controls = self.controls
        self.app = Starlette(
            routes=[*self.api.routes(), Route("/api/auth.test", self.auth_test, methods=["POST"])]
        )

    def post_message(self, call: Call) -> dict[str, Any]:
        body = call.json or {}
        channel = next((c for c in self.channels if body["channel"] in (c["id"], "#" + c["name"])), None)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return {"ok": False, "error": "no_text"}
        history = self.messages[channel["id"]]
        ts = f"{1700000000 + len(history)}.{len(history) + 1:06d}"
        message = {
            "type": "message",
            "text": body["text"],
            "user": "U0WEIR001",
            "bot_id": "B0WEIR001",
            "ts": ts,
        }
        if body.get("thread_ts"):
            message["thread_ts"] = body["thread_ts"]
        history.append(message)
        return {"ok": True, "channel": channel["id"], "ts": ts, "message": message}

    def list_channels(self, call: Call) -> dict[str, Any]:
        rows = self.channels
        if call.query.get("exclude_archived") == "true":
            rows = [c for c in rows if not c["is_archived"]]
        limit = int(str(call.query.get("limit", "100")))
        start = int(str(call.query.get("cursor") or "0"))
        page = rows[start : start + limit]
        following = str(start + limit) if start + limit < len(rows) else ""
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": following}}

    async def auth_test(self, request: Request) -> JSONResponse:
        self.controls.record(request)
        limited = self.controls.chaos({"ok": False, "error": "ratelimited"})
        if limited is not None:
            return limited  # type: ignore[return-value]
        token = bearer_token(request)
        if token is None:
            return JSONResponse({"ok": False, "error": "not_authed"})
        if token in self.controls.expired:
            return JSONResponse({"ok": False, "error": "token_expired"})
        if token not in self.controls.tokens:
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        return JSONResponse(
            {
                "ok": True,
                "url": "https://weir-emulated.slack.com/",
                "team": "Weir Emulated",
                "user": "weirbot",
                "team_id": "T0WEIR001",
                "user_id": "U0WEIR001",
                "bot_id": "B0WEIR001",
                "is_enterprise_install": False,
            }
        )
