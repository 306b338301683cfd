"""OpenAI's API as Weir uses it: ``GET /v1/models``, with OpenAI's error body for a bad key.

The actions' endpoints are documented ones (``tests/emulators/documented.py``): ``POST
/v1/chat/completions`` answers a ``chat.completion`` whose message repeats the last user message
(``echo: ...``), ``POST /v1/embeddings`` one small vector per input; an unknown model is a 404
``model_not_found``, as OpenAI answers."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

KEY = "sk-proj-WeirEmulator000000000000000000001"
MODELS = ("gpt-4o", "gpt-4o-mini", "text-embedding-3-small")


def _error(
    message: str, code: str | None, type_: str = "invalid_request_error", status: int = 401
) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": type_, "param": None, "code": code}}, status_code=status
    )


class OpenAIEmulator:
    def __init__(self) -> None:
        self.controls = Controls(tokens={KEY})
        self.completions = 0
        unauthorized = {
            "error": {
                "message": "Incorrect API key provided.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/v1/chat/completions", self.chat, required=("model", "messages")),
                Endpoint("POST", "/v1/embeddings", self.embeddings, required=("model", "input")),
            ],
            credentials=[bearer(KEY)],
            unauthorized=(401, unauthorized),
            invalid=lambda missing: (
                400,
                {
                    "error": {
                        "message": f"Missing required parameter: '{missing[0]}'.",
                        "type": "invalid_request_error",
                        "param": missing[0],
                        "code": "missing_required_parameter",
                    }
                },
            ),
        )
        self.api.controls = self.controls
        self.app = Starlette(routes=[*self.api.routes(), Route("/v1/models", self.models)])

    def _model(self, call: Call) -> Reply | None:
        model = call.json["model"]
        if model in MODELS:
            return None
        message = f"The model `{model}` does not exist or you do not have access to it."
        error = {
            "message": message,
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
        return Reply(404, {"error": error})

    def chat(self, call: Call) -> Any:
        refused = self._model(call)
        if refused is not None:
            return refused
        self.completions += 1
        last = next((m["content"] for m in reversed(call.json["messages"]) if m["role"] == "user"), "")
        return {
            "id": f"chatcmpl-weir{self.completions:06d}",
            "object": "chat.completion",
            "created": 1715367049 + self.completions,
            "model": call.json["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"echo: {last}"},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
        }

    def embeddings(self, call: Call) -> Any:
        refused = self._model(call)
        if refused is not None:
            return refused
        texts = call.json["input"] if isinstance(call.json["input"], list) else [call.json["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": [round(len(t) / 100, 4), 0.5, -0.25]}
            for i, t in enumerate(texts)
        ]
        return {
            "object": "list",
            "data": data,
            "model": call.json["model"],
            "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
        }

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
                    for name in MODELS
                ],
            }
        )
