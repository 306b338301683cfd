"""Secrets never leak: not into the database's bytes, not into any GraphQL response (errors and a
query of every field of ``Connection`` included), not into the logs at DEBUG level."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from server.db import is_postgres
from server.logs import JsonFormatter, configure_logging
from tests.connections.conftest import fake_integrations  # noqa: F401 -- autouse fixture
from tests.connections.fakes import BASE_URL, mock_client

SECRET_TEXT = "sk-live-LEAKCHECK-text-7f3a9c21e5"
BASIC_PASSWORD = "basic-password-LEAKCHECK-41d9"
CUSTOM_PASSWORD = "custom-password-LEAKCHECK-8b2e"
ACCESS_TOKEN = "oauth-access-LEAKCHECK-55aa77"
REFRESH_TOKEN = "oauth-refresh-LEAKCHECK-99cc11"
CLIENT_SECRET = "client-secret-LEAKCHECK-3e3e"
REJECTED_KEY = "sk-live-LEAKCHECK-rejected-0b0b0b"
INVALID_VALUE = "LEAKCHECK-bad-type-value"
SHORT_PASSWORD = "Lk7#q2"
SECRETS = (
    SECRET_TEXT,
    BASIC_PASSWORD,
    CUSTOM_PASSWORD,
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    CLIENT_SECRET,
    REJECTED_KEY,
    INVALID_VALUE,
    SHORT_PASSWORD,
)

CREATE = "mutation($input: CreateConnectionInput!) { createConnection(input: $input) { id } }"
TEST = "mutation($id: ID!) { testConnection(id: $id) { ok message connection { statusReason } } }"
CONFIGURE = """mutation($input: ConfigureWorkspaceIntegrationInput!) {
  configureWorkspaceIntegration(input: $input) { id oauthClientId hasOAuthClientSecret }
}"""
CREATE_END_USER = """mutation($w: ID!) {
  createEndUser(input: {workspaceId: $w, externalId: "leak-check"}) { id }
}"""
SCHEMA_TYPES = """{ __schema { types { name kind fields {
  name args { name type { kind } } type { kind name ofType { kind name ofType { kind name
  ofType { kind name } } } } } } } }"""


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.replace(connector_base_urls={"acme_key": BASE_URL})


@pytest.fixture
def debug_logs():  # type: ignore[no-untyped-def]
    """Weir's real logging set-up at DEBUG, captured as text and as JSON lines."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    noisy = {
        name: logging.getLogger(name).level
        for name in ("tortoise", "aiosqlite", "asyncpg", "httpx", "httpcore")
    }
    configure_logging("DEBUG", "text")
    text, lines = io.StringIO(), io.StringIO()
    for stream, formatter in ((text, root.handlers[0].formatter), (lines, JsonFormatter())):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        handler.filters = root.handlers[0].filters
        root.addHandler(handler)
    yield lambda: text.getvalue() + lines.getvalue()
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    for name, level in noisy.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
async def provider_http(app):  # type: ignore[no-untyped-def]
    services = app.state.runtime.services
    async with mock_client() as http:
        services.check_http = http
        yield http
        services.check_http = None


def _named(type_ref: dict) -> tuple[str, str]:
    while type_ref.get("ofType"):
        type_ref = type_ref["ofType"]
    return type_ref["kind"], type_ref["name"]


def every_field_selection(types: dict[str, dict], name: str, depth: int = 2) -> str:
    """A selection of every field of type ``name`` (and of its object fields, ``depth`` deep)."""
    parts = []
    for field in types[name]["fields"] or []:
        if any(arg["type"]["kind"] == "NON_NULL" for arg in field["args"]):
            continue
        kind, inner = _named(field["type"])
        if kind in ("SCALAR", "ENUM"):
            parts.append(field["name"])
        elif kind == "OBJECT" and depth > 0:
            inside = every_field_selection(types, inner, depth - 1)
            parts.append(f"{field['name']} {{ __typename {inside} }}")
    return " ".join(parts)


async def _database_text(settings) -> str:  # type: ignore[no-untyped-def]
    url = settings.effective_database_url
    if not is_postgres(url):
        path = Path(url.split("://", 1)[1])
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        tables = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        found = []
        for table in tables:
            rows = await connection.fetch(f'SELECT t::text AS row FROM "{table["tablename"]}" t')
            found += [row["row"] for row in rows]
        return "\n".join(found)
    finally:
        await connection.close()


async def test_no_secret_reaches_the_database_responses_or_logs(tenant, settings, provider_http, debug_logs):
    created_user = await tenant.data(CREATE_END_USER, {"w": tenant.workspace_id})
    end_user = created_user["createEndUser"]["id"]
    responses = []

    async def call(document: str, variables: dict) -> dict:
        body = await tenant.graphql(document, variables)
        responses.append(body)
        return body

    user = {"endUserId": end_user}
    created = [
        await call(
            CREATE,
            {
                "input": {
                    **user,
                    "integrationName": "acme_key",
                    "authType": "SECRET_TEXT",
                    "secretText": SECRET_TEXT,
                }
            },
        ),
        await call(
            CREATE,
            {
                "input": {
                    **user,
                    "integrationName": "acme_mail",
                    "authType": "BASIC_AUTH",
                    "username": "mailer",
                    "password": BASIC_PASSWORD,
                    "props": {"host": "smtp.example", "port": 587},
                }
            },
        ),
        await call(
            CREATE,
            {
                "input": {
                    **user,
                    "integrationName": "acme_db",
                    "authType": "CUSTOM_AUTH",
                    "props": {
                        "host": "db.example",
                        "port": 5432,
                        "database": "app",
                        "user": "reader",
                        "password": CUSTOM_PASSWORD,
                    },
                }
            },
        ),
        await call(
            CREATE,
            {
                "input": {
                    **user,
                    "integrationName": "acme_key",
                    "authType": "PLATFORM_OAUTH2",
                    "accessToken": ACCESS_TOKEN,
                    "refreshToken": REFRESH_TOKEN,
                    "expiresAt": "2030-01-01T00:00:00Z",
                }
            },
        ),
    ]
    assert all("errors" not in body for body in created), created
    # Requests that fail while carrying secrets: the errors must not quote them.
    refused = [
        await call(
            CREATE,
            {
                "input": {
                    **user,
                    "integrationName": "acme_key",
                    "authType": "SECRET_TEXT",
                    "secretText": REJECTED_KEY,
                    "check": True,
                }
            },
        ),
        await call(
            CREATE,
            {
                "input": {
                    **user,
                    "integrationName": "acme_db",
                    "authType": "CUSTOM_AUTH",
                    "props": {
                        "host": "db.example",
                        "port": INVALID_VALUE,
                        "database": "app",
                        "user": "reader",
                        "password": SHORT_PASSWORD,
                        "extra": INVALID_VALUE,
                    },
                }
            },
        ),
        await call(
            CREATE,
            {
                "input": {
                    **user,
                    "integrationName": "acme_db",
                    "authType": "SECRET_TEXT",
                    "secretText": REJECTED_KEY,
                }
            },
        ),
    ]
    assert [body["errors"][0]["extensions"]["code"] for body in refused] == [
        "CHECK_FAILED",
        "VALIDATION_FAILED",
        "VALIDATION_FAILED",
    ]
    # A check that fails with stored credentials (the fake provider echoes the key it refused).
    tested = await call(TEST, {"id": created[0]["data"]["createConnection"]["id"]})
    assert tested["data"]["testConnection"]["ok"] is False
    await call(
        CONFIGURE,
        {
            "input": {
                "workspaceId": tenant.workspace_id,
                "integrationName": "acme_key",
                "oauthClientId": "client",
                "oauthClientSecret": CLIENT_SECRET,
            }
        },
    )
    # Every field of Connection, as introspection lists them, for every connection.
    schema = await call(SCHEMA_TYPES, {})
    types = {t["name"]: t for t in schema["data"]["__schema"]["types"]}
    selection = every_field_selection(types, "Connection")
    assert "credentialPreview" in selection and "integration {" in selection
    listed = await call(f"{{ connections {{ edges {{ node {{ {selection} }} }} }} }}", {})
    assert len(listed["data"]["connections"]["edges"]) == 4
    for edge in listed["data"]["connections"]["edges"]:
        await call(f"query($id: ID!) {{ connection(id: $id) {{ {selection} }} }}", {"id": edge["node"]["id"]})

    response_text = repr(responses)
    database_text = await _database_text(settings)
    log_text = debug_logs()
    assert "created connection" in log_text  # the capture works
    for secret in SECRETS:
        assert secret not in response_text, f"a response contains {secret!r}"
        assert secret not in database_text, f"the database contains {secret!r}"
        assert secret not in log_text, f"the logs contain {secret!r}"
