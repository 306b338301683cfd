"""Every built-in connector's SPEC is complete, well-formed data."""

from __future__ import annotations

import inspect
from pathlib import Path

import jsonschema
import pytest

from server.connectors import github
from server.connectors.base import AUTH_TYPES, CATEGORIES, ConnectorContext, fill_settings_schema
from server.connectors.declarative import DeclarativeConnector
from server.connectors.registry import CONNECTORS, settings_schema_for, streams_for
from tests.connectors.test_catalog_definitions import SCOPELESS
from tests.emulators.common import serve
from tests.emulators.github import TOKEN, GitHubEmulator

LOGOS = Path(github.__file__).parent / "logos"
SOURCES = {"demo", "postgres", "hubspot", "github", "stripe"}
EVERY = SOURCES | {"slack", "openai", "sendgrid", "smtp", "freshsales", "airtable"}
SECRET_FIELDS = {"password", "api_key", "access_token", "token"}
PYTHON = {"demo", "postgres", "hubspot", "github", "smtp"}
# Actions without a connection (server/connectors/builtins/).
BUILT_INS = {"datetime", "hash_encode", "kv_store"}


def test_the_catalog_holds_every_built_in_connector():
    assert EVERY | BUILT_INS <= set(CONNECTORS)
    for name, module in CONNECTORS.items():
        assert module.SPEC.name == name
        if not module.SPEC.requires_connection:  # actions only: nothing to check or read
            assert name in BUILT_INS
            assert inspect.iscoroutinefunction(module.run_action)
            assert not hasattr(module, "check") and not hasattr(module, "read")
            assert not module.SPEC.streams and module.SPEC.actions
            continue
        assert inspect.iscoroutinefunction(module.check)
        if name in PYTHON:
            assert hasattr(module, "read") == (name in SOURCES)
        else:  # a definition: it reads when it has streams
            assert isinstance(module, DeclarativeConnector)
            assert inspect.isasyncgenfunction(module.read)
    assert {name for name in EVERY if CONNECTORS[name].SPEC.streams} == SOURCES - {"postgres"}


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_spec_is_well_formed(name):
    spec = CONNECTORS[name].SPEC
    assert spec.category in CATEGORIES and spec.description and spec.display_name
    assert set(spec.auth_types) <= set(AUTH_TYPES)
    assert (LOGOS / f"{name}.svg").read_text().startswith("<svg")
    assert spec.docs_url is None or spec.docs_url.startswith("https://")
    # Freshsales' base URL is the {base_url} credential field (pinned to Freshworks by its pattern).
    assert spec.base_url is None or spec.base_url.startswith(("https://", "{"))
    wants_oauth = bool({"OAUTH2", "PLATFORM_OAUTH2"} & set(spec.auth_types))
    assert (spec.oauth is not None) == wants_oauth
    if spec.oauth:
        assert spec.oauth.authorize_url.startswith("https://")
        assert bool(spec.oauth.default_scopes) != (name in SCOPELESS)
    has_fields = bool({"BASIC_AUTH", "CUSTOM_AUTH"} & set(spec.auth_types))
    assert (spec.auth_fields_schema is not None) == has_fields
    if spec.auth_fields_schema:
        jsonschema.Draft202012Validator.check_schema(spec.auth_fields_schema)
        for field, prop in spec.auth_fields_schema["properties"].items():
            assert prop.get("title"), field
            assert prop.get("writeOnly", False) == (field in SECRET_FIELDS), field
    jsonschema.Draft202012Validator.check_schema(spec.settings_schema)
    for stream in spec.streams:
        jsonschema.Draft202012Validator.check_schema(stream.record_schema)
        names = stream.record_schema["properties"]
        assert set(stream.primary_key) <= set(names)
        assert stream.cursor_field is None or stream.cursor_field.split(".")[0] in names


def test_basic_auth_fields_include_username_and_password():
    properties = CONNECTORS["smtp"].SPEC.auth_fields_schema["properties"]
    assert {"username", "password", "host", "port", "security"} <= set(properties)
    assert properties["security"]["enum"] == ["STARTTLS", "TLS", "NONE"]


def test_fill_settings_schema_sets_enums_without_touching_the_spec():
    schema = CONNECTORS["postgres"].SPEC.settings_schema
    filled = fill_settings_schema(
        schema, {"schema": ["public", "sales"], "tables": ["a", "b"], "unknown": ["x"]}
    )
    assert filled["properties"]["schema"]["enum"] == ["public", "sales"]
    assert filled["properties"]["tables"]["items"] == {"type": "string", "enum": ["a", "b"]}
    assert "enum" not in schema["properties"]["schema"]
    jsonschema.Draft202012Validator.check_schema(filled)


async def test_static_streams_come_from_the_spec(http):
    context = ConnectorContext(http=http, base_url=None)
    stripe = CONNECTORS["stripe"]
    assert await streams_for(stripe, context, {}, {}) == stripe.SPEC.streams
    assert await settings_schema_for(stripe, context, {}, {}) == stripe.SPEC.settings_schema


async def test_settings_schema_lists_what_the_account_holds(http):
    emulator = GitHubEmulator(repositories=2)
    async with serve(emulator.app) as url:
        context = ConnectorContext(http=http, base_url=url)
        schema = await settings_schema_for(github, context, {"secret_text": TOKEN}, {})
    assert schema["properties"]["repositories"]["items"]["enum"] == [
        "octo-org/project-001",
        "octo-org/project-002",
    ]
    jsonschema.validate({"repositories": ["octo-org/project-002"]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"repositories": ["someone/else"]}, schema)
