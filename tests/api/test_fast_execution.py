"""The compiled query executor returns graphql-core's JSON byte for byte, and hands the operation
to graphql-core whenever it cannot guarantee that (errors, nulls, introspection, mutations)."""

from __future__ import annotations

import json
from enum import Enum
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry

from server.api import org_types as orgs_api
from server.api.context import Context
from server.api.execution import FastExecutor
from server.api.loaders import Loaders
from server.api.schema import build_schema
from server.config import Settings

CREATE_WORKSPACE = """mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }"""
CREATE_END_USER = """mutation($w: ID!, $x: String!, $name: String) {
  createEndUser(input: {workspaceId: $w, externalId: $x, displayName: $name}) { id }
}"""
CREATE_API_KEY = """mutation($w: ID) {
  createApiKey(input: {name: "restricted", workspaceId: $w}) { secret apiKey { id } }
}"""
CREATE_CONNECTION = """mutation($input: CreateConnectionInput!) { createConnection(input: $input) { id } }"""
CREATE_SESSION = """mutation($input: CreateConnectSessionInput!) {
  createConnectSession(input: $input) { session { id } }
}"""
CONFIGURE = """mutation($input: ConfigureWorkspaceIntegrationInput!) {
  configureWorkspaceIntegration(input: $input) { id }
}"""

VIEWER = "{ viewer { organization { id name createdAt } apiKey { id name prefix workspace { id } } workspace { id } } }"
WORKSPACES = """query($first: Int, $after: String) {
  workspaces(first: $first, after: $after) {
    edges { cursor node { id name displayName logoUrl primaryColor theme allowedOrigins
                          allowedRedirectUris createdAt updatedAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
WORKSPACE = "query($id: ID!) { workspace(id: $id) { id name theme allowedOrigins } }"
END_USERS = """query Page($first: Int, $after: String, $workspaceId: ID) {
  endUsers(first: $first, after: $after, workspaceId: $workspaceId) {
    edges { cursor node { id externalId displayName email createdAt workspace { id name displayName } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
END_USER = "query($id: ID!) { endUser(id: $id) { id externalId workspace { name theme } } }"
API_KEYS = (
    "{ apiKeys { edges { node { id name prefix createdAt lastUsedAt revokedAt workspace { id name } } } } }"
)
INTEGRATIONS = """{
  integrations {
    name displayName description category authTypes logoUrl docsUrl authFieldsSchema settingsSchema
    oauth { authorizeUrl tokenUrl defaultScopes }
    streams { name description primaryKey cursorField syncModes recordSchema }
  }
}"""
INTEGRATION = (
    """query($name: String!) { integration(name: $name) { name category streams { name primaryKey } } }"""
)
INTEGRATIONS_FILTERED = """query($category: IntegrationCategory, $search: String) {
  integrations(category: $category, search: $search) { name category }
}"""
CONNECTIONS = """query($filter: ConnectionFilter, $first: Int, $after: String) {
  connections(filter: $filter, first: $first, after: $after) {
    edges { cursor node {
      id integrationName authType scope externalId displayName status statusReason credentialPreview
      expiresAt lastRefreshedAt createdAt updatedAt
      integration { name displayName authTypes }
      workspace { id name }
      endUser { id externalId workspace { id } }
    } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
CONNECTION = (
    "query($id: ID!) { connection(id: $id) { id status integration { name } endUser { externalId } } }"
)
WORKSPACE_INTEGRATIONS = """query($w: ID!) {
  workspaceIntegrations(workspaceId: $w) {
    edges { cursor node {
      id integrationName enabled strategy oauthClientId hasOAuthClientSecret scopes createdAt updatedAt
      integration { name } workspace { id } fixedConnection { id externalId endUser { id } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""
FRAGMENTS = """query Users($first: Int) {
  endUsers(first: $first) { ...page }
  again: endUsers(first: 1) { edges { node { id ... on EndUser { externalId } } } }
}
fragment page on EndUserConnection {
  __typename
  edges { node { ...user workspace { ...named } } node { id } }
  pageInfo { ... on PageInfo { hasNextPage } }
}
fragment user on EndUser { __typename id externalId theId: id }
fragment named on Workspace { name n: name theme }"""
ALIASES = """{
  first: workspaces(first: 1) { edges { node { label: name id } } }
  rest: workspaces(first: 5, after: null) { pageInfo { more: hasNextPage } }
  me: viewer { org: organization { id } }
  __typename
}"""
DIRECTIVES = """query($withUsers: Boolean!, $skipKeys: Boolean!) {
  endUsers(first: 3) @include(if: $withUsers) { edges { node { id workspace @skip(if: $skipKeys) { id } } } }
  apiKeys @skip(if: $skipKeys) { edges { node { id } } }
  workspaces @include(if: false) { edges { node { id } } }
  viewer @skip(if: false) { organization { name } }
}"""
CONNECT_SESSION = """query($id: ID!) {
  connectSession(id: $id) {
    id status allowedIntegrations integrationName connectionName externalId redirectUri
    connectionId errorCode errorMessage expiresAt createdAt updatedAt
    workspace { id name } endUser { externalId workspace { id } } connection { id }
  }
}"""
OPERATIONS = """query One { viewer { organization { id } } }
query Two { workspaces { edges { node { name } } } }"""

# (document, variables, operation name); ids come from the seeded data (see `seeded`).
READS: list[tuple[str, Any, str | None]] = [
    (VIEWER, {}, None),
    (WORKSPACES, {}, None),
    (WORKSPACES, {"first": 1}, None),
    (WORKSPACES, lambda s: {"first": 2, "after": s["workspace_cursor"]}, None),
    (WORKSPACE, lambda s: {"id": s["branded"]}, None),
    (END_USERS, {"first": 100}, None),
    (END_USERS, {"first": 2}, "Page"),
    (END_USERS, lambda s: {"workspaceId": s["branded"]}, None),
    (END_USER, lambda s: {"id": s["end_users"][0]}, None),
    (API_KEYS, {}, None),
    (INTEGRATIONS, {}, None),
    (INTEGRATION, {"name": "demo"}, None),
    (INTEGRATIONS_FILTERED, {"category": "CRM"}, None),
    (INTEGRATIONS_FILTERED, {"search": "post"}, None),
    (CONNECTIONS, {}, None),
    (CONNECTIONS, {"first": 1}, None),
    (CONNECTIONS, lambda s: {"filter": {"endUserId": s["end_users"][0]}}, None),
    (CONNECTION, lambda s: {"id": s["connections"][0]}, None),
    (WORKSPACE_INTEGRATIONS, lambda s: {"w": s["workspace"]}, None),
    (FRAGMENTS, {"first": 3}, None),
    (ALIASES, {}, None),
    (DIRECTIVES, {"withUsers": True, "skipKeys": False}, None),
    (DIRECTIVES, {"withUsers": False, "skipKeys": True}, None),
    (DIRECTIVES, {"withUsers": True, "skipKeys": True}, None),
    (CONNECT_SESSION, lambda s: {"id": s["session"]}, None),
    (OPERATIONS, {}, "One"),
    (OPERATIONS, {}, "Two"),
]


@pytest.fixture
async def seeded(tenant) -> dict[str, Any]:
    """Workspaces (one branded), end users across them, a restricted key, connections of every
    scope and a workspace integration with a fixed connection."""
    branded = (
        await tenant.data(
            CREATE_WORKSPACE,
            {
                "input": {
                    "name": "staging",
                    "displayName": "Acme Staging",
                    "theme": "DARK",
                    "primaryColor": "#FF6600",
                    "allowedOrigins": ["https://app.acme.test"],
                    "allowedRedirectUris": ["https://app.acme.test/done"],
                }
            },
        )
    )["createWorkspace"]["id"]
    await tenant.data(CREATE_WORKSPACE, {"input": {"name": "empty"}})
    end_users = []
    for n in range(5):
        workspace = tenant.workspace_id if n % 2 else branded
        created = await tenant.data(
            CREATE_END_USER,
            {"w": workspace, "x": f"customer-{n}", "name": f"Customer {n}" if n % 3 else None},
        )
        end_users.append(created["createEndUser"]["id"])
    await tenant.data(CREATE_API_KEY, {"w": branded})
    connections = []
    for values in (
        {"endUserId": end_users[0], "externalId": "main", "displayName": "Main"},
        {"endUserId": end_users[1]},
        {"scope": "WORKSPACE", "workspaceId": tenant.workspace_id, "externalId": "shared"},
        {"scope": "ORGANIZATION"},
    ):
        created = await tenant.data(
            CREATE_CONNECTION, {"input": {"integrationName": "demo", "authType": "NONE", **values}}
        )
        connections.append(created["createConnection"]["id"])
    await tenant.data(
        CONFIGURE,
        {
            "input": {
                "workspaceId": tenant.workspace_id,
                "integrationName": "demo",
                "strategy": "FIXED",
                "fixedConnectionId": connections[2],
            }
        },
    )
    session = (
        await tenant.data(
            CREATE_SESSION,
            {
                "input": {
                    "workspaceId": tenant.workspace_id,
                    "allowedIntegrations": ["demo"],
                    "endUserExternalId": "customer-1",
                    "connectionName": "Demo",
                }
            },
        )
    )["createConnectSession"]["session"]["id"]
    listed = await tenant.data(WORKSPACES, {"first": 1})
    return {
        "session": session,
        "workspace": tenant.workspace_id,
        "branded": branded,
        "end_users": end_users,
        "connections": connections,
        "workspace_cursor": listed["workspaces"]["pageInfo"]["endCursor"],
    }


@pytest.fixture
def fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the operations that ran through graphql-core instead of the fast path."""
    calls: list[str] = []
    original = FastExecutor.execute_with_graphql_core

    def recorded(self: FastExecutor, serially: bool | None = None) -> Any:
        calls.append(self.operation.operation.value)
        return original(self, serially)

    monkeypatch.setattr(FastExecutor, "execute_with_graphql_core", recorded)
    return calls


class Executors:
    """The same operation through the fast schema and through graphql-core's executor."""

    def __init__(self, app: Any, key: str) -> None:
        runtime = app.state.runtime
        self.services, self.key = runtime.services, key
        self.fast = build_schema(runtime.settings)
        self.reference = build_schema(runtime.settings, fast_execution=False)

    async def run(
        self, schema: Any, query: str, variables: Any = None, operation_name: str | None = None
    ) -> str:
        scope = await self.services.auth.authenticate(self.key)
        context = Context(services=self.services, scope=scope, request_id="test", loaders=Loaders(scope))
        result = await schema.execute(
            query, variable_values=variables, context_value=context, operation_name=operation_name
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        return json.dumps(body, default=str)  # compared as text: key order matters too

    async def both(
        self, query: str, variables: Any = None, operation_name: str | None = None
    ) -> tuple[str, str]:
        return (
            await self.run(self.fast, query, variables, operation_name),
            await self.run(self.reference, query, variables, operation_name),
        )


@pytest.fixture
async def executors(app, tenant) -> Executors:
    return Executors(app, tenant.key)


async def test_every_read_gives_the_same_json_as_graphql_core(seeded, executors, fallbacks):
    for query, variables, operation_name in READS:
        values = variables(seeded) if callable(variables) else variables
        fast, reference = await executors.both(query, values, operation_name)
        assert fast == reference, (query, values)
        assert '"errors"' not in fast, fast
    assert fallbacks == []


async def test_the_app_serves_queries_through_the_fast_path(seeded, tenant, executors, fallbacks):
    body = await tenant.graphql(END_USERS, {"first": 10})
    reference = json.loads(await executors.run(executors.reference, END_USERS, {"first": 10}))
    assert body == reference
    assert len(body["data"]["endUsers"]["edges"]) == 5
    assert fallbacks == []


async def test_sibling_relations_are_loaded_in_one_batch(seeded, executors, fallbacks, monkeypatch):
    batches: list[list[str]] = []
    original = Loaders._end_users

    async def counted(self: Loaders, keys: list[str]) -> Any:
        batches.append(keys)
        return await original(self, keys)

    monkeypatch.setattr(Loaders, "_end_users", counted)
    fast = await executors.run(executors.fast, CONNECTIONS)
    assert len(batches) == 1
    assert fast == await executors.run(executors.reference, CONNECTIONS)
    assert fallbacks == []


async def test_a_resolver_error_is_the_same_field_error_as_graphql_cores(seeded, executors, fallbacks):
    fast, reference = await executors.both(WORKSPACE, {"id": "ws_missing"})
    assert fast == reference
    assert json.loads(fast)["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert fallbacks == []


async def test_an_error_deep_in_a_list_has_graphql_cores_null_propagation_and_runs_once(
    seeded, executors, fallbacks, monkeypatch, caplog
):
    original = orgs_api._workspace
    broken = seeded["branded"]
    calls = {"fast": 0, "reference": 0}
    running = ["fast"]

    def failing(info: Any, workspace_id: str | None) -> Any:
        if workspace_id == broken:
            calls[running[0]] += 1
            raise RuntimeError("the workspace store is down")
        return original(info, workspace_id)

    monkeypatch.setattr(orgs_api, "_workspace", failing)
    fast = await executors.run(executors.fast, END_USERS, {"first": 10})
    running[0] = "reference"
    reference = await executors.run(executors.reference, END_USERS, {"first": 10})
    assert fast == reference
    body = json.loads(fast)
    assert body["data"] is None
    assert {error["extensions"]["code"] for error in body["errors"]} == {"INTERNAL"}
    # The failing resolver ran as often as graphql-core runs it: nothing ran twice.
    assert calls["fast"] == calls["reference"] >= 1
    assert fallbacks == []
    assert "the workspace store is down" in caplog.text


async def test_a_null_for_a_non_null_field_is_graphql_cores_error(seeded, executors, fallbacks, monkeypatch):
    def nameless(row: Any) -> orgs_api.Organization:
        return orgs_api.Organization(id=row.id, name=None, created_at=row.created_at)  # type: ignore[arg-type]

    monkeypatch.setattr(orgs_api.Organization, "from_model", staticmethod(nameless))
    fast, reference = await executors.both(VIEWER)
    assert fast == reference
    body = json.loads(fast)
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["viewer", "organization", "name"]
    assert fallbacks == []


async def test_an_async_resolver_error_is_a_field_error_and_runs_once(
    seeded, executors, fallbacks, monkeypatch
):
    calls: list[str] = []

    async def failing(self: Any, info: Any) -> Any:
        calls.append("api_key")
        raise RuntimeError("key store down")

    # Viewer.apiKey is an async resolver: the failure surfaces only once it is awaited.
    field = next(f for f in orgs_api.Viewer.__strawberry_definition__.fields if f.python_name == "api_key")
    monkeypatch.setattr(field.base_resolver, "wrapped_func", failing)
    fast, reference = await executors.both(VIEWER)
    assert fast == reference
    assert json.loads(fast)["errors"][0]["path"] == ["viewer", "apiKey"]
    assert calls == ["api_key", "api_key"]  # once through each executor
    assert fallbacks == []


async def test_introspection_runs_through_graphql_core(tenant, executors, fallbacks):
    for query in (
        "{ __schema { queryType { name } } }",
        '{ __type(name: "Workspace") { name fields { name } } }',
    ):
        fast, reference = await executors.both(query)
        assert fast == reference
        assert '"errors"' not in fast
    assert fallbacks == ["query", "query"]


async def test_mutations_run_through_graphql_core(tenant, executors, fallbacks):
    fast = json.loads(
        await executors.run(executors.fast, CREATE_WORKSPACE, {"input": {"name": "via-mutation"}})
    )
    assert fast["data"]["createWorkspace"]["id"].startswith("ws_")
    assert fallbacks == ["mutation"]


async def test_metrics_count_fast_and_fallback_operations_alike(seeded, tenant, app):
    operations = app.state.runtime.metrics.operations
    await tenant.data(END_USERS, {"first": 2})
    await tenant.graphql("query Missing($id: ID!) { workspace(id: $id) { id } }", {"id": "ws_missing"})
    assert operations.labels("Page", "query", "ok")._value.get() == 1
    assert operations.labels("Missing", "query", "error")._value.get() == 1


def _fallbacks_counted(text: str, reason: str) -> float:
    line = f'weir_graphql_fast_execution_fallbacks_total{{reason="{reason}"}} '
    return float(next(row for row in text.splitlines() if row.startswith(line)).split()[-1])


async def test_fallbacks_are_counted_in_metrics_and_logged_once_per_operation(tenant, fallbacks, caplog):
    caplog.set_level("INFO", logger="weir.graphql")
    before = _fallbacks_counted((await tenant.http.get("/metrics")).text, "unsupported")
    introspect = 'query Shape { __type(name: "Workspace") { name } }'
    for _ in range(3):
        assert (await tenant.data(introspect))["__type"]["name"] == "Workspace"
    await tenant.data(END_USERS, {"first": 2})  # compiled: not a fallback
    after = _fallbacks_counted((await tenant.http.get("/metrics")).text, "unsupported")
    assert after - before == 3
    assert fallbacks == ["query"] * 3
    logged = [
        r
        for r in caplog.records
        if r.getMessage().startswith("fast execution does not compile operation Shape")
    ]
    assert len(logged) == 1 and "introspection" in logged[0].getMessage()


async def test_with_fast_execution_off_the_app_answers_through_graphql_core_alone(settings, monkeypatch):
    from tests.conftest import client_for, make_tenant

    built: list[str] = []
    original = FastExecutor.__init__

    def recorded(self: FastExecutor, *args: Any, **kwargs: Any) -> None:
        built.append(self.operation.operation.value)
        original(self, *args, **kwargs)

    monkeypatch.setattr(FastExecutor, "__init__", recorded)
    async with client_for(settings.replace(fast_execution=False)) as http:
        other = await make_tenant(http, "Off")
        body = await other.graphql(WORKSPACE, {"id": "ws_missing"})
        assert (await other.data(END_USERS, {"first": 3}))["endUsers"]["edges"] == []
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert built == []


# -- the executor on its own, on a small schema with the constructs Weir's does not have yet --


@strawberry.interface(description="Something with a name.")
class Named:
    name: str = strawberry.field(description="The name.")


@strawberry.type(description="A dog.")
class Dog(Named):
    barks: bool = strawberry.field(description="Whether it barks.")


@strawberry.type(description="An item.")
class Item:
    label: str = strawberry.field(description="Label.")
    count: int = strawberry.field(description="Count.")
    tags: list[str] = strawberry.field(description="Tags.")
    note: str | None = strawberry.field(description="Optional note.")

    @strawberry.field(description="The label, upper-cased, asynchronously.")
    async def shout(self) -> str:
        return self.label.upper()

    @strawberry.field(description="The count times a factor.")
    def scaled(self, factor: int = 2) -> int:
        return self.count * factor

    @strawberry.field(description="Where in the response this field is, from its info.")
    def where(self, info: strawberry.Info) -> str:
        return json.dumps(
            {
                "path": info.path.as_list(),
                "field": info.field_name,
                "python": info.python_name,
                "selected": [selection.name for selection in info.selected_fields],
                "variables": info.variable_values,
                "operation": info.operation.name is None,
                "root": info.root_value,
                "context": info.context,
                "info": isinstance(info, strawberry.Info),
                "schema": type(info.schema).__name__,
                "returns": str(info.return_type),
            },
            sort_keys=True,
        )


@strawberry.enum(description="A tone.")
class Tone(Enum):
    CALM = "calm"
    LOUD = "loud"


@strawberry.input(description="Who to greet.")
class Greeting:
    name: str = strawberry.field(description="Name.")


# Calls of the toy's failing resolvers, to prove none runs twice.
TOY_CALLS: list[str] = []


@strawberry.type(description="Below a nullable field.")
class Nested:
    @strawberry.field(description="Items that each fail one field.")
    def items(self) -> list[FailingItem]:
        return [FailingItem(label="p"), FailingItem(label="q")]

    @strawberry.field(description="A non-null object that is missing.")
    def required(self) -> Item:
        return None  # type: ignore[return-value]


@strawberry.type(description="An item with a failing non-null field.")
class FailingItem:
    label: str = strawberry.field(description="Label.")

    @strawberry.field(description="Raises, once per item.")
    def failing_item(self) -> str:
        TOY_CALLS.append(f"failing_item {self.label}")
        raise RuntimeError(f"no {self.label}")


ITEMS = [Item(label="a", count=1, tags=["x", "y"], note=None), Item(label="b", count=2, tags=[], note="hi")]


@strawberry.type(description="Toy queries.")
class ToyQuery:
    @strawberry.field(description="Items.")
    def items(self) -> list[Item]:
        return ITEMS

    @strawberry.field(description="Items, asynchronously, one awaitable each.")
    async def later_items(self) -> list[Item]:
        return ITEMS

    @strawberry.field(description="Numbers from a generator, not a list.")
    def numbers(self) -> list[int]:
        return (n for n in range(3))  # type: ignore[return-value]

    @strawberry.field(description="An interface-typed list.")
    def pets(self) -> list[Named]:
        return [Dog(name="rex", barks=True)]

    @strawberry.field(description="Scalar arguments, some optional, some defaulted.")
    def greet(
        self, name: str, excited: bool = False, id: strawberry.ID | None = None, times: int | None = None
    ) -> str:
        return f"{name}{'!' if excited else ''} {id!r} {times!r}"

    @strawberry.field(description="An enum argument (converted by Strawberry).")
    def toned(self, tone: Tone = Tone.CALM) -> str:
        return f"{tone!r}"

    @strawberry.field(description="An input argument (converted by Strawberry).")
    def greeted(self, greeting: Greeting) -> str:
        return f"{type(greeting).__name__} {greeting.name}"

    @strawberry.field(description="A resolver that takes neither info nor arguments.")
    def plain(self) -> str:
        return "plain"

    @strawberry.field(description="An Int out of range.")
    def huge(self) -> int:
        return 2**40

    @strawberry.field(description="An item whose non-null tags are missing.")
    def broken(self) -> Item | None:
        return Item(label="c", count=3, tags=None, note=None)  # type: ignore[arg-type]

    @strawberry.field(description="A nullable field whose resolver raises (a provider down).")
    def failing(self) -> str | None:
        TOY_CALLS.append("failing")
        raise RuntimeError("the provider is down")

    @strawberry.field(description="A non-null field whose async resolver raises.")
    async def failing_required(self) -> str:
        TOY_CALLS.append("failing_required")
        raise RuntimeError("the provider is down")

    @strawberry.field(description="Items and failures below a nullable field.")
    def nested(self) -> Nested | None:
        return Nested()


TOY_FAST = [
    "{ items { label count tags note shout scaled } }",
    "query($f: Int!) { items { scaled(factor: $f) x: scaled } laterItems { shout label } }",
    "{ items { ...on Item { label } __typename } }",
    "{ items { where w: where } laterItems { where } plain }",
    """query($n: String!, $x: Boolean, $t: Int) {
      a: greet(name: $n) b: greet(name: "b", excited: true, id: "7", times: $t)
      c: greet(name: $n, excited: $x, id: null) d: greet(name: "d", times: 3)
    }""",
    '{ toned t: toned(tone: LOUD) greeted(greeting: {name: "ada"}) }',
    "{ numbers }",  # a generator, met after its resolver ran: graphql-core completes it
]
# Errors met after resolvers ran: the fast path answers them itself, as graphql-core would.
TOY_ERRORS = [
    "{ huge items { label } }",
    "{ broken { label tags } items { label } }",
    "{ items { label } failing plain }",
    "{ plain failingRequired }",
    "{ nested { items { label failingItem } } plain }",
    "{ nested { required { label } } plain }",
    "{ laterItems { label } ok: failing other: failingRequired }",
]
TOY_FALLBACK = [
    "{ pets { name ... on Dog { barks } } }",
]


async def test_the_executor_matches_graphql_core_on_other_constructs(fallbacks):
    fast = strawberry.Schema(query=ToyQuery, types=[Dog], execution_context_class=FastExecutor)
    reference = strawberry.Schema(query=ToyQuery, types=[Dog])
    for query in TOY_FAST + TOY_ERRORS + TOY_FALLBACK:
        results = []
        for schema in (fast, reference):
            result = await schema.execute(query, variable_values={"f": 5, "n": "ada", "x": True})
            results.append(json.dumps([result.data, [e.formatted for e in result.errors or []]]))
        assert results[0] == results[1], query
        if query in TOY_ERRORS:
            assert '"message"' in results[0], query
    assert fallbacks == ["query"] * len(TOY_FALLBACK)


async def test_a_resolver_that_raises_runs_exactly_once_with_fast_execution_on_and_off(
    fallbacks,
):
    on = strawberry.Schema(query=ToyQuery, types=[Dog], execution_context_class=FastExecutor)
    off = build_schema(Settings.from_env({"WEIR_FAST_EXECUTION": "off"}))
    assert not issubclass(off.execution_context_class, FastExecutor)
    off = strawberry.Schema(query=ToyQuery, types=[Dog], execution_context_class=off.execution_context_class)
    for query in ("{ failing plain }", "{ plain failingRequired }", "{ nested { items { failingItem } } }"):
        answers = []
        for schema in (on, off):
            TOY_CALLS.clear()
            result = await schema.execute(query)
            answers.append(json.dumps([result.data, [e.formatted for e in result.errors or []]]))
            # Two items in `nested.items`, one call each; every other failing field: one call.
            assert len(TOY_CALLS) == len(set(TOY_CALLS)), (query, TOY_CALLS)
            assert TOY_CALLS, query
        assert answers[0] == answers[1], query
    assert fallbacks == []


async def test_a_planner_failure_is_logged_once_and_graphql_core_answers(
    seeded, executors, fallbacks, monkeypatch, caplog
):
    from server.api.execution import planning

    def broken(executor: Any) -> Any:
        raise TypeError("collect_fields() changed its signature")

    monkeypatch.setattr(planning, "_plan_operation", broken)
    for _ in range(2):
        fast, reference = await executors.both(END_USERS, {"first": 3})
        assert fast == reference and '"errors"' not in fast
    assert fallbacks == ["query", "query"]
    warnings = [r for r in caplog.records if r.getMessage() == "fast execution is off for operation Page"]
    assert len(warnings) == 1


def test_argument_free_and_scalar_argument_resolvers_are_called_directly():
    from server.api.execution import planning

    schema = build_schema()._schema
    executor = SimpleNamespace(schema=schema)

    def direct(type_name: str, field_name: str) -> Any:
        return planning._direct_resolver(executor, schema.get_type(type_name).fields[field_name])

    workspace = direct("EndUser", "workspace")
    assert workspace is not None and workspace.info_name == "info" and workspace.arguments == ()
    end_users = direct("Query", "endUsers")
    assert end_users is not None and dict(end_users.arguments) == {
        "workspaceId": "workspace_id",
        "externalId": "external_id",
        "first": "first",
        "after": "after",
    }
    # Input objects go through Strawberry's conversion; plain attributes are read, not called.
    assert direct("Mutation", "createEndUser") is None
    assert direct("EndUser", "externalId") is None
    toy = strawberry.Schema(query=ToyQuery, types=[Dog])._schema
    executor.schema = toy
    assert planning._direct_resolver(executor, toy.query_type.fields["toned"]) is None
    assert planning._direct_resolver(executor, toy.query_type.fields["greet"]) is not None
