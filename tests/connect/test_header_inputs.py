"""Inputs that end up in a response header (CSP frame-ancestors, a redirect, Authorization) are
refused at input when they hold a control character, naming the field, and nothing is stored."""

from __future__ import annotations

import pytest

from server.orgs.models import Workspace
from tests.connect.conftest import CREATE as CREATE_SESSION
from tests.connect.conftest import HOST_ORIGIN, REDIRECT_URI, create_session

UPDATE = """
mutation($input: UpdateWorkspaceInput!) {
  updateWorkspace(input: $input) { id allowedOrigins allowedRedirectUris logoUrl }
}"""
CREATE_WORKSPACE = """
mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }"""
WORKSPACES = "query { workspaces { edges { node { name } } } }"
CREATE_CONNECTION = """mutation($input: CreateConnectionInput!) {
  createConnection(input: $input) { id }
}"""

# CR, LF, TAB (urlsplit silently drops these three), NUL, another C0, DEL and a C1 (NEL).
CONTROLS = ["\r\n", "\n", "\t", "\x00", "\x1b", "\x7f", "\x85"]


def _fields(body: dict) -> dict[str, str]:
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED", error
    return {f["field"]: f["message"] for f in error["extensions"]["fields"]}


@pytest.mark.parametrize("control", CONTROLS)
async def test_update_workspace_refuses_control_characters_in_header_values(acme, control):
    body = await acme.graphql(
        UPDATE,
        {
            "input": {
                "id": acme.workspace_id,
                "allowedOrigins": ["https://ok.example", f"https://app.example{control}.com"],
                "allowedRedirectUris": [f"https://app.example.com/done{control}Set-Cookie: a=b"],
                "logoUrl": f"https://cdn.example.com/{control}logo.svg",
            }
        },
    )

    fields = _fields(body)
    assert set(fields) == {"input.allowedOrigins.1", "input.allowedRedirectUris.0", "input.logoUrl"}
    assert all("control characters" in message for message in fields.values())
    stored = await Workspace.get(id=acme.workspace_id)
    assert stored.allowed_origins == [HOST_ORIGIN]
    assert stored.allowed_redirect_uris == [REDIRECT_URI]
    assert stored.logo_url is None


async def test_create_workspace_refuses_a_crlf_origin_and_creates_nothing(acme):
    body = await acme.graphql(
        CREATE_WORKSPACE,
        {"input": {"name": "staging", "allowedOrigins": ["https://app.example.com\r\nX-Evil: 1"]}},
    )

    assert "control characters" in _fields(body)["input.allowedOrigins.0"]
    names = [e["node"]["name"] for e in (await acme.data(WORKSPACES))["workspaces"]["edges"]]
    assert names == ["default"]


async def test_workspace_names_refuse_control_characters(acme):
    body = await acme.graphql(UPDATE, {"input": {"id": acme.workspace_id, "displayName": "Acme\r\nCorp"}})

    assert "control characters" in _fields(body)["input.displayName"]


async def test_connect_session_redirect_uri_with_a_newline_is_refused_by_name(acme):
    body = await acme.graphql(
        CREATE_SESSION,
        {
            "input": {
                "workspaceId": acme.workspace_id,
                "integrationName": "testkey",
                "redirectUri": REDIRECT_URI + "\r\nLocation: https://evil.example",
            }
        },
    )

    assert "control characters" in _fields(body)["input.redirectUri"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("secretText", "sk-live-abc\r\nX-Injected: 1"),
        ("secretText", "sk-live-abc\n"),
    ],
)
async def test_a_secret_sent_as_a_header_refuses_control_characters(acme, field, value):
    body = await acme.graphql(
        CREATE_CONNECTION,
        {
            "input": {
                "workspaceId": acme.workspace_id,
                "integrationName": "testkey",
                "scope": "WORKSPACE",
                "authType": "SECRET_TEXT",
                field: value,
            }
        },
    )

    assert "control characters" in _fields(body)[f"input.{field}"]


async def test_an_origin_stored_before_the_check_never_reaches_the_csp_header(acme, client):
    # A row written by an older version: the page must still answer with a single-line header.
    await Workspace.filter(id=acme.workspace_id).update(
        allowed_origins=[HOST_ORIGIN, "https://evil.example\r\nSet-Cookie: a=b", "https://x y"]
    )
    created = await create_session(acme, integrationName="testkey")

    page = await client.get("/connect", params={"token": created["token"]})

    policy = page.headers["content-security-policy"]
    assert policy.endswith(f"frame-ancestors {HOST_ORIGIN}")
    assert "set-cookie" not in page.headers
