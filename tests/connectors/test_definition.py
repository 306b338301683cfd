"""parse_definition: the JSON Schema, the format's own rules, and the ConnectorSpec it makes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from server.connectors.base import CATEGORIES
from server.connectors.declarative import DeclarativeConnector
from server.connectors.definition import DefinitionError, parse_definition, schema


def minimal(**changes: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "name": "acme",
        "display_name": "Acme",
        "category": "CRM",
        "description": "Contacts in Acme.",
        "parameters": {"subdomain": {"title": "Subdomain"}},
        "auth": {
            "type": "oauth2",
            "authorization_url": "https://{subdomain}.acme.example/oauth/authorize",
            "token_url": "https://{subdomain}.acme.example/oauth/token",
            "scopes": ["read"],
        },
        "api": {"base_url": "https://{subdomain}.acme.example/api"},
        "check": {"path": "/me", "account_label": "account.name"},
        "streams": [
            {
                "name": "contacts",
                "path": "/contacts",
                "primary_key": ["id"],
                "cursor": {"field": "updated_at", "param": "since"},
                "schema": {"type": "object", "properties": {"id": {"type": "string"}, "updated_at": {}}},
            }
        ],
    }
    definition.update(changes)
    return definition


def problems(definition: Any) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(definition)
    return caught.value.problems


def test_categories_are_the_schemas_enum():
    assert list(CATEGORIES) == schema()["$defs"]["category"]["enum"]


def test_a_valid_definition_makes_a_connector_and_its_spec():
    connector = parse_definition(minimal())
    assert isinstance(connector, DeclarativeConnector)
    spec = connector.SPEC
    assert spec.auth_types == ("OAUTH2", "PLATFORM_OAUTH2")
    assert spec.oauth is not None and spec.oauth.authorize_url.startswith("https://{subdomain}.")
    assert spec.oauth.pkce and spec.oauth.client_authentication == "client_secret_post"
    assert spec.parameters_schema["required"] == ["subdomain"]
    pattern = spec.parameters_schema["properties"]["subdomain"]["pattern"]
    assert pattern.startswith("^") and pattern.endswith("$")  # anchored: it must match in full
    assert spec.streams[0].cursor_field == "updated_at"
    assert spec.streams[0].sync_modes == ("FULL_REFRESH", "INCREMENTAL")
    assert spec.source == "CATALOG" and parse_definition(minimal(), source="CUSTOM").SPEC.source == "CUSTOM"


def test_custom_auth_fields_become_a_form_with_secrets_write_only():
    auth = {
        "type": "custom",
        "fields": {
            "base_url": {"title": "Base URL", "pattern": "^https://[a-z]+\\.example\\.com$"},
            "api_key": {"title": "API key", "secret": True, "min_length": 8},
            "region": {"title": "Region", "optional": True},
        },
        "headers": {"Authorization": "Token token={api_key}"},
    }
    spec = parse_definition(minimal(auth=auth, api={"base_url": "{base_url}/api"}, parameters={})).SPEC
    assert spec.auth_types == ("CUSTOM_AUTH",)
    fields = spec.auth_fields_schema
    assert fields["required"] == ["base_url", "api_key"] and fields["additionalProperties"] is False
    assert fields["properties"]["api_key"] == {
        "type": "string",
        "title": "API key",
        "writeOnly": True,
        "format": "password",
        "minLength": 8,
    }
    assert "writeOnly" not in fields["properties"]["base_url"]


def test_schema_problems_name_the_dotted_path_without_the_value():
    long_value = "x" * 500
    bad = minimal(category=long_value)
    bad["streams"][0]["pagination"] = {"type": "scroll"}
    bad["auth"]["token_placement"] = {"in": "body"}
    found = problems(bad)
    paths = {path for path, _ in found}
    assert {"category", "streams.0.pagination.type", "auth.token_placement.in"} <= paths
    assert all(long_value not in message for _, message in found)


def test_cursor_pagination_needs_one_source_of_its_token():
    bad = minimal()
    bad["streams"][0]["pagination"] = {"type": "cursor", "param": "after"}
    assert ("streams.0.pagination", "needs exactly one of cursor_path or last_record_field") in problems(bad)


def test_rules_the_schema_cannot_say():
    bad = minimal(parameters={"subdomain": {"title": "S", "pattern": "(["}, "region": {"title": "R"}})
    bad["auth"]["token_response_parameters"] = ["region"]
    bad["auth"]["authorization_url"] = "https://{tenant}.acme.example/authorize"
    bad["api"]["base_url"] = "https://{access_token}.acme.example"
    stream = copy.deepcopy(bad["streams"][0])
    stream["primary_key"] = ["uuid"]
    stream["cursor"]["field"] = "modified"
    stream["path"] = "@evil.example/{settings.table}"
    stream["body"] = {"query": "{ items }"}
    bad["streams"].append(stream)
    found = problems(bad)
    assert ("parameters.subdomain.pattern", "is not a valid regular expression") in found
    assert ("auth.token_response_parameters.0", "is also declared in parameters") in found
    assert ("auth.authorization_url", "{tenant} is not a declared parameter or credential field") in found
    assert ("api.base_url", "{access_token} is not a declared parameter or credential field") in found
    assert ("streams.1.name", "repeats the name of streams.0") in found
    assert ("streams.1.primary_key.0", "is not a property of the schema") in found
    assert ("streams.1.cursor.field", "is not a property of the schema") in found
    assert ("streams.1.path", "must start with /") in found
    assert ("streams.1.path", "{settings.table} is not a declared setting") in found
    assert ("streams.1.body", "is sent only by a POST (set method: POST)") in found


def test_settings_placeholders_are_allowed_in_stream_paths_only():
    settings = {"type": "object", "properties": {"table": {"type": "string"}}}
    good = minimal(settings=settings)
    good["streams"][0]["path"] = "/tables/{settings.table}"
    assert parse_definition(good).SPEC.settings_schema["properties"] == {"table": {"type": "string"}}
    bad = minimal(settings=settings)
    bad["check"]["path"] = "/tables/{settings.table}"
    assert ("check.path", "{settings.table} is not a declared setting") in problems(bad)


def test_not_an_object_is_refused():
    assert problems(["a list"]) == [("", "must be of type object")]
