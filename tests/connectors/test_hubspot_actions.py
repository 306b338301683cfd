"""The HubSpot connector's actions (create, search and update contacts) against the HubSpot
emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from jsonschema import Draft202012Validator

from server.connectors import hubspot
from server.connectors.base import ActionInputError, ConnectorContext
from server.connectors.http import ProviderAuthError, ProviderError
from tests.emulators.common import serve
from tests.emulators.hubspot import TOKEN, HubSpotEmulator


@pytest.fixture
async def emulator() -> AsyncIterator[HubSpotEmulator]:
    emulator = HubSpotEmulator(contacts=3)
    async with serve(emulator.app) as url:
        emulator.url = url  # type: ignore[attr-defined]
        yield emulator


def context(http: httpx.AsyncClient, emulator: HubSpotEmulator, token: str = TOKEN, refresh=None):
    return ConnectorContext(
        http=http,
        base_url=emulator.url,  # type: ignore[attr-defined]
        credentials={"access_token": token, "refresh_token": "refresh-1", "token_type": "bearer"},
        refresh_credentials=refresh,
        caller="action",
    )


def output_schema(name: str) -> Draft202012Validator:
    return Draft202012Validator(hubspot.SPEC.action(name).output_schema)


def test_the_action_schemas_are_valid_json_schema():
    assert [a.name for a in hubspot.SPEC.actions] == ["create_contact", "search_contacts", "update_contact"]
    for action in hubspot.SPEC.actions:
        Draft202012Validator.check_schema(action.input_schema)
        Draft202012Validator.check_schema(action.output_schema)
    create = Draft202012Validator(hubspot.SPEC.action("create_contact").input_schema)
    assert not create.is_valid({"properties": {}})
    assert not create.is_valid({"properties": {"bad name/../x": "1"}})
    assert "crm.objects.contacts.write" in hubspot.SPEC.oauth.default_scopes


async def test_create_then_search_by_email_finds_it(http, emulator):
    created = await hubspot.run_action(
        context(http, emulator),
        "create_contact",
        {"properties": {"email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace"}},
    )
    output_schema("create_contact").validate(created)
    assert created["id"] == "4" and created["properties"]["firstname"] == "Ada"
    assert created["properties"]["hs_object_id"] == "4"
    found = await hubspot.run_action(
        context(http, emulator),
        "search_contacts",
        {"email": "ADA@example.com", "properties": ["email", "lastname"]},
    )
    output_schema("search_contacts").validate(found)
    assert found["total"] == 1 and found["next_after"] is None
    assert found["results"][0]["id"] == "4"
    assert found["results"][0]["properties"] == {"email": "ada@example.com", "lastname": "Lovelace"}


async def test_search_by_query_pages_with_after(http, emulator):
    for n in range(5):
        emulator.add("contacts", firstname=f"Grace{n}", company="Navy Labs")
    first = await hubspot.run_action(
        context(http, emulator), "search_contacts", {"query": "navy", "limit": 3}
    )
    assert first["total"] == 5 and len(first["results"]) == 3 and first["next_after"] == "3"
    rest = await hubspot.run_action(
        context(http, emulator),
        "search_contacts",
        {"query": "navy", "limit": 3, "after": first["next_after"]},
    )
    assert [r["properties"]["firstname"] for r in rest["results"]] == ["Grace3", "Grace4"]
    assert rest["next_after"] is None
    # Without the properties asked for, the common ones come back.
    assert set(first["results"][0]["properties"]) >= {"email", "firstname", "lastname", "company"}


async def test_search_past_the_window_is_an_input_error(http, emulator):
    with pytest.raises(ActionInputError) as refused:
        await hubspot.run_action(context(http, emulator), "search_contacts", {"after": "10000"})
    assert refused.value.path == "after"


async def test_update_by_id_and_by_email(http, emulator):
    updated = await hubspot.run_action(
        context(http, emulator), "update_contact", {"contact_id": "2", "properties": {"jobtitle": "CTO"}}
    )
    output_schema("update_contact").validate(updated)
    assert updated["id"] == "2" and updated["properties"]["jobtitle"] == "CTO"
    by_email = await hubspot.run_action(
        context(http, emulator),
        "update_contact",
        {"contact_id": "person3@example.com", "id_property": "email", "properties": {"phone": 5550100}},
    )
    assert by_email["id"] == "3" and by_email["properties"]["phone"] == "5550100"
    assert (
        emulator.controls.calls[-1] == "PATCH /crm/v3/objects/contacts/person3@example.com?idProperty=email"
    )
    assert emulator.objects["contacts"][2]["properties"]["phone"] == "5550100"


async def test_a_contact_id_cannot_leave_the_contacts_path(http, emulator):
    for contact_id in ("..", "../../oauth", "2/../1"):
        with pytest.raises(ActionInputError) as refused:
            await hubspot.run_action(
                context(http, emulator),
                "update_contact",
                {"contact_id": contact_id, "properties": {"phone": "1"}},
            )
        assert refused.value.path == "contact_id"
    assert not any(call.startswith("PATCH") for call in emulator.controls.calls)


async def test_an_unknown_property_is_an_input_error_on_that_property(http, emulator):
    with pytest.raises(ActionInputError) as refused:
        await hubspot.run_action(
            context(http, emulator),
            "create_contact",
            {"properties": {"email": "x@example.com", "favourite": "7"}},
        )
    assert refused.value.path == "properties.favourite"
    assert refused.value.message == 'Property "favourite" does not exist'
    with pytest.raises(ActionInputError) as bad_email:
        await hubspot.run_action(
            context(http, emulator), "create_contact", {"properties": {"email": "not-an-email"}}
        )
    assert bad_email.value.path == "properties.email" and "is invalid" in bad_email.value.message


async def test_a_duplicate_email_is_the_providers_conflict(http, emulator):
    with pytest.raises(ProviderError) as refused:
        await hubspot.run_action(
            context(http, emulator), "create_contact", {"properties": {"email": "person1@example.com"}}
        )
    assert refused.value.status == 409 and "Contact already exists. Existing ID: 1" in refused.value.message


async def test_updating_a_missing_contact_is_not_found(http, emulator):
    with pytest.raises(ProviderError) as refused:
        await hubspot.run_action(
            context(http, emulator), "update_contact", {"contact_id": "999", "properties": {"phone": "1"}}
        )
    assert refused.value.status == 404 and refused.value.message == "resource not found"


async def test_an_expired_token_is_refreshed_once(http, emulator, refresher):
    emulator.controls.expire(TOKEN)
    emulator.controls.tokens.add("CJT0fresh-token-0002")
    refresh = refresher({"access_token": "CJT0fresh-token-0002", "refresh_token": "refresh-2"})
    result = await hubspot.run_action(context(http, emulator, refresh=refresh), "search_contacts", {})
    assert result["total"] == 3 and refresh.calls == 1


async def test_a_refused_token_never_appears_in_the_error(http, emulator):
    secret = "CJT0this-token-is-not-known-000000"
    with pytest.raises(ProviderAuthError) as refused:
        await hubspot.run_action(
            context(http, emulator, token=secret),
            "create_contact",
            {"properties": {"email": "z@example.com"}},
        )
    assert refused.value.status == 401 and secret not in str(refused.value)
    assert len(emulator.objects["contacts"]) == 3


async def test_a_rate_limit_is_waited_out(http, emulator):
    emulator.controls.rate_limit_once(retry_after=0)
    result = await hubspot.run_action(
        context(http, emulator), "search_contacts", {"email": "person2@example.com"}
    )
    assert [r["id"] for r in result["results"]] == ["2"]
