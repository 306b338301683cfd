"""Custom integration definitions for tests, in the declarative connector format."""

from __future__ import annotations

import copy
from typing import Any


def oauth_definition(provider_url: str, name: str = "acme_crm", **changes: Any) -> dict[str, Any]:
    """An OAuth2 integration against the loopback emulator (tests/emulators/oauth_provider.py):
    consent at /authorize, tokens at /token, the credential check at /api/me."""
    definition: dict[str, Any] = {
        "name": name,
        "display_name": "Acme CRM",
        "category": "CRM",
        "description": "The CRM Acme runs for its own customers.",
        "auth": {
            "type": "oauth2",
            "authorization_url": f"{provider_url}/authorize",
            "token_url": f"{provider_url}/token",
            "scopes": ["read", "write"],
        },
        "api": {"base_url": provider_url},
        "check": {"path": "/api/me"},
        "streams": [
            {
                "name": "contacts",
                "path": "/api/contacts",
                "record_selector": "results",
                "primary_key": ["id"],
                "pagination": {"type": "none"},
                "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
            }
        ],
    }
    definition.update(copy.deepcopy(changes))
    return definition
