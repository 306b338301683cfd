"""Freshsales' API as Weir uses it: ``GET /crm/sales/api/selector/owners`` with
``Authorization: Token token=...``, and its answer to a wrong key."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls

KEY = "WeirEmulatorFreshsalesKey0001"


class FreshsalesEmulator:
    def __init__(self) -> None:
        self.controls = Controls(tokens={KEY})
        self.app = Starlette(routes=[Route("/crm/sales/api/selector/owners", self.owners)])

    async def owners(self, request: Request) -> JSONResponse:
        self.controls.record(request)
        header = request.headers.get("authorization", "")
        key = header.removeprefix("Token token=") if header.startswith("Token token=") else None
        if key not in self.controls.tokens:
            return JSONResponse(
                {"login": "failed", "message": "Incorrect or expired API key"}, status_code=401
            )
        limited = self.controls.chaos({"message": "You have exceeded the limit of requests per hour"})
        if limited is not None:
            return limited  # type: ignore[return-value]
        return JSONResponse(
            {
                "users": [
                    {
                        "id": 1,
                        "display_name": "Ada Owner",
                        "email": "ada@example.com",
                        "is_active": True,
                        "work_number": None,
                        "mobile_number": None,
                    },
                ]
            }
        )
