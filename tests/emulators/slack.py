"""Slack's Web API as Weir uses it: ``POST /api/auth.test``, answering errors with HTTP 200 and
``{"ok": false, "error": ...}`` as Slack does, and 429 with ``Retry-After`` when rate limited."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token

TOKEN = "xoxb-0000000001-0000000002-WeirEmulatorToken"


class SlackEmulator:
    def __init__(self) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.app = Starlette(routes=[Route("/api/auth.test", self.auth_test, methods=["POST"])])

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
