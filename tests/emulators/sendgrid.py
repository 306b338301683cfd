"""SendGrid's v3 API as Weir uses it: ``GET /v3/scopes``, with SendGrid's error body."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token

KEY = "SG.WeirEmulatorKey0001.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
READ_ONLY_KEY = "SG.WeirEmulatorKey0002.readonlyreadonlyreadonlyreadonlyreadonly00"


class SendGridEmulator:
    def __init__(self) -> None:
        self.controls = Controls(tokens={KEY, READ_ONLY_KEY})
        self.app = Starlette(routes=[Route("/v3/scopes", self.scopes)])

    async def scopes(self, request: Request) -> JSONResponse:
        self.controls.record(request)
        key = bearer_token(request)
        if key not in self.controls.tokens:
            return JSONResponse(
                {"errors": [{"field": None, "message": "authorization required"}]}, status_code=401
            )
        limited = self.controls.chaos({"errors": [{"field": None, "message": "too many requests"}]})
        if limited is not None:
            return limited  # type: ignore[return-value]
        scopes = (
            ["user.profile.read"]
            if key == READ_ONLY_KEY
            else ["mail.send", "user.profile.read", "templates.read", "stats.read"]
        )
        return JSONResponse({"scopes": scopes})
