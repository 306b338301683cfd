"""server.connectors.parameters: checking per-connection parameters and filling URLs with them."""

from __future__ import annotations

import pytest

from server.connectors.base import ConnectorSpec, OAuthSpec
from server.connectors.parameters import (
    check_parameters,
    fill_url,
    merge_parameters,
    parameter_errors,
    token_parameters,
)
from server.connectors.schemas import form
from server.errors import ValidationFailed

# The shape server.connectors.definition gives a definition's parameters: anchored patterns.
SPEC = ConnectorSpec(
    name="zendesk_like",
    display_name="Zendesk-like",
    category="SUPPORT",
    auth_types=("OAUTH2",),
    description="",
    parameters_schema=form(
        {
            "subdomain": {"type": "string", "title": "Subdomain"},
            "realm_id": {"type": "string", "title": "Realm", "pattern": "^(?:[0-9]{1,20})$"},
            "region": {"type": "string", "title": "Region", "pattern": "^(?:eu|us)$", "default": "us"},
        },
        required=["subdomain", "realm_id"],
    ),
    oauth=OAuthSpec(
        authorize_url="https://{subdomain}.example.com/oauth/authorize",
        token_url="https://{subdomain}.example.com/oauth/tokens",
        token_response_parameters=("instance_url",),
    ),
)


def fields(values, **options) -> dict[str, str]:
    return {problem.field: problem.message for problem in parameter_errors(SPEC, values, **options)}


def test_valid_parameters_get_their_defaults():
    assert check_parameters(SPEC, {"subdomain": "acme-1", "realm_id": "123"}) == {
        "subdomain": "acme-1",
        "realm_id": "123",
        "region": "us",
    }


def test_every_problem_is_named_by_its_path_and_no_value_is_quoted():
    found = fields({"subdomain": "-acme", "realm_id": "12a", "region": "x" * 1000, "zz": "1"})
    assert set(found) == {
        "input.parameters.subdomain",
        "input.parameters.realm_id",
        "input.parameters.region",
        "input.parameters.zz",
    }
    assert found["input.parameters.region"] == "must be at most 255 characters"
    assert all("x" * 50 not in message for message in found.values())


def test_partial_skips_required_but_not_the_values():
    assert fields({"subdomain": "acme"}, partial=True) == {}
    assert fields({}, partial=False) == {
        "input.parameters.subdomain": "is required",
        "input.parameters.realm_id": "is required",
    }
    assert fields({"subdomain": "a.b"}, partial=True) == {
        "input.parameters.subdomain": "must be a host-name label: lower-case letters, digits and hyphens (at most 63)"
    }


def test_a_spec_without_parameters_takes_none():
    plain = ConnectorSpec(
        name="p", display_name="Plain", category="OTHER", auth_types=("NONE",), description=""
    )
    assert check_parameters(plain, None) == {}
    with pytest.raises(ValidationFailed) as refused:
        check_parameters(plain, {"a": "b"})
    assert refused.value.errors[0].field == "input.parameters"


def test_presets_win_and_cannot_be_changed():
    merged = merge_parameters(SPEC, {"subdomain": "acme"}, {"subdomain": "acme", "realm_id": "9"})
    assert merged == {"subdomain": "acme", "realm_id": "9", "region": "us"}
    with pytest.raises(ValidationFailed) as refused:
        merge_parameters(SPEC, {"subdomain": "acme"}, {"subdomain": "evil", "realm_id": "9"})
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("input.parameters.subdomain", "is set by the app and cannot be changed")
    ]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://eu7.my.salesforce.com", True),
        ("na1", True),
        ("http://eu7.my.salesforce.com", False),
        ("https://user@evil.example", False),
        ("https://evil.example/?next=x", False),
        ("javascript:alert(1)", False),
        ("https://a\r\nb.example", False),
        (["https://a.example"], False),
    ],
)
def test_token_response_parameters_are_https_urls_or_labels(value, ok):
    if ok:
        assert token_parameters(SPEC.oauth, {"instance_url": value}) == {"instance_url": value}
    else:
        with pytest.raises(ValidationFailed) as refused:
            token_parameters(SPEC.oauth, {"instance_url": value})
        assert refused.value.errors[0].field == "token.instance_url"


def test_a_missing_token_response_parameter_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        token_parameters(SPEC.oauth, {"access_token": "x"})
    assert refused.value.errors[0].message == "is missing from the token response"


def test_fill_url_puts_the_tenant_in_the_url_and_refuses_a_host_change():
    assert fill_url(SPEC.oauth.token_url, {"subdomain": "acme"}) == "https://acme.example.com/oauth/tokens"
    for hostile in ("evil.com/x", "evil.com#", "a@b", "a:1"):
        with pytest.raises(ValidationFailed) as refused:
            fill_url(SPEC.oauth.token_url, {"subdomain": hostile})
        assert refused.value.errors[0].field == "input.parameters.subdomain"
    with pytest.raises(ValidationFailed) as missing:
        fill_url(SPEC.oauth.token_url, {})
    assert (missing.value.errors[0].field, missing.value.errors[0].message) == (
        "input.parameters.subdomain",
        "has no value",
    )
