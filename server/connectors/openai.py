"""OpenAI: a connection-only integration (API key) whose check lists the models."""

from __future__ import annotations

from typing import Any

from server.connectors.base import CheckResult, ConnectorContext, ConnectorSpec
from server.connectors.http import base_url, bearer, request, run_check

SPEC = ConnectorSpec(
    name="openai",
    display_name="OpenAI",
    category="AI",
    auth_types=("SECRET_TEXT",),
    description="Call OpenAI models with your customer's API key.",
    base_url="https://api.openai.com",
    docs_url="https://platform.openai.com/docs/api-reference/models/list",
)


async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    """``GET /v1/models``: any valid key may list the models."""

    async def call() -> CheckResult:
        response = await request(
            context,
            "GET",
            f"{base_url(context, SPEC.base_url)}/v1/models",
            auth=bearer("secret_text"),
            credentials=credentials,
        )
        models = response.json().get("data") or []
        return CheckResult(ok=True, message=f"the key is valid; {len(models)} models available")

    return await run_check(credentials, call)
