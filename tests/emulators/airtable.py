"""Airtable's API as Weir uses it: ``GET /v0/meta/whoami`` and ``GET
/v0/meta/bases/{baseId}/tables``, with Airtable's error bodies."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token

TOKEN = "patWeirEmulator01.0123456789abcdef0123456789abcdef0123456789abcdef"
BASE = "appWeirEmulator01"


class AirtableEmulator:
    def __init__(self) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.bases = {BASE}
        self.app = Starlette(
            routes=[
                Route("/v0/meta/whoami", self.whoami),
                Route("/v0/meta/bases/{base}/tables", self.tables),
            ]
        )

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        if bearer_token(request) not in self.controls.tokens:
            return JSONResponse(
                {"error": {"type": "AUTHENTICATION_REQUIRED", "message": "Authentication required"}},
                status_code=401,
            )
        return self.controls.chaos(
            {
                "errors": [
                    {"error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"}
                ]
            }
        )  # type: ignore[return-value]

    async def whoami(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {
                "id": "usrWeirEmulator01",
                "email": "owner@example.com",
                "scopes": ["schema.bases:read", "data.records:read"],
            }
        )

    async def tables(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        if request.path_params["base"] not in self.bases:
            return JSONResponse(
                {
                    "error": {
                        "type": "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
                        "message": "Invalid permissions, or the requested model was not found. Check "
                        "that both your user and your token have the required permissions, "
                        "and that the model names and/or ids are correct.",
                    }
                },
                status_code=403,
            )
        return JSONResponse(
            {
                "tables": [
                    {
                        "id": "tblWeirEmulator01",
                        "name": "Projects",
                        "primaryFieldId": "fldWeir0001",
                        "fields": [],
                    }
                ]
            }
        )
