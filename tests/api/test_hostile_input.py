"""No input is a server error: every query and mutation of the schema, fed hostile values.

The walk is driven by the schema itself (so a new operation is fuzzed without being listed):
each argument, and each field of an input object, is replaced in turn by every hostile value of
its type while the others keep a plausible value (real ids of the caller's own objects, from
``victim_objects`` of the tenant-isolation walk). No answer may be ``INTERNAL`` or a 5xx.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
)

from server.api.schema import build_schema
from server.logs import JsonFormatter, TextFormatter
from tests.api.test_tenant_isolation import CONNECT_TOKEN_OPERATIONS, victim_objects
from tests.conftest import Tenant, client_for

HUGE = "x" * 100_000
# Ids: longer than the column, NUL (Postgres refuses it in text), a lone surrogate (no
# encoding takes it), a well-shaped id of nothing, and empty.
HOSTILE_IDS = ["x" * 33, "conn_" + "0" * 300, "ws_\u0000", "\ud800", "sync_" + "0" * 26, "", HUGE]
HOSTILE_STRINGS = ["", "\u0000", "a\u0000b", "\ud800", "x\udfffy", "x" * 300, HUGE, "😀" * 64]
HOSTILE_VALUES: dict[str, list[Any]] = {
    "ID": HOSTILE_IDS,
    "String": HOSTILE_STRINGS,
    "Int": [-1, 0, 2**31 - 1, -(2**31), 2**40],
    "Float": [-1e308, 1e308],
    "Boolean": [None],
    "JSON": [{}, [], {"a": "\u0000"}, {"\ud800": 1}, "\ud800", {"x": HUGE}, 2**70],
    "DateTime": ["not a date", "\u0000", "9999-99-99T99:99:99Z", HUGE],
}
WRONG_ENUM = "NO_SUCH_VALUE"

# Which of the caller's objects an ID argument names, by argument name, else by the operation.
ID_KINDS = {
    "workspaceId": "workspace",
    "connectionId": "connection",
    "syncId": "sync",
    "runId": "run",
    "endpointId": "webhook_endpoint",
    "eventId": "webhook_event",
    "endUserId": "end_user",
    "fixedConnectionId": "connection",
    "reconnectConnectionId": "connection",
}
OPERATION_KINDS = [
    ("connectsession", "connect_session"),
    ("syncrun", "run"),
    ("webhookendpoint", "webhook_endpoint"),
    ("webhookevent", "webhook_event"),
    ("enduser", "end_user"),
    ("apikey", "api_key"),
    ("workspace", "workspace"),
    ("connection", "connection"),
    ("sync", "sync"),
]
PLAUSIBLE_STRINGS = {
    "integrationName": "demo",
    "syncInterval": "0 * * * *",
    "url": "http://127.0.0.1:9/fuzz",
    "destinationSchemaName": "fuzz",
    "timezone": "UTC",
}
# Operations that destroy what later ones use run last.
DESTRUCTIVE = ("delete", "revoke", "cancel")


def _id_kind(operation: str, argument: str) -> str:
    if argument in ID_KINDS:
        return ID_KINDS[argument]
    lowered = operation.lower()
    return next((kind for word, kind in OPERATION_KINDS if word in lowered), "workspace")


def _named(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def plausible(type_: Any, operation: str, name: str, ids: dict[str, str], depth: int = 0) -> Any:
    """A value of ``type_`` that a careful client might send."""
    if isinstance(type_, GraphQLNonNull):
        return plausible(type_.of_type, operation, name, ids, depth)
    if isinstance(type_, GraphQLList):
        return [plausible(type_.of_type, operation, name, ids, depth)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            field_name: plausible(field.type, operation, field_name, ids, depth + 1)
            for field_name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined and depth < 4
        }
    scalar = type_.name
    if scalar == "ID":
        return ids[_id_kind(operation, name)]
    if scalar == "String":
        return PLAUSIBLE_STRINGS.get(name, "fuzz")
    return {"Int": 1, "Float": 1.0, "Boolean": False, "JSON": {}, "DateTime": "2026-01-01T00:00:00+00:00"}[
        scalar
    ]


def hostile(type_: Any, ids: dict[str, str]) -> list[Any]:
    """The values of ``type_`` to try at one position."""
    named = _named(type_)
    if isinstance(named, GraphQLEnumType):
        return [WRONG_ENUM]
    if isinstance(named, GraphQLInputObjectType):
        return [{}]
    assert isinstance(named, GraphQLScalarType)
    values = list(HOSTILE_VALUES[named.name])
    if named.name == "ID":
        values += sorted(set(ids.values()))
    if isinstance(_strip_non_null(type_), GraphQLList):
        values = [[value] for value in values] + [[]]
    return values


def _strip_non_null(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def positions(type_: Any, path: tuple[str, ...], depth: int = 0):
    """Every place a hostile value can go: the argument itself and, inside an input object,
    each of its fields (recursively)."""
    yield path, type_
    named = _named(type_)
    if isinstance(named, GraphQLInputObjectType) and depth < 3:
        for field_name, field in named.fields.items():
            yield from positions(field.type, (*path, field_name), depth + 1)


def _set(variables: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """``variables`` with ``value`` at ``path`` (input objects on the way are created)."""
    result = json.loads(json.dumps(variables))
    target = result
    for step in path[:-1]:
        if isinstance(target.get(step), list):
            target[step] = target[step][0] if target[step] else {}
        if not isinstance(target.get(step), dict):
            target[step] = {}
        target = target[step]
    target[path[-1]] = value
    return result


def cases(ids: dict[str, str]):
    """(operation, document, variables) for every hostile value at every position."""
    schema = build_schema()._schema
    fields = [("query", name, field) for name, field in schema.query_type.fields.items()]
    fields += [("mutation", name, field) for name, field in schema.mutation_type.fields.items()]
    fields.sort(key=lambda item: item[1].startswith(DESTRUCTIVE))
    for kind, name, field in fields:
        definitions = ", ".join(f"${arg}: {arg_def.type}" for arg, arg_def in field.args.items())
        arguments = ", ".join(f"{arg}: ${arg}" for arg in field.args)
        selection = "" if isinstance(_named(field.type), GraphQLScalarType) else " { __typename }"
        document = (
            f"{kind}{f'({definitions})' if definitions else ''} "
            f"{{ {name}{f'({arguments})' if arguments else ''}{selection} }}"
        )
        base = {
            arg: plausible(arg_def.type, name, arg, ids)
            for arg, arg_def in field.args.items()
            if isinstance(arg_def.type, GraphQLNonNull)
        }
        yield name, document, base
        for arg, arg_def in field.args.items():
            for path, type_ in positions(arg_def.type, (arg,)):
                for value in hostile(type_, ids):
                    yield name, document, _set(base, path, value)


async def _post(http, key: str, document: str, variables: dict[str, Any]):
    # ensure_ascii: a lone surrogate travels as a JSON escape, as a hostile client sends it.
    body = json.dumps({"query": document, "variables": variables}, ensure_ascii=True)
    return await http.post(
        "/graphql",
        content=body.encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )


async def test_no_hostile_input_is_a_server_error(settings, caplog):
    started = time.monotonic()
    unlimited = dataclasses.replace(
        settings, rate_limit_key_per_minute=0, rate_limit_connect_token_per_minute=0
    )
    failures = []
    async with client_for(unlimited) as http:
        from tests.conftest import make_tenant

        tenant: Tenant = await make_tenant(http, "Fuzz")
        ids = await victim_objects(tenant)
        session = await tenant.data(
            "mutation($w: ID!) { createConnectSession(input: {workspaceId: $w}) { token } }",
            {"w": tenant.workspace_id},
        )
        token = session["createConnectSession"]["token"]
        count = 0
        with caplog.at_level(logging.INFO):
            for name, document, variables in cases(ids):
                key = token if name in CONNECT_TOKEN_OPERATIONS else tenant.key
                response = await _post(http, key, document, variables)
                count += 1
                answer = response.json()
                codes = [error.get("extensions", {}).get("code") for error in answer.get("errors") or []]
                if response.status_code >= 500 or "INTERNAL" in codes:
                    failures.append(
                        (name, json.dumps(variables)[:200], response.status_code, str(answer)[:300])
                    )
        # Log lines never copy an oversized value, in either format.
        longest = max(
            (
                len(formatter.format(record))
                for record in caplog.records
                for formatter in (TextFormatter("%(message)s"), JsonFormatter())
            ),
            default=0,
        )
    assert not failures, f"{len(failures)} of {count} answers were server errors:\n" + "\n".join(
        map(str, failures[:40])
    )
    assert longest < 20_000, f"a log line of {longest} characters"
    assert count > 500  # the walk really walked
    assert time.monotonic() - started < 120


# -- what each kind of hostile value answers ----------------------------------------------------

SESSION = "mutation($input: CreateConnectSessionInput!) { createConnectSession(input: $input) { token } }"


async def _code_and_fields(tenant: Tenant, document: str, variables: dict[str, Any]):
    response = await _post(tenant.http, tenant.key, document, variables)
    assert response.status_code < 500, response.text
    error = response.json()["errors"][0]
    fields = [field["field"] for field in error["extensions"].get("fields", [])]
    return error["extensions"]["code"], fields, error["message"]


async def test_an_id_that_cannot_be_an_id_is_not_found(tenant):
    for bad in ("w" * 33, "ws_" + "0" * 5000, "ws_\u0000", "\ud800"):
        code, _, message = await _code_and_fields(
            tenant, "query($id: ID!) { workspace(id: $id) { id } }", {"id": bad}
        )
        assert code == "NOT_FOUND", (bad, message)
        assert len(message) < 100  # the id is not echoed whole
    # ... written into the document too.
    body = await tenant.graphql('{ endUser(id: "%s") { id } }' % ("eu_" + "x" * 40))
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body


async def test_end_user_fields_of_a_connect_session_are_checked_by_name(tenant):
    for field in ("externalId", "endUserExternalId", "endUserDisplayName", "connectionName"):
        for bad in ("a\u0000b", "a\ud800b", "x" * 70_000):
            code, fields, message = await _code_and_fields(
                tenant, SESSION, {"input": {"workspaceId": tenant.workspace_id, field: bad}}
            )
            assert (code, fields) == ("VALIDATION_FAILED", [f"input.{field}"]), (field, message)
        # The services' own (lower) limits still name the field.
        code, fields, _ = await _code_and_fields(
            tenant, SESSION, {"input": {"workspaceId": tenant.workspace_id, field: "x" * 300}}
        )
        assert (code, fields) == ("VALIDATION_FAILED", [f"input.{field}"]), field
    # A literal in the document is named the same way.
    body = await tenant.graphql(
        "mutation($w: ID!) { createConnectSession(input: {workspaceId: $w, "
        'externalId: "a\\u0000b"}) { token } }',
        {"w": tenant.workspace_id},
    )
    error = body["errors"][0]["extensions"]
    assert error["code"] == "VALIDATION_FAILED", body
    assert [f["field"] for f in error["fields"]] == ["input.externalId"]


async def test_an_over_long_filter_string_is_refused_by_name(tenant):
    code, fields, _ = await _code_and_fields(
        tenant,
        "query($e: String) { connections(filter: {externalId: $e}) { edges { cursor } } }",
        {"e": "x" * 300},
    )
    assert (code, fields) == ("VALIDATION_FAILED", ["filter.externalId"])


def test_log_lines_never_copy_an_oversized_value():
    huge = "v" * 1_000_000
    try:
        raise ValueError(f"driver refused {huge!r}")
    except ValueError as error:
        record = logging.LogRecord(
            "weir",
            logging.ERROR,
            __file__,
            1,
            "refused %s",
            (huge,),
            (type(error), error, error.__traceback__),
        )
    for formatter in (TextFormatter("%(message)s"), JsonFormatter()):
        line = formatter.format(record)
        assert len(line) < 20_000, type(formatter)
        assert "more characters]" in line
