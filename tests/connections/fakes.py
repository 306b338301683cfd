"""Fake integrations for connection tests: real connector modules whose provider is a
``httpx.MockTransport`` app, so ``check`` goes over (fake) HTTP like the built-in ones.

``acme_key``  SECRET_TEXT, or OAuth tokens:  GET /v1/me with ``Authorization: Bearer <secret>``
``acme_mail`` BASIC_AUTH (host, port, username, password)
``acme_db``   CUSTOM_AUTH (host, port, database, user, password, ssl)
"""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace
from typing import Any

import httpx

from server.connectors.base import CheckResult, ConnectorContext, ConnectorSpec, OAuthSpec

GOOD_SECRET = "sk-live-GOODSECRET-0123456789abc123"
GOOD_PASSWORD = "correct horse battery staple 42"
BASE_URL = "https://api.acme.example"


def provider(request: httpx.Request) -> httpx.Response:
    """The fake provider: accepts the good secret and the good basic-auth password only."""
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    accepted = (scheme == "Bearer" and value == GOOD_SECRET) or (
        scheme == "Basic" and base64.b64decode(value).decode().endswith(":" + GOOD_PASSWORD)
    )
    if request.url.path == "/v1/me" and accepted:
        return httpx.Response(200, json={"id": "acct_1", "name": "Acme Test Account"})
    # Like some real providers, echo the key it refused; Weir must scrub it.
    return httpx.Response(
        401,
        json={"error": {"message": f"Invalid API key provided: {value}", "type": "invalid_request_error"}},
    )


def mock_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(provider))


async def _check_http(context: ConnectorContext, headers: dict[str, str]) -> CheckResult:
    response = await context.http.get(f"{context.base_url}/v1/me", headers=headers)
    if response.status_code == 200:
        return CheckResult(ok=True, message="ok", account_label=response.json()["name"])
    return CheckResult(ok=False, message=json.dumps(response.json()["error"]["message"]))


async def _check_key(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    token = credentials.get("secret_text") or credentials.get("access_token") or ""
    return await _check_http(context, {"Authorization": f"Bearer {token}"})


async def _check_basic(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    user = credentials.get("username") or credentials.get("user")
    pair = f"{user}:{credentials['password']}".encode()
    return await _check_http(context, {"Authorization": "Basic " + base64.b64encode(pair).decode()})


async def _read(*args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
    return
    yield


SECRET_FIELD = {"type": "string", "minLength": 8, "format": "password"}

ACME_KEY = SimpleNamespace(
    SPEC=ConnectorSpec(
        name="acme_key",
        display_name="Acme Key",
        category="AI",
        auth_types=("SECRET_TEXT", "OAUTH2"),
        description="API key test provider",
        base_url=BASE_URL,
        oauth=OAuthSpec(
            authorize_url=f"{BASE_URL}/oauth/authorize",
            token_url=f"{BASE_URL}/oauth/token",
            default_scopes=("read",),
        ),
    ),
    check=_check_key,
    read=_read,
)
ACME_MAIL = SimpleNamespace(
    SPEC=ConnectorSpec(
        name="acme_mail",
        display_name="Acme Mail",
        category="EMAIL",
        auth_types=("BASIC_AUTH",),
        description="Basic auth test provider",
        base_url=BASE_URL,
        auth_fields_schema={
            "type": "object",
            "required": ["host", "port", "username", "password"],
            "properties": {
                "host": {"type": "string", "minLength": 1},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "username": {"type": "string"},
                "password": SECRET_FIELD,
            },
            "additionalProperties": False,
        },
    ),
    check=_check_basic,
    read=_read,
)
ACME_DB = SimpleNamespace(
    SPEC=ConnectorSpec(
        name="acme_db",
        display_name="Acme DB",
        category="DATABASE",
        auth_types=("CUSTOM_AUTH",),
        description="Custom auth test provider",
        base_url=BASE_URL,
        auth_fields_schema={
            "type": "object",
            "required": ["host", "port", "database", "user", "password"],
            "properties": {
                "host": {"type": "string", "minLength": 1},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "database": {"type": "string"},
                "user": {"type": "string"},
                "password": SECRET_FIELD,
                "ssl": {"type": "string", "enum": ["disable", "require", "verify-full"]},
            },
            "additionalProperties": False,
        },
    ),
    check=_check_basic,
    read=_read,
)
FAKES = (ACME_KEY, ACME_MAIL, ACME_DB)
