"""Airtable: a connection-only integration with a personal access token and a base id.

The check asks ``whoami`` (is the token valid, whose is it) and then for the base's table list
(can the token reach that base).
"""

from __future__ import annotations

from typing import Any

from server.connectors.base import CheckResult, ConnectorContext, ConnectorSpec
from server.connectors.http import ProviderError, base_url, bearer, request, run_check
from server.connectors.schemas import form, secret

_auth = bearer("access_token")

SPEC = ConnectorSpec(
    name="airtable",
    display_name="Airtable",
    category="PRODUCTIVITY",
    auth_types=("CUSTOM_AUTH",),
    description="Records of an Airtable base, with a personal access token.",
    base_url="https://api.airtable.com",
    docs_url="https://airtable.com/developers/web/api/get-user-id-scopes",
    auth_fields_schema=form(
        {
            "access_token": secret(
                "Personal access token",
                pattern="^pat",
                description="Created at airtable.com/create/tokens with the "
                "schema.bases:read and data.records:read scopes.",
            ),
            "base_id": {
                "type": "string",
                "title": "Base ID",
                "pattern": "^app[A-Za-z0-9]{14}$",
                "description": "Starts with app; it is in the base's URL.",
            },
        },
        required=["access_token", "base_id"],
    ),
)


async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    """``GET /v0/meta/whoami``, then ``GET /v0/meta/bases/{base_id}/tables``."""
    root = base_url(context, SPEC.base_url)

    async def call() -> CheckResult:
        response = await request(
            context, "GET", f"{root}/v0/meta/whoami", auth=_auth, credentials=credentials
        )
        user = response.json()
        label = user.get("email") or user.get("id")
        try:
            await request(
                context,
                "GET",
                f"{root}/v0/meta/bases/{credentials.get('base_id')}/tables",
                auth=_auth,
                credentials=credentials,
            )
        except ProviderError as exc:
            if exc.status in (403, 404):
                return CheckResult(
                    ok=False,
                    message="the token is valid but cannot read base "
                    f"{credentials.get('base_id')}: {exc.message}",
                )
            raise
        return CheckResult(ok=True, message="the token can read the base", account_label=label)

    return await run_check(credentials, call)
