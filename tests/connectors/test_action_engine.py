"""The declarative engine's actions (``DeclarativeConnector.run_action``) and the format's rules
for them, against an emulator that answers with what it was sent."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from server.connectors.base import ActionInputError, ConnectorContext
from server.connectors.definition import DefinitionError, parse_definition
from server.connectors.http import ProviderAuthError, ProviderError

TOKEN = "action-engine-token-0001"


async def echo(request: Request) -> Response:
    """What the request carried: method, path (still encoded), query (every value), form or
    JSON body, and whether the token came along."""
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        return JSONResponse({"message": "bad token"}, status_code=401)
    raw = await request.body()
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/x-www-form-urlencoded"):
        body: Any = parse_qs(raw.decode())
    else:
        body = await request.json() if raw else None
    seen = {
        "method": request.method,
        "path": request.scope["raw_path"].decode(),
        "query": {key: request.query_params.getlist(key) for key in request.query_params},
        "body": body,
        "note": request.headers.get("x-note"),
    }
    return JSONResponse({"ok": True, "echo": seen})


async def empty(request: Request) -> Response:
    return Response(status_code=204)


async def text(request: Request) -> Response:
    return PlainTextResponse("queued")


async def refused(request: Request) -> Response:
    return JSONResponse({"error": {"message": "channel_not_found"}}, status_code=404)


def emulator() -> Starlette:
    return Starlette(
        routes=[
            Route("/api/empty", empty, methods=["DELETE"]),
            Route("/api/text", text, methods=["POST"]),
            Route("/api/refused", refused, methods=["POST"]),
            Route("/api/{rest:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]
    )


def action(request: dict[str, Any], properties: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "display_name": "Do it",
        "description": "Does it.",
        "input_schema": {"type": "object", "properties": properties or {}},
        "output_schema": {"type": "object"},
        "request": request,
        **extra,
    }


STRING = {"type": "string"}
ACTIONS: dict[str, Any] = {
    "post_message": action(
        {
            "method": "POST",
            "path": "/channels/{input.channel}/messages",
            "body": {
                "text": "{input.text}",
                "thread": "{input.thread}",
                "blocks": "{input.blocks}",
                "quoted": "From {input.author}: {input.text}",
                "fixed": {"priority": 1, "tags": ["a", "{input.tag}"]},
            },
            "headers": {"X-Note": "sent by {input.author}"},
        },
        {"channel": STRING, "text": STRING, "thread": STRING, "blocks": {}, "author": STRING, "tag": STRING},
        result_path="echo",
    ),
    "list_items": action(
        {
            "path": "/items",
            "query": {
                "limit": "{input.limit}",
                "status": "{input.status}",
                "all": True,
                "q": "name:{input.name}",
            },
        },
        {"limit": {"type": "integer"}, "status": {}, "name": STRING},
        read_only=True,
        result_path="echo.query",
    ),
    "create_customer": action(
        {
            "method": "POST",
            "path": "/customers",
            "body_format": "form",
            "body": {"email": "{input.email}", "metadata": "{input.metadata}", "expand": "{input.expand}"},
        },
        {"email": STRING, "metadata": {"type": "object"}, "expand": {"type": "array"}},
        result_path="echo.body",
    ),
    "replace": action(
        {"method": "PUT", "path": "/things/{input.thing.id}", "body": "{input}"},
        {"thing": {"type": "object"}},
        result_path="echo",
    ),
    "remove": action({"method": "DELETE", "path": "/empty"}),
    "enqueue": action({"method": "POST", "path": "/text"}),
    "refused": action({"method": "POST", "path": "/refused"}),
}


def definition(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "echo",
        "display_name": "Echo",
        "category": "OTHER",
        "description": "Answers with what it was sent.",
        "auth": {"type": "api_key"},
        "api": {"base_url": "https://echo.example/api"},
        "check": {"path": "/me"},
        "actions": copy.deepcopy(ACTIONS),
    }
    data.update(changes)
    return data


CONNECTOR = parse_definition(definition())


@pytest.fixture
async def context(serve_emulator: Any) -> Any:
    url = await serve_emulator(emulator())
    async with httpx.AsyncClient(timeout=10) as http:
        yield ConnectorContext(http=http, base_url=f"{url}/api", credentials={"secret_text": TOKEN})


async def run(context: ConnectorContext, name: str, input: dict[str, Any]) -> Any:
    return await CONNECTOR.run_action(context, name, input)


def test_actions_become_the_specs_actions():
    spec = CONNECTOR.SPEC
    assert [a.name for a in spec.actions] == list(ACTIONS)
    listed = spec.action("list_items")
    assert listed is not None and listed.read_only and listed.display_name == "Do it"
    assert spec.action("post_message") is not None and not spec.action("post_message").read_only  # type: ignore[union-attr]
    assert spec.action("nope") is None


async def test_a_json_body_keeps_types_drops_absent_values_and_fills_text(context):
    blocks = [{"type": "section", "text": "hi"}]
    seen = await run(
        context,
        "post_message",
        {"channel": "C01", "text": "line one\nline two", "blocks": blocks, "author": "ann", "tag": "b"},
    )
    assert seen["method"] == "POST" and seen["path"] == "/api/channels/C01/messages"
    assert seen["body"] == {
        "text": "line one\nline two",
        "blocks": blocks,
        "quoted": "From ann: line one\nline two",
        "fixed": {"priority": 1, "tags": ["a", "b"]},
    }
    assert "thread" not in seen["body"]
    assert seen["note"] == "sent by ann"


async def test_a_path_value_is_one_encoded_segment(context):
    seen = await run(context, "post_message", {"channel": "../admin?x=1", "text": "t", "author": "a"})
    assert seen["path"] == "/api/channels/..%2Fadmin%3Fx%3D1/messages"
    with pytest.raises(ActionInputError) as caught:
        await run(context, "post_message", {"channel": "..", "text": "t", "author": "a"})
    assert caught.value.path == "channel"


async def test_a_value_a_template_needs_is_reported_on_that_input_field(context):
    with pytest.raises(ActionInputError) as caught:
        await run(context, "post_message", {"text": "t", "author": "a"})
    assert (caught.value.path, caught.value.message) == ("channel", "is required by this action")


async def test_a_header_value_cannot_carry_a_line_break(context):
    with pytest.raises(ActionInputError) as caught:
        await run(context, "post_message", {"channel": "C1", "text": "t", "author": "a\r\nX-Evil: 1"})
    assert caught.value.path == "author"


async def test_query_values_absent_ones_left_out_lists_repeated(context):
    query = await run(context, "list_items", {"limit": 25, "status": ["open", "closed"], "name": "x y"})
    assert query == {"limit": ["25"], "status": ["open", "closed"], "all": ["true"], "q": ["name:x y"]}
    query = await run(context, "list_items", {"name": "z"})
    assert query == {"all": ["true"], "q": ["name:z"]}


async def test_a_form_body_nests_objects_and_repeats_lists(context):
    body = await run(
        context,
        "create_customer",
        {"email": "a@example.com", "metadata": {"plan": "pro", "seats": 3}, "expand": ["tax", "cards"]},
    )
    assert body == {
        "email": ["a@example.com"],
        "metadata[plan]": ["pro"],
        "metadata[seats]": ["3"],
        "expand": ["tax", "cards"],
    }


async def test_the_whole_input_as_body_and_a_nested_path_value(context):
    seen = await run(context, "replace", {"thing": {"id": "t/1", "name": "n"}})
    assert seen["method"] == "PUT" and seen["path"] == "/api/things/t%2F1"
    assert seen["body"] == {"thing": {"id": "t/1", "name": "n"}}


async def test_empty_and_non_json_answers(context):
    assert await run(context, "remove", {}) == {}
    assert await run(context, "enqueue", {}) == {"text": "queued"}


async def test_provider_errors_carry_the_providers_reason_and_no_token(context):
    with pytest.raises(ProviderError) as caught:
        await run(context, "refused", {})
    assert caught.value.status == 404 and "channel_not_found" in caught.value.message
    context.credentials = {"secret_text": "wrong-token-000000"}
    with pytest.raises(ProviderAuthError) as refused:
        await run(context, "list_items", {"name": "x"})
    assert "wrong-token" not in str(refused.value)


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data)
    return caught.value.problems


def test_template_names_must_be_input_properties_or_parameters():
    data = definition(actions={"a": action({"path": "/x/{input.nope}", "query": {"q": "{secret}"}})})
    assert problems(data) == [
        ("actions.a.request.path", "{input.nope} is not an input property or a parameter"),
        ("actions.a.request.query.q", "{secret} is not an input property or a parameter"),
    ]


def test_credentials_never_fill_an_action_template():
    data = definition(actions={"a": action({"method": "POST", "path": "/x", "body": {"k": "{api_key}"}})})
    assert problems(data) == [
        ("actions.a.request.body.k", "{api_key} is not an input property or a parameter")
    ]


def test_bodies_schemas_and_paths_are_checked():
    data = definition(
        actions={
            "get_with_body": action({"path": "/x", "body": {"a": 1}}),
            "bad_schema": action({"path": "/x"}, {"n": {"type": "nonsense"}}),
            "form_list": action({"method": "POST", "path": "/x", "body_format": "form", "body": ["a"]}),
            "no_slash": action({"path": "x"}),
        }
    )
    assert problems(data) == [
        ("actions.get_with_body.request.body", "is not sent with GET"),
        ("actions.bad_schema.input_schema.properties.n.type", "is not a valid JSON Schema"),
        ("actions.form_list.request.body", "must be an object when body_format is form"),
        ("actions.no_slash.request.path", "must start with /"),
    ]


def test_the_schema_refuses_bad_names_and_missing_parts():
    data = definition(actions={"Bad-Name": action({"path": "/x"}), "ok": {"display_name": "x"}})
    found = problems(data)
    assert ("actions", "must match ^[a-z][a-z0-9_]{0,63}$") in found
    assert ("actions.ok.request", "is required") in found
    assert ("actions.ok.input_schema", "is required") in found
