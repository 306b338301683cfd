"""The declarative engine, driven by definitions, against one REST emulator: every pagination
style, auth placement and rate-limit behaviour, and the guards (page-token loops, next links to
other hosts, header injection, parameters that try to move the host)."""

from __future__ import annotations

import copy
import time
from typing import Any

import httpx
import pytest

from server.connectors.base import ConnectorContext
from server.connectors.definition import parse_definition
from server.connectors.http import ProviderError
from tests.connectors.conftest import collect
from tests.emulators.rest_api import KEY, PASSWORD, REMAINING, RESET, TOKEN, USERNAME, RestApiEmulator

PAGE = 5
SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "updated": {"type": "integer"}},
}

STREAMS: dict[str, dict[str, Any]] = {
    "cursor": {
        "path": "/cursor",
        "record_selector": "items",
        "pagination": {
            "type": "cursor",
            "param": "after",
            "cursor_path": "next_cursor",
            "has_more_path": "has_more",
            "size_param": "limit",
            "page_size": PAGE,
        },
    },
    "last_record": {
        "path": "/last_record",
        "record_selector": "data",
        "pagination": {
            "type": "cursor",
            "param": "starting_after",
            "last_record_field": "id",
            "has_more_path": "has_more",
            "size_param": "limit",
            "page_size": PAGE,
        },
    },
    "next_link": {
        "path": "/next_link",
        "record_selector": "results",
        "pagination": {"type": "next_link", "next_path": "next", "size_param": "limit", "page_size": PAGE},
    },
    "link_header": {
        "path": "/link_header",
        "pagination": {"type": "link_header", "size_param": "per_page", "page_size": PAGE},
    },
    "offset": {
        "path": "/offset",
        "record_selector": "records",
        "pagination": {"type": "offset", "param": "offset", "size_param": "limit", "page_size": PAGE},
    },
    "page_number": {
        "path": "/page_number",
        "record_selector": "records",
        "pagination": {"type": "page_number", "param": "page", "size_param": "per_page", "page_size": PAGE},
    },
    "graphql": {
        "method": "POST",
        "path": "/graphql",
        "body": {"query": "query($after: String) { items(after: $after) { nodes { id } } }", "variables": {}},
        "record_selector": "data.items.nodes",
        "pagination": {
            "type": "cursor",
            "param": "variables.after",
            "cursor_path": "data.items.pageInfo.endCursor",
            "has_more_path": "data.items.pageInfo.hasNextPage",
            "size_param": "variables.first",
            "page_size": PAGE,
        },
    },
}

# auth definition, credentials, and the emulator route that expects that placement
AUTHS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "bearer api key": ({"type": "api_key"}, {"secret_text": TOKEN}, "bearer"),
    "oauth2 bearer": (
        {"type": "oauth2", "authorization_url": "https://id.example/a", "token_url": "https://id.example/t"},
        {"access_token": TOKEN},
        "bearer",
    ),
    "custom header": (
        {"type": "api_key", "name": "X-Api-Key", "value": "{api_key}"},
        {"secret_text": KEY},
        "header",
    ),
    "custom fields": (
        {
            "type": "custom",
            "fields": {"key": {"title": "Key", "secret": True}},
            "headers": {"X-Api-Key": "{key}"},
        },
        {"key": KEY},
        "header",
    ),
    "query key": ({"type": "api_key", "in": "query", "name": "api_key"}, {"secret_text": KEY}, "query"),
    "oauth2 query": (
        {
            "type": "oauth2",
            "authorization_url": "https://id.example/a",
            "token_url": "https://id.example/t",
            "token_placement": {"in": "query", "name": "api_key"},
        },
        {"access_token": KEY},
        "query",
    ),
    "basic": ({"type": "basic"}, {"username": USERNAME, "password": PASSWORD}, "basic"),
}


def definition(
    root: str, style: str = "cursor", auth: str = "bearer api key", *, sorted_: bool = True, **api: Any
) -> dict[str, Any]:
    auth_definition, _, route = AUTHS[auth]
    stream = {"name": style, "primary_key": ["id"], "schema": SCHEMA, **copy.deepcopy(STREAMS[style])}
    param = "variables.since" if style == "graphql" else "since"
    stream["cursor"] = {"field": "updated", "param": param, "sorted": sorted_}
    return {
        "name": "rest_api",
        "display_name": "REST emulator",
        "category": "OTHER",
        "description": "The engine's test API.",
        "auth": copy.deepcopy(auth_definition),
        "api": {"base_url": f"{root}/{route}", **api},
        "check": {"path": "/me", "account_label": "account.name"},
        "streams": [stream],
    }


@pytest.fixture
async def emulator(serve_emulator) -> RestApiEmulator:
    emulator = RestApiEmulator(items=23)
    emulator.url = await serve_emulator(emulator.app)  # type: ignore[attr-defined]
    return emulator


def context(http: httpx.AsyncClient, credentials: dict[str, Any], **extra: Any) -> ConnectorContext:
    return ConnectorContext(http=http, base_url=None, credentials=credentials, **extra)


def ids(batches: list[list[dict[str, Any]]]) -> list[str]:
    return [record["id"] for batch in batches for record in batch]


# -- pagination and incremental reads ---------------------------------------------------------


@pytest.mark.parametrize("style", sorted(STREAMS))
async def test_every_pagination_style_reads_every_record_once_and_resumes(http, emulator, style):
    connector = parse_definition(definition(emulator.url, style))
    ctx = context(http, {"secret_text": TOKEN})
    batches, states = await collect(connector, ctx, style)
    assert ids(batches) == [item["id"] for item in emulator.items]  # complete, in order, no duplicates
    assert [len(batch) for batch in batches] == [5, 5, 5, 5, 3]
    assert batches[0][0]["details"] == {"rank": 1, "tags": ["a"]}  # nested values kept as they came
    # Sorted by the cursor: a checkpoint after every page, the last one the newest value.
    assert len(states) == 5 and states[-1] == {"cursor": emulator.items[-1]["updated"]}

    new = [emulator.add(), emulator.add()]
    batches, later = await collect(connector, ctx, style, state=states[-1])
    assert ids(batches) == [item["id"] for item in new]
    assert later == [{"cursor": new[-1]["updated"]}]


async def test_an_unsorted_stream_checkpoints_once_after_the_last_page(http, emulator):
    connector = parse_definition(definition(emulator.url, "offset", sorted_=False))
    batches, states = await collect(connector, context(http, {"secret_text": TOKEN}), "offset")
    assert len(batches) == 5 and states == [{"cursor": emulator.items[-1]["updated"]}]


async def test_a_read_with_nothing_new_keeps_its_cursor(http, emulator):
    connector = parse_definition(definition(emulator.url, "cursor", sorted_=False))
    state = {"cursor": emulator.items[-1]["updated"]}
    batches, states = await collect(connector, context(http, {"secret_text": TOKEN}), "cursor", state=state)
    assert batches == [] and states == [state]
    assert f"since={state['cursor']}" in emulator.controls.calls[-1]


async def test_a_cursor_can_be_sent_inside_a_filter_expression(http, emulator):
    document = definition(emulator.url, "offset")
    document["streams"][0]["cursor"]["value"] = "greater-than(updated,{cursor})"
    connector = parse_definition(document)
    ctx = context(http, {"secret_text": TOKEN})
    _, states = await collect(connector, ctx, "offset")
    new = emulator.add()
    batches, _ = await collect(connector, ctx, "offset", state=states[-1])
    assert ids(batches) == [new["id"]]
    assert f"since=greater-than%28updated%2C{states[-1]['cursor']}%29" in emulator.controls.calls[-1]


@pytest.mark.parametrize("style", sorted(STREAMS))
async def test_a_repeated_page_token_stops_the_read(http, emulator, style):
    emulator.controls.repeat_token = True
    connector = parse_definition(definition(emulator.url, style))
    with pytest.raises(ProviderError) as raised:
        await collect(connector, context(http, {"secret_text": TOKEN}), style)
    assert "repeated a page token" in raised.value.message
    assert len(emulator.controls.calls) <= 3


@pytest.mark.parametrize("style", ["next_link", "link_header"])
async def test_a_next_link_to_another_host_is_refused(http, emulator, style):
    emulator.controls.foreign_next_link = "http://127.0.0.2:9"
    connector = parse_definition(definition(emulator.url, style))
    with pytest.raises(ProviderError) as raised:
        await collect(connector, context(http, {"secret_text": TOKEN}), style)
    assert raised.value.message == "the provider sent a next-page link to another host"
    assert len(emulator.controls.calls) == 1


# -- auth placement -----------------------------------------------------------------------------


@pytest.mark.parametrize("auth", sorted(AUTHS))
async def test_every_auth_placement_checks_and_reads(http, emulator, auth):
    _, credentials, route = AUTHS[auth]
    connector = parse_definition(definition(emulator.url, "cursor", auth))
    result = await connector.check(context(http, credentials), credentials)
    assert result.ok and result.account_label == "Emulated Co"
    batches, _ = await collect(connector, context(http, credentials), "cursor")
    assert len(ids(batches)) == 23
    assert set(emulator.controls.auth_seen) == {route}
    if route == "query":  # the key rides along with the paging parameters, not instead of them
        assert all("api_key=" in call and "limit=5" in call for call in emulator.controls.calls[1:])


@pytest.mark.parametrize("auth", sorted(AUTHS))
async def test_wrong_credentials_fail_the_check_without_echoing_them(http, emulator, auth):
    _, credentials, _ = AUTHS[auth]
    wrong = {name: f"{value}-wrong" for name, value in credentials.items()}
    connector = parse_definition(definition(emulator.url, "cursor", auth))
    result = await connector.check(context(http, wrong), wrong)
    assert not result.ok and result.message == "HTTP 401: unauthorized"


@pytest.mark.parametrize(
    ("auth", "credentials"),
    [
        ("custom fields", {"key": f"{KEY}\r\nX-Admin: yes"}),
        ("custom header", {"secret_text": f"{KEY}\nX-Admin: yes"}),
        ("query key", {"secret_text": f"{KEY}\r\n"}),
    ],
)
async def test_a_credential_cannot_add_a_header(http, emulator, auth, credentials):
    connector = parse_definition(definition(emulator.url, "cursor", auth))
    result = await connector.check(context(http, credentials), credentials)
    assert not result.ok and "must not contain control characters" in result.message
    assert emulator.controls.calls == []


async def test_a_parameter_cannot_move_the_host():
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, json={"account": {"name": "Acme"}})

    data = definition("https://placeholder.example")
    data["parameters"] = {
        "subdomain": {"title": "Subdomain"},
        "region": {"title": "Region", "pattern": "^[a-z0-9.-]{1,40}$", "default": "eu"},
    }
    data["api"]["base_url"] = "https://{subdomain}.{region}.acme.example/api"
    connector = parse_definition(data)
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        good = context(client, {"secret_text": TOKEN}, parameters={"subdomain": "shop-1"})
        assert (await connector.check(good, good.credentials)).ok
        for subdomain in ("evil.example/x", "evil.example#", "a.evil", "x@evil", "evil.example:443", ""):
            bad = context(client, {"secret_text": TOKEN}, parameters={"subdomain": subdomain})
            result = await connector.check(bad, bad.credentials)
            assert not result.ok, subdomain
        # A pattern that lets dots through still cannot leave acme.example.
        dotted = context(client, {"secret_text": TOKEN}, parameters={"subdomain": "a", "region": "evil.com"})
        assert (await connector.check(dotted, dotted.credentials)).ok
        slashed = context(client, {"secret_text": TOKEN}, parameters={"subdomain": "a", "region": "x/y"})
        assert not (await connector.check(slashed, slashed.credentials)).ok
    assert sent == ["https://shop-1.eu.acme.example/api/me", "https://a.evil.com.acme.example/api/me"]


async def test_settings_fill_a_path_as_one_segment():
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, json={"items": [], "has_more": False})

    data = definition("https://api.acme.example")
    data["settings"] = {"type": "object", "properties": {"table": {"type": "string"}}}
    data["streams"][0]["path"] = "/tables/{settings.table}/rows"
    connector = parse_definition(data)
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        ctx = context(client, {"secret_text": TOKEN})
        await collect(connector, ctx, "cursor", settings={"table": "../../admin?x=1"})
    assert sent == ["https://api.acme.example/bearer/tables/..%2F..%2Fadmin%3Fx%3D1/rows?limit=5"]


# -- rate limits --------------------------------------------------------------------------------


async def test_a_429_with_retry_after_is_waited_out(http, emulator):
    emulator.controls.rate_limited = 1
    connector = parse_definition(definition(emulator.url, "page_number"))
    started = time.monotonic()
    batches, _ = await collect(connector, context(http, {"secret_text": TOKEN}), "page_number")
    assert time.monotonic() - started >= 1 and len(ids(batches)) == 23


@pytest.mark.parametrize("reset", ["epoch_seconds", "seconds", "iso8601", "http_date"])
async def test_a_403_with_no_quota_left_waits_for_the_named_reset_header(http, emulator, reset):
    emulator.controls.quota_exhausted, emulator.controls.reset_kind = 1, reset
    rate_limit = {"remaining_header": REMAINING, "reset_header": RESET, "reset": reset}
    connector = parse_definition(definition(emulator.url, "offset", rate_limit=rate_limit))
    batches, _ = await collect(connector, context(http, {"secret_text": TOKEN}), "offset")
    assert len(ids(batches)) == 23 and len(emulator.controls.calls) == 6


async def test_a_403_is_an_error_when_the_definition_does_not_name_the_quota_headers(http, emulator):
    emulator.controls.quota_exhausted = 1
    connector = parse_definition(definition(emulator.url, "offset"))
    with pytest.raises(ProviderError) as raised:
        await collect(connector, context(http, {"secret_text": TOKEN}), "offset")
    assert raised.value.status == 403


async def test_a_token_response_parameter_builds_the_base_url_only_when_it_is_an_https_url():
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, json={"account": {"name": "Acme"}})

    data = definition("https://placeholder.example", auth="oauth2 bearer")
    data["auth"]["token_response_parameters"] = ["instance_url"]
    data["api"]["base_url"] = "{instance_url}/services/data/v60.0"
    connector = parse_definition(data)
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        for instance, ok in (
            ("https://acme.my.salesforce.com", True),
            ("https://user@evil.example", False),
            ("http://acme.my.salesforce.com", False),
            ("javascript:alert(1)", False),
        ):
            ctx = context(client, {"access_token": TOKEN}, parameters={"instance_url": instance})
            assert (await connector.check(ctx, ctx.credentials)).ok is ok, instance
    assert sent == ["https://acme.my.salesforce.com/services/data/v60.0/me"]
