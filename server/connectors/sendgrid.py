"""SendGrid: a connection-only integration (API key) whose check reads the key's scopes."""

from __future__ import annotations

from typing import Any

from server.connectors.base import CheckResult, ConnectorContext, ConnectorSpec
from server.connectors.http import base_url, bearer, request, run_check

SPEC = ConnectorSpec(
    name="sendgrid",
    display_name="SendGrid",
    category="EMAIL",
    auth_types=("SECRET_TEXT",),
    description="Send email through your customer's SendGrid account.",
    base_url="https://api.sendgrid.com",
    docs_url="https://www.twilio.com/docs/sendgrid/api-reference/api-key-permissions/"
    "retrieve-a-list-of-scopes-for-which-this-user-has-access",
)


async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    """``GET /v3/scopes``: what the key may do; any valid key may ask."""

    async def call() -> CheckResult:
        response = await request(
            context,
            "GET",
            f"{base_url(context, SPEC.base_url)}/v3/scopes",
            auth=bearer("secret_text"),
            credentials=credentials,
        )
        scopes = response.json().get("scopes") or []
        if "mail.send" not in scopes:
            return CheckResult(
                ok=False, message="the key is valid but may not send mail (it lacks the mail.send scope)"
            )
        return CheckResult(ok=True, message=f"the key is valid; {len(scopes)} scopes")

    return await run_check(credentials, call)
