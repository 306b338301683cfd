"""A test integration with actions, and the chat API it calls on loopback.

``testmessages`` (OAUTH2 against ``tests.emulators.oauth_provider``, or SECRET_TEXT) has two
actions: ``send_message`` posts to the emulator's ``/messages`` through
``server.connectors.http.request`` (refresh on 401, 429 handling, provider errors), and
``run_query`` refuses a query that is not read-only with ``ActionInputError`` after its schema
passed. ``MessagesApi`` counts what reached it and misbehaves on request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.connectors import http as provider_http
from server.connectors.base import (
    ActionInputError,
    ActionSpec,
    CheckResult,
    ConnectorContext,
    ConnectorSpec,
    OAuthSpec,
)
from tests.emulators.common import bearer_token

NAME = "testmessages"
API_KEY = "sk_live_messages_0123456789"

SEND_MESSAGE = ActionSpec(
    name="send_message",
    display_name="Send a message",
    description="Post a message to a channel.",
    input_schema={
        "type": "object",
        "required": ["channel", "text"],
        "additionalProperties": False,
        "properties": {
            "channel": {"type": "string", "pattern": "^C[0-9A-Z]+$", "maxLength": 20},
            "text": {"type": "string", "minLength": 1, "maxLength": 4000},
            "priority": {"type": "integer", "minimum": 1, "maximum": 5},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "thread": {
                "type": "object",
                "required": ["ts"],
                "additionalProperties": False,
                "properties": {"ts": {"type": "string", "pattern": "^[0-9]+[.][0-9]+$"}},
            },
            "notify": {"type": "string", "format": "email"},
        },
    },
    output_schema={
        "type": "object",
        "properties": {"id": {"type": "integer"}, "channel": {"type": "string"}},
    },
)
RUN_QUERY = ActionSpec(
    name="run_query",
    display_name="Run a read-only query",
    description="Run a SELECT.",
    input_schema={
        "type": "object",
        "required": ["sql"],
        "additionalProperties": False,
        "properties": {"sql": {"type": "string", "maxLength": 1000}},
    },
    output_schema={"type": "object"},
    read_only=True,
)


@dataclass
class MessagesApi:
    """``POST /messages`` with a Bearer token that ``valid`` accepts."""

    valid: Callable[[str], bool]
    refuse_every_token: bool = False  # 401 whatever the token (a revoked app)
    retry_after: int | None = None  # answer 429 with this Retry-After
    error_status: int | None = None  # answer this status with a provider error body
    # Set: every request waits for it (a call held open while a test does something else).
    gate: asyncio.Event | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0  # every POST that reached the API, refused or not
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set by the first request
    refused: int = 0

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/messages", self.post, methods=["POST"])])

    async def post(self, request: Request) -> Response:
        self.requests += 1
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        token = bearer_token(request) or ""
        if self.refuse_every_token or not self.valid(token):
            self.refused += 1
            return JSONResponse({"error": "invalid_auth"}, status_code=401)
        if self.retry_after is not None:
            return JSONResponse(
                {"error": "ratelimited"}, status_code=429, headers={"Retry-After": str(self.retry_after)}
            )
        if self.error_status is not None:
            return JSONResponse({"message": "channel_not_found"}, status_code=self.error_status)
        body = await request.json()
        self.sent.append(body)
        return JSONResponse({"id": len(self.sent), "channel": body["channel"], "text": body["text"]})


def messages_connector(*, provider_url: str, api_url: str) -> SimpleNamespace:
    async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
        return CheckResult(ok=True)

    async def read(context: Any, stream: str, settings: Any, state: Any):  # pragma: no cover
        if False:
            yield None

    async def run_action(context: ConnectorContext, action: str, input: dict[str, Any]) -> Any:
        if action == "run_query":
            if not input["sql"].lstrip().lower().startswith("select"):
                raise ActionInputError("sql", "must be a read-only query (SELECT)")
            return {"rows": [], "caller": context.caller, "idempotency_key": context.idempotency_key}
        response = await provider_http.request(
            context,
            "POST",
            f"{context.base_url}/messages",
            auth=lambda credentials: {"Authorization": f"Bearer {provider_http.oauth_or_token(credentials)}"},
            json=input,
        )
        return response.json()

    spec = ConnectorSpec(
        name=NAME,
        display_name="Test Messages",
        category="COMMUNICATION",
        auth_types=("OAUTH2", "SECRET_TEXT"),
        description="A chat API emulated on loopback.",
        base_url=api_url,
        oauth=OAuthSpec(
            authorize_url=f"{provider_url}/authorize",
            token_url=f"{provider_url}/token",
            default_scopes=("chat:write",),
        ),
        actions=(SEND_MESSAGE, RUN_QUERY),
    )
    return SimpleNamespace(SPEC=spec, check=check, read=read, run_action=run_action)
