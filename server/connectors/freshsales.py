"""Freshsales (Freshworks CRM): a connection-only integration with a bundle domain and an API key.

The API lives under the account's own domain, so the default base URL has a ``{domain}``
placeholder filled from the credentials; a configured base URL (an emulator) is used as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from server.connectors.base import CheckResult, ConnectorContext, ConnectorSpec
from server.connectors.http import base_url, request, run_check
from server.connectors.schemas import form, secret

DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

SPEC = ConnectorSpec(
    name="freshsales",
    display_name="Freshsales",
    category="CRM",
    auth_types=("CUSTOM_AUTH",),
    description="Contacts, accounts and deals in a Freshsales (Freshworks CRM) account.",
    base_url="https://{domain}.myfreshworks.com/crm/sales",
    docs_url="https://developers.freshworks.com/crm/api/",
    auth_fields_schema=form(
        {
            "domain": {
                "type": "string",
                "title": "Bundle domain",
                "pattern": "^[a-z0-9][a-z0-9-]{0,62}$",
                "description": "The part before .myfreshworks.com in your account's "
                "address, e.g. acme for acme.myfreshworks.com.",
            },
            "api_key": secret(
                "API key", minLength=8, description="Profile settings > API settings > Your API key."
            ),
        },
        required=["domain", "api_key"],
    ),
)


def _auth(credentials: Mapping[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Token token={credentials.get('api_key') or ''}"}


async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    """``GET /api/selector/owners``: the account's users, readable with any valid key."""
    domain = str(credentials.get("domain") or "")
    if not DOMAIN.fullmatch(domain):
        # The domain becomes part of a host name: refuse anything that could point elsewhere.
        return CheckResult(
            ok=False, message="the bundle domain must be like acme (letters, digits and dashes)"
        )
    root = base_url(context, SPEC.base_url).replace("{domain}", domain)

    async def call() -> CheckResult:
        response = await request(
            context, "GET", f"{root}/api/selector/owners", auth=_auth, credentials=credentials
        )
        users = response.json().get("users") or []
        return CheckResult(
            ok=True,
            message=f"the key is valid; {len(users)} users",
            account_label=str(credentials.get("domain") or "") or None,
        )

    return await run_check(credentials, call)
