"""Anthropic's API for the catalog's actions: ``POST /v1/messages`` (a message object whose text
answers the last user turn) and ``GET /v1/models`` (``limit``/``after_id`` paging), behind the
``x-api-key`` header, with Anthropic's ``{"type": "error", "error": {...}}`` bodies
(https://docs.anthropic.com/en/api/messages, https://docs.anthropic.com/en/api/errors)."""

from __future__ import annotations

from typing import Any

from tests.emulators.documented import Call, DocumentedAPI, Endpoint, header

KEY = "sk-ant-api03-WeirEmulatorKey0000000000000001"
MODELS = [
    {
        "type": "model",
        "id": "claude-sonnet-4-5-20250929",
        "display_name": "Claude Sonnet 4.5",
        "created_at": "2025-09-29T00:00:00Z",
    },
    {
        "type": "model",
        "id": "claude-opus-4-1-20250805",
        "display_name": "Claude Opus 4.1",
        "created_at": "2025-08-05T00:00:00Z",
    },
    {
        "type": "model",
        "id": "claude-3-5-haiku-20241022",
        "display_name": "Claude Haiku 3.5",
        "created_at": "2024-10-22T00:00:00Z",
    },
]


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _message(call: Call) -> dict[str, Any]:
    last = call.json["messages"][-1]["content"]
    text = last if isinstance(last, str) else " ".join(b.get("text", "") for b in last)
    return {
        "id": "msg_01WeirEmulator0000000001",
        "type": "message",
        "role": "assistant",
        "model": call.json["model"],
        "content": [{"type": "text", "text": f"You said: {text}"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": len(text.split()) + 3, "output_tokens": len(text.split()) + 2},
    }


def _models(call: Call) -> dict[str, Any]:
    start = 0
    if "after_id" in call.query:
        start = 1 + next(i for i, m in enumerate(MODELS) if m["id"] == call.query["after_id"])
    limit = int(str(call.query.get("limit", 20)))
    page = MODELS[start : start + limit]
    return {
        "data": page,
        "has_more": start + limit < len(MODELS),
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
    }


def anthropic_api() -> DocumentedAPI:
    return DocumentedAPI(
        [
            Endpoint("POST", "/messages", _message, required=("model", "max_tokens", "messages")),
            Endpoint("GET", "/models", _models),
        ],
        credentials=[header("x-api-key", KEY)],
        unauthorized=(401, _error("authentication_error", "invalid x-api-key")),
        invalid=lambda missing: (400, _error("invalid_request_error", f"{missing[0]}: Field required")),
        rate_limited=_error(
            "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"
        ),
        prefix="/v1",
    )
