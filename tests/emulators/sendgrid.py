"""SendGrid's v3 API as Weir uses it: ``GET /v3/scopes``, with SendGrid's error body.

The actions' endpoints are documented ones (``tests/emulators/documented.py``):
``POST /v3/mail/send`` answers 202 with no body and keeps the mail in ``sent``; ``GET
/v3/templates`` lists ``templates`` (``page_size`` is required, as SendGrid documents)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, bearer

KEY = "SG.WeirEmulatorKey0001.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
READ_ONLY_KEY = "SG.WeirEmulatorKey0002.readonlyreadonlyreadonlyreadonlyreadonly00"


def _errors(missing: list[str]) -> tuple[int, Any]:
    return 400, {"errors": [{"field": name, "message": "The field is required."} for name in missing]}


class SendGridEmulator:
    def __init__(self) -> None:
        self.controls = Controls(tokens={KEY, READ_ONLY_KEY})
        self.sent: list[dict[str, Any]] = []
        self.templates: list[dict[str, Any]] = [
            {
                "id": "d-0f3c1e5b7a9d4e2f8b6c0a1e3d5f7b9c",
                "name": "Welcome",
                "generation": "dynamic",
                "updated_at": "2025-05-01 10:00:00",
                "versions": [],
            },
            {
                "id": "5d1f3b7a-0c2e-4f6a-8b0d-2e4f6a8c0e1a",
                "name": "Receipt",
                "generation": "legacy",
                "updated_at": "2025-05-02 10:00:00",
                "versions": [],
            },
        ]
        self.api = DocumentedAPI(
            [
                Endpoint(
                    "POST",
                    "/v3/mail/send",
                    self.send,
                    status=202,
                    required=("personalizations.0.to.0.email", "from.email", "subject", "content.0.value"),
                ),
                Endpoint("GET", "/v3/templates", self.list_templates, required_query=("page_size",)),
            ],
            credentials=[bearer(KEY)],
            unauthorized=(401, {"errors": [{"field": None, "message": "authorization required"}]}),
            invalid=_errors,
            rate_limited={"errors": [{"field": None, "message": "too many requests"}]},
        )
        self.api.controls = self.controls
        self.app = Starlette(routes=[*self.api.routes(), Route("/v3/scopes", self.scopes)])

    def send(self, call: Call) -> Response:
        self.sent.append(call.json)
        return Response(status_code=202, headers={"X-Message-Id": f"weir-{len(self.sent):06d}"})

    def list_templates(self, call: Call) -> dict[str, Any]:
        wanted = str(call.query.get("generations") or "legacy").split(",")
        rows = [t for t in self.templates if t["generation"] in wanted]
        size = int(str(call.query["page_size"]))
        return {"result": rows[:size], "_metadata": {"self": "/v3/templates", "count": len(rows)}}

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
