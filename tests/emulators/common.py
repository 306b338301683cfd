"""What every emulator shares: switches a test flips (rate limit once, expire a token, fail with a
5xx) and ``serve``, which runs an app with uvicorn on a free loopback port of the test's loop."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.serving import free_port, serve  # noqa: F401 -- the emulators' public helpers


@dataclass
class Controls:
    """Test switches and a log of what the connector asked for."""

    tokens: set[str] = field(default_factory=set)  # credentials that work
    expired: set[str] = field(default_factory=set)  # credentials that answer "expired"
    rate_limited: int = 0  # the next N calls answer 429 with Retry-After
    retry_after: int = 1
    server_errors: int = 0  # the next N calls answer 503
    calls: list[str] = field(default_factory=list)

    def rate_limit_once(self, retry_after: int = 1) -> None:
        self.rate_limited, self.retry_after = 1, retry_after

    def expire(self, token: str) -> None:
        self.expired.add(token)
        self.tokens.discard(token)

    def record(self, request: Request) -> None:
        query = f"?{request.url.query}" if request.url.query else ""
        self.calls.append(f"{request.method} {request.url.path}{query}")

    def chaos(
        self, rate_limit_body: Any, headers: dict[str, str] | None = None, status: int = 429
    ) -> Response | None:
        """The 429 or 503 a test asked for, once per request; None when the call goes through."""
        if self.rate_limited:
            self.rate_limited -= 1
            sent = {"Retry-After": str(self.retry_after), **(headers or {})}
            return JSONResponse(rate_limit_body, status_code=status, headers=sent)
        if self.server_errors:
            self.server_errors -= 1
            return JSONResponse({"message": "Service Unavailable"}, status_code=503)
        return None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@pytest.fixture
async def serve_emulator() -> AsyncIterator[Callable[[Any], Awaitable[str]]]:
    """``url = await serve_emulator(app)``: serve any number of apps until the test ends.

    Import it into a conftest (``from tests.emulators.common import serve_emulator``) to use it.
    """
    async with contextlib.AsyncExitStack() as stack:

        async def start(app: Any) -> str:
            return await stack.enter_async_context(serve(app))

        yield start
