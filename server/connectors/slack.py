"""Slack: a connection-only integration (OAuth) whose check is ``auth.test``.

Slack answers most errors with HTTP 200 and ``{"ok": false, "error": "..."}``, so the check reads
the body, not the status. With token rotation on, an expired token says ``token_expired``: that
gets one credential refresh, like a 401 elsewhere.
"""

from __future__ import annotations

from typing import Any

from server.connectors.base import CheckResult, ConnectorContext, ConnectorSpec, OAuthSpec
from server.connectors.http import base_url, bearer, request, run_check

_auth = bearer("access_token")
EXPIRED = ("token_expired",)

SPEC = ConnectorSpec(
    name="slack",
    display_name="Slack",
    category="COMMUNICATION",
    auth_types=("OAUTH2",),
    description="Post messages and read channels in a Slack workspace.",
    base_url="https://slack.com/api",
    docs_url="https://api.slack.com/methods/auth.test",
    oauth=OAuthSpec(
        authorize_url="https://slack.com/oauth/v2/authorize",
        token_url="https://slack.com/api/oauth.v2.access",
        default_scopes=("channels:read", "chat:write", "users:read"),
        scope_separator=",",
    ),
)


async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    """``POST auth.test``: who the token is, in which workspace."""
    url = f"{base_url(context, SPEC.base_url)}/auth.test"

    async def call() -> CheckResult:
        current = credentials
        refreshed = False
        while True:
            body = (await request(context, "POST", url, auth=_auth, credentials=current)).json()
            if body.get("ok"):
                label = body.get("team") or body.get("team_id")
                return CheckResult(ok=True, message="the token is valid", account_label=label)
            error = str(body.get("error") or "unknown_error")
            if error in EXPIRED and context.refresh_credentials is not None and not refreshed:
                refreshed = True
                current = await context.refresh_credentials()
                context.credentials = dict(current)
                continue
            return CheckResult(ok=False, message=f"Slack refused the token: {error}")

    return await run_check(credentials, call)
