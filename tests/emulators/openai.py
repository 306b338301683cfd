"""OpenAI's API as Weir uses it: ``GET /v1/models``, with OpenAI's error body for a bad key."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token

KEY = "sk-proj-WeirEmulator000000000000000000001"


def _error(
    message: str, code: str | None, type_: str = "invalid_request_error", status: int = 401
) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": type_, "param": None, "code": code}}, status_code=status
    )


class OpenAIEmulator:
    def __init__(self) -> None:
        self.controls = Controls(tokens={KEY})
        self.app = Starlette(routes=[Route("/v1/models", self.models)])

    async def models(self, request: Request) -> JSONResponse:
        self.controls.record(request)
        key = bearer_token(request)
        if key is None:
            return _error(
                "You didn't provide an API key. You need to provide your API key in "
                "an Authorization header using Bearer auth (i.e. Authorization: "
                "Bearer YOUR_KEY).",
                None,
            )
        if key not in self.controls.tokens:
            return _error(
                f"Incorrect API key provided: {key[:6]}{'*' * 20}{key[-4:]}. You can "
                "find your API key at https://platform.openai.com/account/api-keys.",
                "invalid_api_key",
            )
        limited = self.controls.chaos(
            {
                "error": {
                    "message": "Rate limit reached for requests",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            }
        )
        if limited is not None:
            return limited  # type: ignore[return-value]
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": name, "object": "model", "created": 1715367049, "owned_by": "system"}
                    for name in ("gpt-4o", "gpt-4o-mini", "text-embedding-3-small")
                ],
            }
        )
